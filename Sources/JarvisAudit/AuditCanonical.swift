internal import JarvisJSON

/// The canonical bytes of an audit event (`jarvis_audit_canonical`, migration 0019) built from its
/// columns as `COPY … TO STDOUT` writes them, so verification streams raw rows and hashes them here
/// instead of asking PostgreSQL to render each event. Byte for byte what PostgreSQL's `jsonb` text
/// form gives: elements joined by `", "`, strings escaped as `escape_json` does (`\"`, `\\`, `\b`,
/// `\f`, `\n`, `\r`, `\t`, other control characters as `\u00xx`), `details` as its own `jsonb` text.
enum AuditCanonical {
    /// - Parameters: `row`'s fields from `first` on are the event's columns in the order of
    ///   `columns`, `\N` for NULL.
    static func bytes(_ row: CopyRow, from first: Int) -> [UInt8]? {
        guard row.count == first + columns.count, let occurredAt = row.raw(first + 2), let details = row.field(first + 11) else {
            return nil
        }
        var out: [UInt8] = []
        out.reserveCapacity(details.count + 320)
        out += #"["jarvis-audit-v1""#.utf8
        for offset in 0..<columns.count {
            out += ", ".utf8
            switch offset {
            case 2:
                guard appendTime(occurredAt, to: &out) else { return nil }
            case 11:
                out += details
            default:
                if let raw = row.raw(first + offset) {
                    JSONWriter.appendAsPostgres(raw, to: &out)
                } else if let field = row.field(first + offset) {
                    field.withUnsafeBufferPointer { JSONWriter.appendAsPostgres($0, to: &out) }
                } else {
                    out += "null".utf8
                }
            }
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    /// The event columns the canonical form covers, in its order.
    static let columns = [
        "tenant_id", "id", "occurred_at", "actor_id", "actor_kind", "action", "target_type", "target_id", "request_id", "client_ip",
        "outcome", "details",
    ]

    /// `2026-11-30 04:54:47.1234+00` (a UTC session's `timestamptz`) as `"2026-11-30T04:54:47.123400Z"`.
    static func appendTime(_ text: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) -> Bool {
        guard text.count >= 22, text[10] == UInt8(ascii: " "), text.last == UInt8(ascii: "0"),
            text[text.count - 3] == UInt8(ascii: "+")
        else { return false }
        out.append(UInt8(ascii: "\""))
        out += text[0..<10]
        out.append(UInt8(ascii: "T"))
        out += text[11..<19]
        out.append(UInt8(ascii: "."))
        var digits = 0
        if text[19] == UInt8(ascii: ".") {
            for byte in text[20..<(text.count - 3)] {
                out.append(byte)
                digits += 1
            }
        }
        for _ in digits..<6 { out.append(UInt8(ascii: "0")) }
        out += "Z\"".utf8
        return true
    }
}

/// One row of `COPY … TO STDOUT` text, as ranges of the chunk it is in (valid only inside
/// `CopyText.forEachRow`'s body).
struct CopyRow {
    struct Field {
        let start: Int
        let end: Int
        /// Holds a backslash: `\N` or escapes to undo.
        let escaped: Bool
    }

    let bytes: UnsafeBufferPointer<UInt8>
    var fields: [Field] = []

    var count: Int { fields.count }

    /// The field's bytes in place when it holds no escape (nil otherwise, or past the row's end).
    func raw(_ index: Int) -> UnsafeBufferPointer<UInt8>? {
        guard index < fields.count, !fields[index].escaped else { return nil }
        return UnsafeBufferPointer(rebasing: bytes[fields[index].start..<fields[index].end])
    }

    /// The field's value (escapes undone), nil for NULL or past the row's end.
    func field(_ index: Int) -> [UInt8]? {
        guard index < fields.count else { return nil }
        let range = UnsafeBufferPointer(rebasing: bytes[fields[index].start..<fields[index].end])
        return fields[index].escaped ? CopyText.unescape(range) : Array(range)
    }

    /// A `bytea` field as its bytes: COPY writes `\\x0a1b…` (the backslash escaped).
    func bytea(_ index: Int) -> [UInt8]? {
        guard index < fields.count else { return nil }
        let field = fields[index]
        guard field.escaped, field.end - field.start >= 3, bytes[field.start] == UInt8(ascii: "\\"), bytes[field.start + 1] == UInt8(ascii: "\\"),
            bytes[field.start + 2] == UInt8(ascii: "x"), (field.end - field.start - 3) % 2 == 0
        else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity((field.end - field.start - 3) / 2)
        var index = field.start + 3
        while index < field.end {
            guard let high = CopyText.nibble(bytes[index]), let low = CopyText.nibble(bytes[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }
}

/// Rows of `COPY … TO STDOUT` in its text format: fields split by tab, `\N` for NULL, and the
/// escapes COPY writes (`\\`, `\b`, `\f`, `\n`, `\r`, `\t`, `\v`) undone.
enum CopyText {
    /// Calls `body` with each row of `chunk` (whole rows), its fields as ranges of the chunk: no
    /// copy is made of a field until one is asked for, and one without escapes is read in place.
    static func forEachRow(_ chunk: [UInt8], _ body: (CopyRow) throws -> Void) rethrows {
        try chunk.withUnsafeBufferPointer { bytes in
            var row = CopyRow(bytes: bytes)
            var start = 0
            var escaped = false
            for index in 0..<bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == 0x09 || byte == 0x0A {
                    row.fields.append(.init(start: start, end: index, escaped: escaped))
                    start = index + 1
                    escaped = false
                    if byte == 0x0A {
                        try body(row)
                        row.fields.removeAll(keepingCapacity: true)
                    }
                }
            }
        }
    }

    /// One field holding escapes: `\N` is NULL, the others stand for the byte they name.
    static func unescape(_ field: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        if field.count == 2, field[0] == UInt8(ascii: "\\"), field[1] == UInt8(ascii: "N") { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(field.count)
        var escaped = false
        for byte in field {
            if escaped {
                escaped = false
                switch byte {
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "v"): out.append(0x0B)
                default: out.append(byte)
                }
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else {
                out.append(byte)
            }
        }
        return out
    }

    static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: return byte - 48
        case 97...102: return byte - 87
        case 65...70: return byte - 55
        default: return nil
        }
    }
}
