internal import Hummingbird
internal import Foundation
internal import JarvisStore

/// A request body the admin API accepts: Codable, with its JSON field names listed (`CodingKeys`),
/// so a field the type does not know is refused instead of silently ignored.
protocol RequestBody: Decodable, Sendable {
    associatedtype CodingKeys: CodingKey & CaseIterable
}

extension RequestBody {
    static var fieldNames: [String] { CodingKeys.allCases.map(\.stringValue) }
}

/// The one JSON reader of the admin API: limits (size, depth), then `JSONDecoder` into the
/// request's Codable type; its errors become 400s that name the field.
enum RequestDecoder {
    /// Deeper nesting than any admin request needs is refused before decoding.
    static let maxDepth = 16

    /// - Parameter emptyAs: what an empty body reads as (for actions whose fields are all optional);
    ///   nil when a body is required.
    static func decode<Body: RequestBody>(
        _ type: Body.Type, from request: Request, context: JarvisRequestContext, emptyAs: Body? = nil
    ) async throws -> Body {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        let bytes = Data(buffer.readableBytesView)
        if bytes.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }) {
            if let emptyAs { return emptyAs }
            throw Problem.invalid("the request body must be a JSON object")
        }
        guard depthWithinLimit(bytes) else { throw Problem.invalid("the JSON body is nested deeper than \(maxDepth) levels") }
        let keys: ObjectKeys
        do {
            keys = try JSONDecoder().decode(ObjectKeys.self, from: bytes)
        } catch is NotAnObject {
            throw Problem.invalid("the request body must be a JSON object")
        } catch {
            throw Problem.invalid("the request body is not valid JSON")
        }
        let known = Set(Body.fieldNames)
        if let unknown = keys.names.sorted().first(where: { !known.contains($0) }) {
            throw Problem.invalid("unknown field '\(unknown.prefix(64))'; accepted fields: \(Body.fieldNames.sorted().joined(separator: ", "))")
        }
        do {
            return try JSONDecoder().decode(Body.self, from: bytes)
        } catch let error as DecodingError {
            throw Problem.invalid(describe(error))
        } catch let problem as Problem {
            throw problem
        }
    }

    /// "field: what is wrong", from the decoder's account of it.
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): is required"
        case .valueNotFound(_, let context):
            return "\(path(context.codingPath)): must not be null"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): must be \(name(of: type))"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "the request body is not valid JSON" }
            if context.debugDescription.hasPrefix("Cannot initialize") { return "\(path(context.codingPath)): is not one of the accepted values" }
            if context.debugDescription.contains("UUID") { return "\(path(context.codingPath)): must be a UUID" }
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "the request body could not be read"
        }
    }

    static func name(of type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int64.Type, is WholeNumber.Type, is Double.Type: return "a number"
        case is [String].Type: return "a list of strings"
        default: return String(describing: type).hasPrefix("Array") ? "a list" : "an object"
        }
    }

    /// Counts bracket depth outside strings.
    static func depthWithinLimit(_ bytes: Data) -> Bool {
        var depth = 0
        var inString = false
        var escaped = false
        for b in bytes {
            if inString {
                if escaped { escaped = false } else if b == 92 { escaped = true } else if b == 34 { inString = false }
                continue
            }
            switch b {
            case 34: inString = true
            case 123, 91:
                depth += 1
                if depth > maxDepth { return false }
            case 125, 93: depth -= 1
            default: break
            }
        }
        return true
    }

    struct NotAnObject: Error {}

    /// The field names of a JSON object, whatever their values.
    struct ObjectKeys: Decodable {
        let names: [String]

        struct AnyKey: CodingKey {
            let stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            guard let container = try? decoder.container(keyedBy: AnyKey.self) else { throw NotAnObject() }
            names = container.allKeys.map(\.stringValue)
        }
    }
}

/// A whole number, exact to Int64: JSON Schema's `integer`, which counts `5`, `5.0` and `5e0`
/// alike and refuses `5.5`; numbers past Int64 are refused, never rounded.
struct WholeNumber: Decodable, Sendable, Equatable {
    let value: Int64

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let exact = try? container.decode(Int64.self) {
            value = exact
            return
        }
        guard let decimal = try? container.decode(Decimal.self) else {
            throw DecodingError.typeMismatch(WholeNumber.self, .init(codingPath: decoder.codingPath, debugDescription: "not a number"))
        }
        var rounded = Decimal()
        var copy = decimal
        NSDecimalRound(&rounded, &copy, 0, .plain)
        guard rounded == decimal, decimal >= Decimal(Int64.min), decimal <= Decimal(Int64.max) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "must be a whole number"))
        }
        value = NSDecimalNumber(decimal: decimal).int64Value
    }

    /// - Throws: a 400 naming `name` when the value is outside `range`.
    func checked(_ name: String, in range: ClosedRange<Int64>) throws -> Int64 {
        guard range.contains(value) else { throw Problem.invalid("\(name): must be a whole number from \(range.lowerBound) to \(range.upperBound)") }
        return value
    }
}

/// Contract limits on text fields, counted in code points as JSON Schema counts them.
enum Limits {
    static func text(_ value: String?, _ name: String, max: Int) throws {
        guard let value else { return }
        guard value.unicodeScalars.count <= max else { throw Problem.invalid("\(name): must be at most \(max) characters") }
    }

    static func list(_ values: [String]?, _ name: String, maxCount: Int = 256, maxLength: Int = 128) throws {
        guard let values else { return }
        guard values.count <= maxCount else { throw Problem.invalid("\(name): at most \(maxCount) entries") }
        guard values.allSatisfy({ $0.unicodeScalars.count <= maxLength }) else { throw Problem.invalid("\(name): entries are at most \(maxLength) characters") }
    }
}

extension KeyedDecodingContainer {
    /// Distinguishes a field given as null (`.some(nil)`: clear it) from one left out (`nil`).
    func decodeNullable<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T?? {
        guard contains(key) else { return nil }
        if try decodeNil(forKey: key) { return .some(nil) }
        return .some(try decode(T.self, forKey: key))
    }
}

/// RFC 3339 times in requests.
enum Timestamps {
    static func parse(_ text: String, _ name: String) throws -> Date {
        guard let date = Timestamp.parse(text) else { throw Problem.invalid("\(name): must be an RFC 3339 time such as 2030-01-31T12:00:00Z") }
        return date
    }
}
