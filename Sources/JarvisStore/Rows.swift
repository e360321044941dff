public import struct Foundation.UUID
public import struct Foundation.Date
internal import JarvisCrypto

/// A query's result, copied out of libpq's `PGresult` so no C memory outlives the call.
public struct Rows: Sendable {
    public let columns: [String]
    let values: [[String?]]
    /// Rows changed by an INSERT/UPDATE/DELETE (`PQcmdTuples`), 0 for other statements.
    public let affected: Int

    public var count: Int { values.count }
    public var isEmpty: Bool { values.isEmpty }
    public var first: Row? { values.isEmpty ? nil : Row(rows: self, index: 0) }
    public var all: [Row] { values.indices.map { Row(rows: self, index: $0) } }

    func columnIndex(_ name: String) -> Int? { columns.firstIndex(of: name) }
}

/// One row; typed getters throw `StoreError.decoding` naming the column when the shape is wrong.
public struct Row: Sendable {
    let rows: Rows
    let index: Int

    public func text(_ column: String) throws(StoreError) -> String? {
        guard let i = rows.columnIndex(column) else { throw .decoding("no column \(column)") }
        return rows.values[index][i]
    }

    public func string(_ column: String) throws(StoreError) -> String {
        guard let value = try text(column) else { throw .decoding("\(column) is null") }
        return value
    }

    public func optionalString(_ column: String) throws(StoreError) -> String? { try text(column) }

    public func uuid(_ column: String) throws(StoreError) -> UUID {
        guard let value = try optionalUUID(column) else { throw .decoding("\(column) is null") }
        return value
    }

    public func optionalUUID(_ column: String) throws(StoreError) -> UUID? {
        guard let text = try text(column) else { return nil }
        guard let value = UUID.parse(text) else { throw .decoding("\(column) is not a uuid") }
        return value
    }

    public func int(_ column: String) throws(StoreError) -> Int {
        guard let value = try optionalInt(column) else { throw .decoding("\(column) is null") }
        return value
    }

    public func optionalInt(_ column: String) throws(StoreError) -> Int? {
        guard let text = try text(column) else { return nil }
        guard let value = Int(text) else { throw .decoding("\(column) is not an integer") }
        return value
    }

    public func bool(_ column: String) throws(StoreError) -> Bool {
        switch try text(column) {
        case "t": return true
        case "f": return false
        default: throw .decoding("\(column) is not a boolean")
        }
    }

    public func date(_ column: String) throws(StoreError) -> Date {
        guard let value = try optionalDate(column) else { throw .decoding("\(column) is null") }
        return value
    }

    public func optionalDate(_ column: String) throws(StoreError) -> Date? {
        guard let text = try text(column) else { return nil }
        guard let value = Timestamp.parse(text) else { throw .decoding("\(column) is not a timestamp: \(text)") }
        return value
    }

    /// `bytea` in PostgreSQL's hex output format (`\x0a1b...`).
    public func bytes(_ column: String) throws(StoreError) -> [UInt8] {
        let text = try string(column)
        guard text.hasPrefix("\\x"), text.utf8.count % 2 == 0 else { throw .decoding("\(column) is not bytea hex") }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count / 2 - 1)
        var high: UInt8?
        for c in text.utf8.dropFirst(2) {
            let nibble: UInt8
            switch c {
            case 48...57: nibble = c - 48
            case 97...102: nibble = c - 87
            case 65...70: nibble = c - 55
            default: throw .decoding("\(column) is not bytea hex")
            }
            if let h = high { out.append(h << 4 | nibble); high = nil } else { high = nibble }
        }
        return out
    }
}

/// `bytea` bound as hex text.
public struct ByteaValue: SQLBindable, Sendable {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var sqlText: String? {
        var out: [UInt8] = [92, 120]  // \x
        Hex.append(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
