internal import Hummingbird
internal import Foundation
internal import JarvisCrypto

/// `?limit=` (default 50, 1-500) and `?cursor=` (opaque: the last id of the previous page).
struct PageRequest {
    var limit: Int
    var after: UUID?

    static let defaultLimit = 50
    static let maxLimit = 500

    init(_ request: Request) throws {
        let query = request.uri.queryParameters
        if let text = query["limit"] {
            guard let value = Int(text), (1...Self.maxLimit).contains(value) else {
                throw Problem.invalid("limit: must be an integer from 1 to \(Self.maxLimit)")
            }
            limit = value
        } else {
            limit = Self.defaultLimit
        }
        if let text = query["cursor"] {
            guard let id = Self.decodeCursor(text) else { throw Problem.invalid("cursor: not a cursor this server issued") }
            after = id
        }
    }

    static func encodeCursor(_ id: UUID) -> String {
        let u = id.uuid
        return Base64URL.encode([u.0, u.1, u.2, u.3, u.4, u.5, u.6, u.7, u.8, u.9, u.10, u.11, u.12, u.13, u.14, u.15])
    }

    static func decodeCursor(_ text: some StringProtocol) -> UUID? {
        guard text.utf8.count == 22, let b = Base64URL.decode(text), b.count == 16 else { return nil }
        return UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }
}

/// A page of results: `items`, and `next_cursor` unless this is the last page.
struct Page<Item: Encodable & Sendable>: ResponseEncodable, Sendable {
    let items: [Item]
    let nextCursor: String?

    /// - Parameters:
    ///   - rows: up to `limit + 1` rows, as the stores return them; the extra one only says more follow.
    init<Row>(rows: [Row], limit: Int, id: (Row) -> UUID, map: (Row) -> Item) {
        let shown = rows.prefix(limit)
        items = shown.map(map)
        nextCursor = rows.count > limit ? shown.last.map { PageRequest.encodeCursor(id($0)) } : nil
    }
}

extension Page {
    /// A list that is always complete (roles, permissions, signing keys): one page, no cursor.
    init<Row>(all rows: [Row], map: (Row) -> Item) {
        items = rows.map(map)
        nextCursor = nil
    }
}

extension Request {
    /// A query parameter from a closed set; 400 naming the choices when it is something else.
    func choiceQuery<T: RawRepresentable & CaseIterable>(_ name: String, as type: T.Type) throws -> T? where T.RawValue == String {
        guard let text = uri.queryParameters[Substring(name)] else { return nil }
        guard let value = T(rawValue: String(text)) else {
            throw Problem.invalid("\(name): must be one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    /// A query parameter as text, nil when absent.
    func query(_ name: String) -> String? { uri.queryParameters[Substring(name)].map(String.init) }

    /// A query parameter parsed as a UUID; 400 when present and malformed.
    func uuidQuery(_ name: String) throws -> UUID? {
        guard let text = uri.queryParameters[Substring(name)] else { return nil }
        guard let id = UUID(uuidString: String(text)) else { throw Problem.invalid("\(name): must be a UUID") }
        return id
    }
}
