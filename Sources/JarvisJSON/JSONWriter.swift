/// JSON written as bytes, where a fixed small shape is written often: hot-path answers, problem
/// bodies, JWT claims. Everything else encodes Codable types with `JSONEncoder`.
public enum JSONWriter {
    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `text` as a JSON string literal: quotes, backslashes and control characters escaped
    /// (other UTF-8 passes through, which JSON allows).
    public static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(34)
        for byte in text.utf8 {
            switch byte {
            case 34, 92:
                out.append(92)
                out.append(byte)
            case 0..<32:
                out += [92, 117, 48, 48, hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default:
                out.append(byte)
            }
        }
        out.append(34)
    }
}

extension JSONWriter {
    /// `text` as a JSON string literal.
    public static func string(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 2)
        appendString(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
