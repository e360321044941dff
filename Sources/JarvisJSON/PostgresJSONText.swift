/// JSON strings written byte for byte as PostgreSQL writes them, where bytes built here must equal
/// what PostgreSQL renders: the audit chain's canonical form (`jsonb` text) and the finance exports
/// (`row_to_json`). PostgreSQL's `escape_json` differs from `JSONWriter.appendString`: it uses the
/// short escapes `\b \f \n \r \t`.
extension JSONWriter {
    /// Appends `text` quoted and escaped as `escape_json` does: `\"`, `\\`, the five short escapes,
    /// other control characters as lowercase `\u00xx`, everything else (UTF-8 included) as it is.
    public static func appendAsPostgres(_ text: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Nearly every value needs no escape: appended whole.
        if !text.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += text
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in text {
            switch byte {
            case UInt8(ascii: "\""): out += #"\""#.utf8
            case UInt8(ascii: "\\"): out += #"\\"#.utf8
            case 0x08: out += #"\b"#.utf8
            case 0x0C: out += #"\f"#.utf8
            case 0x0A: out += #"\n"#.utf8
            case 0x0D: out += #"\r"#.utf8
            case 0x09: out += #"\t"#.utf8
            case 0..<0x20:
                out += #"\u00"#.utf8
                out.append(postgresHex[Int(byte >> 4)])
                out.append(postgresHex[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// The same for bytes seen as raw memory (a field of a binary COPY row).
    public static func appendAsPostgres(_ text: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        appendAsPostgres(text.assumingMemoryBound(to: UInt8.self), to: &out)
    }

    private static let postgresHex: [UInt8] = Array("0123456789abcdef".utf8)
}
