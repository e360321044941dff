public import struct Foundation.UUID
public import struct Foundation.Date

/// A value bound to a `$n` parameter, sent in PostgreSQL's text format.
public protocol SQLBindable: Sendable {
    /// The text PostgreSQL parses for this value; nil is SQL NULL.
    var sqlText: String? { get }
}

extension String: SQLBindable { public var sqlText: String? { self } }
extension Int: SQLBindable { public var sqlText: String? { String(self) } }
extension Int64: SQLBindable { public var sqlText: String? { String(self) } }
extension Int32: SQLBindable { public var sqlText: String? { String(self) } }
extension Bool: SQLBindable { public var sqlText: String? { self ? "t" : "f" } }
extension UUID: SQLBindable { public var sqlText: String? { lowercasedString } }
extension Date: SQLBindable { public var sqlText: String? { Timestamp.format(self) } }

extension Optional: SQLBindable where Wrapped: SQLBindable {
    public var sqlText: String? { self?.sqlText }
}

/// Raw JSON text bound to a `jsonb` parameter.
public struct JSONText: SQLBindable, Sendable {
    public var text: String
    public init(_ text: String) { self.text = text }
    public var sqlText: String? { text }
}


