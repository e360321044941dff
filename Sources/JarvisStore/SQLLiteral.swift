package import struct Foundation.Date
package import struct Foundation.UUID

/// Constants written into the text of a statement that cannot take bound parameters (`COPY … TO
/// STDOUT`) and whose plan must see the value: with a parameter or a setting, the planner guesses
/// a range holds 0.5% of the rows and picks sorts and serial scans for month-long reports. Only
/// typed values are accepted and each is rendered by our own formatter, so no input text reaches SQL.
package enum SQLLiteral {
    /// `DATE '2026-10-01'`: the UTC day of `day`.
    package static func date(_ day: Date) -> String {
        "DATE '\(Timestamp.format(day).prefix(10))'"
    }

    /// `'0193…'::uuid`
    package static func uuid(_ id: UUID) -> String {
        "'\(id.lowercasedString)'::uuid"
    }
}
