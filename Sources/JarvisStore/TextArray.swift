/// A `text[]` parameter, sent as an array literal with every element quoted and escaped; nil
/// elements are NULL. Cast in SQL for other element types (`$1::uuid[]`, `$2::bigint[]`).
public struct TextArray: SQLBindable, Sendable {
    public var elements: [String?]
    public init(_ elements: [String]) { self.elements = elements }
    public init(nullable elements: [String?]) { self.elements = elements }

    public var sqlText: String? {
        // Built as bytes: usage batches send arrays of thousands of elements.
        var out: [UInt8] = [123]
        out.reserveCapacity(elements.reduce(2) { $0 + ($1?.utf8.count ?? 4) + 3 })
        for (index, element) in elements.enumerated() {
            if index > 0 { out.append(44) }
            guard let element else {
                out += "NULL".utf8
                continue
            }
            out.append(34)
            for byte in element.utf8 {
                if byte == 34 || byte == 92 { out.append(92) }
                out.append(byte)
            }
            out.append(34)
        }
        out.append(125)
        return String(decoding: out, as: UTF8.self)
    }
}

extension Row {
    /// A one-dimensional `text[]` column in PostgreSQL's output format (`{a,"b c",NULL}`); NULL elements are skipped.
    public func stringArray(_ column: String) throws(StoreError) -> [String] {
        let text = try string(column)
        guard text.hasPrefix("{"), text.hasSuffix("}") else { throw .decoding("\(column) is not an array") }
        var elements: [String] = []
        var current = ""
        var quoted = false
        var wasQuoted = false
        var escaped = false
        for character in text.dropFirst().dropLast() {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                quoted.toggle()
                wasQuoted = true
            } else if character == ",", !quoted {
                if wasQuoted || current != "NULL" { elements.append(current) }
                current = ""
                wasQuoted = false
            } else {
                current.append(character)
            }
        }
        if !text.dropFirst().dropLast().isEmpty, wasQuoted || current != "NULL" { elements.append(current) }
        return elements
    }
}
