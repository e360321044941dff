internal import Hummingbird
internal import Foundation
internal import JarvisStore

/// A request's JSON object body, read with limits (size, nesting depth) and checked field by
/// field: unknown fields, wrong types and over-long strings are 400s that name the field.
struct JSONBody {
    let fields: [String: JSONValue]

    /// Deeper nesting than any admin request needs is refused before decoding.
    static let maxDepth = 16

    /// - Parameter allowEmpty: an empty body reads as `{}` (for actions whose fields are all optional).
    static func read(_ request: Request, context: JarvisRequestContext, allowed: Set<String>, allowEmpty: Bool = false) async throws -> JSONBody {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        let bytes = Array(buffer.readableBytesView)
        if bytes.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }) {
            if allowEmpty { return JSONBody(fields: [:]) }
            throw Problem.invalid("the request body must be a JSON object")
        }
        guard depthWithinLimit(bytes) else { throw Problem.invalid("the JSON body is nested deeper than \(maxDepth) levels") }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw Problem.invalid("the request body is not valid JSON")
        }
        guard case .object(let fields) = value else { throw Problem.invalid("the request body must be a JSON object") }
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw Problem.invalid("unknown field '\(unknown.prefix(64))'; accepted fields: \(allowed.sorted().joined(separator: ", "))")
        }
        return JSONBody(fields: fields)
    }

    /// Counts bracket depth outside strings.
    static func depthWithinLimit(_ bytes: [UInt8]) -> Bool {
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

    /// - Returns: the string, nil when absent (or null, if `nullable`).
    func string(_ name: String, required: Bool = false, maxLength: Int = 1000) throws -> String? {
        switch fields[name] {
        case nil:
            if required { throw Problem.invalid("\(name): is required") }
            return nil
        case .null?:
            throw Problem.invalid("\(name): must be a string, not null")
        case .string(let value)?:
            // Code points, as JSON Schema's maxLength counts them (not grapheme clusters).
            guard value.unicodeScalars.count <= maxLength else { throw Problem.invalid("\(name): must be at most \(maxLength) characters") }
            return value
        case let other?:
            throw Problem.invalid("\(name): must be a string, not \(other.typeName)")
        }
    }

    func requiredString(_ name: String, maxLength: Int = 1000) throws -> String {
        try string(name, required: true, maxLength: maxLength)!
    }

    /// An RFC 3339 time, or nil when absent or null.
    func timestamp(_ name: String) throws -> Date? {
        if case .null? = fields[name] { return nil }
        guard let text = try string(name, maxLength: 64) else { return nil }
        guard let date = Timestamp.parse(text) else {
            throw Problem.invalid("\(name): must be an RFC 3339 time such as 2030-01-31T12:00:00Z")
        }
        return date
    }

    func uuid(_ name: String, required: Bool = false) throws -> UUID? {
        guard let text = try string(name, required: required, maxLength: 64) else { return nil }
        guard let id = UUID(uuidString: text) else { throw Problem.invalid("\(name): must be a UUID") }
        return id
    }

    /// A list of strings, or nil when absent.
    func stringArray(_ name: String, maxCount: Int = 256, maxLength: Int = 128) throws -> [String]? {
        switch fields[name] {
        case nil: return nil
        case .array(let values)?:
            guard values.count <= maxCount else { throw Problem.invalid("\(name): at most \(maxCount) entries") }
            return try values.map { value in
                guard case .string(let text) = value else { throw Problem.invalid("\(name): must be a list of strings") }
                guard text.unicodeScalars.count <= maxLength else { throw Problem.invalid("\(name): entries are at most \(maxLength) characters") }
                return text
            }
        case let other?:
            throw Problem.invalid("\(name): must be a list of strings, not \(other.typeName)")
        }
    }

    /// A whole number in `range`, or nil when absent.
    func integer(_ name: String, in range: ClosedRange<Int64>, required: Bool = false) throws -> Int64? {
        switch fields[name] {
        case nil:
            if required { throw Problem.invalid("\(name): is required") }
            return nil
        case .number(let value)?:
            guard value.rounded() == value, value >= Double(range.lowerBound), value <= Double(range.upperBound) else {
                throw Problem.invalid("\(name): must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return Int64(value)
        case let other?:
            throw Problem.invalid("\(name): must be a number, not \(other.typeName)")
        }
    }

    /// True when `name` is present and null (to clear an optional setting).
    func isNull(_ name: String) -> Bool {
        if case .null? = fields[name] { return true }
        return false
    }

    /// A string from a closed set.
    func choice<T: RawRepresentable>(_ name: String, as type: T.Type) throws -> T? where T.RawValue == String, T: CaseIterable {
        guard let text = try string(name, maxLength: 64) else { return nil }
        guard let value = T(rawValue: text) else {
            throw Problem.invalid("\(name): must be one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }
}
