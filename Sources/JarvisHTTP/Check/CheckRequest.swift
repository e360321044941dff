internal import JarvisQuota

/// The body of `POST /v1/check`, read by a small parser written for this one shape, so the hot
/// path spends no time in Foundation's JSON: `{"credential", "permission", "resource"?}` or
/// `{"items": [ ...up to 100 of those... ]}`.
struct CheckRequest {
    struct Item {
        var credential: String
        var permission: String
        var resource: String?
        /// What to draw from the quotas when the permission is granted.
        var quota: QuotaAsk?
    }

    var items: [Item]
    /// True for the `{"items": [...]}` form, answered in the same form.
    var batch: Bool

    static let maxItems = 100
    static let maxString = 8 * 1024

    enum ParseError: Error { case invalid(String) }

    static func parse(_ bytes: [UInt8]) throws(ParseError) -> CheckRequest {
        var parser = Parser(bytes: bytes)
        parser.skipSpace()
        var single = Item(credential: "", permission: "", resource: nil, quota: nil)
        var seen = Fields()
        var items: [Item]?
        try parser.object { (key: String, parser: inout Parser) throws(ParseError) in
            try seen.insert(key)
            switch key {
            case "items":
                var list: [Item] = []
                try parser.array { (parser: inout Parser) throws(ParseError) in
                    guard list.count < maxItems else { throw .invalid("items: at most \(maxItems)") }
                    list.append(try parseItem(&parser))
                }
                items = list
            case "credential": single.credential = try parser.string()
            case "permission": single.permission = try parser.string()
            case "resource": single.resource = try parser.string()
            case "quota": single.quota = try parseQuota(&parser)
            default: throw .invalid("unknown field '\(key.prefix(32))'")
            }
        }
        parser.skipSpace()
        guard parser.atEnd else { throw .invalid("trailing characters after the JSON object") }
        if let items {
            guard seen.bits == Fields.items else { throw .invalid("give either items or one check, not both") }
            guard !items.isEmpty else { throw .invalid("items: at least one") }
            return CheckRequest(items: items, batch: true)
        }
        guard seen.hasRequired else { throw .invalid("credential and permission are required") }
        return CheckRequest(items: [single], batch: false)
    }

    static func parseItem(_ parser: inout Parser) throws(ParseError) -> Item {
        var item = Item(credential: "", permission: "", resource: nil, quota: nil)
        var seen = Fields()
        try parser.object { (key: String, parser: inout Parser) throws(ParseError) in
            try seen.insert(key)
            switch key {
            case "credential": item.credential = try parser.string()
            case "permission": item.permission = try parser.string()
            case "resource": item.resource = try parser.string()
            case "quota": item.quota = try parseQuota(&parser)
            default: throw .invalid("items: unknown field '\(key.prefix(32))'")
            }
        }
        guard seen.hasRequired else { throw .invalid("items: credential and permission are required") }
        return item
    }

    /// `{"requests": n, "tokens_estimate": n}`, both optional whole numbers.
    static func parseQuota(_ parser: inout Parser) throws(ParseError) -> QuotaAsk {
        var ask = QuotaAsk()
        var seen: UInt8 = 0
        try parser.object { (key: String, parser: inout Parser) throws(ParseError) in
            switch key {
            case "requests":
                guard seen & 1 == 0 else { throw .invalid("quota.requests: given twice") }
                seen |= 1
                ask.requests = try parser.integer(max: 1_000_000, name: "quota.requests")
            case "tokens_estimate":
                guard seen & 2 == 0 else { throw .invalid("quota.tokens_estimate: given twice") }
                seen |= 2
                ask.tokens = try parser.integer(max: 1_000_000_000_000, name: "quota.tokens_estimate")
            default: throw .invalid("quota: unknown field '\(key.prefix(32))'")
            }
        }
        return ask
    }

    /// The fields seen in one object, as bits: a set without an allocation per object.
    struct Fields {
        static let credential: UInt8 = 1, permission: UInt8 = 2, resource: UInt8 = 4, items: UInt8 = 8, quota: UInt8 = 16
        var bits: UInt8 = 0

        /// - Throws: when `key` was given before. Unknown keys pass; the caller refuses them.
        mutating func insert(_ key: String) throws(ParseError) {
            let bit: UInt8
            switch key {
            case "credential": bit = Self.credential
            case "permission": bit = Self.permission
            case "resource": bit = Self.resource
            case "items": bit = Self.items
            case "quota": bit = Self.quota
            default: return
            }
            guard bits & bit == 0 else { throw .invalid("\(key): given twice") }
            bits |= bit
        }

        var hasRequired: Bool { bits & (Self.credential | Self.permission) == Self.credential | Self.permission }
    }

    /// A cursor over UTF-8 JSON with just what this body needs: objects, arrays, strings.
    struct Parser {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index >= bytes.count }

        mutating func skipSpace() {
            while index < bytes.count, bytes[index] == 32 || bytes[index] == 9 || bytes[index] == 10 || bytes[index] == 13 { index += 1 }
        }

        mutating func expect(_ byte: UInt8) throws(ParseError) {
            skipSpace()
            guard index < bytes.count, bytes[index] == byte else { throw .invalid("malformed JSON at byte \(index)") }
            index += 1
        }

        mutating func object(_ member: (String, inout Parser) throws(ParseError) -> Void) throws(ParseError) {
            try expect(123)  // {
            skipSpace()
            if index < bytes.count, bytes[index] == 125 { index += 1; return }
            while true {
                let key = try string()
                try expect(58)  // :
                skipSpace()
                try member(key, &self)
                skipSpace()
                guard index < bytes.count else { throw .invalid("unterminated object") }
                if bytes[index] == 44 { index += 1; continue }  // ,
                if bytes[index] == 125 { index += 1; return }  // }
                throw .invalid("malformed JSON at byte \(index)")
            }
        }

        mutating func array(_ element: (inout Parser) throws(ParseError) -> Void) throws(ParseError) {
            try expect(91)  // [
            skipSpace()
            if index < bytes.count, bytes[index] == 93 { index += 1; return }
            while true {
                try element(&self)
                skipSpace()
                guard index < bytes.count else { throw .invalid("unterminated array") }
                if bytes[index] == 44 { index += 1; continue }
                if bytes[index] == 93 { index += 1; return }
                throw .invalid("malformed JSON at byte \(index)")
            }
        }

        mutating func string() throws(ParseError) -> String {
            skipSpace()
            guard index < bytes.count, bytes[index] == 34 else { throw .invalid("expected a string at byte \(index)") }
            index += 1
            let start = index
            // Fast path: no escapes.
            while index < bytes.count, bytes[index] != 34, bytes[index] != 92 {
                guard bytes[index] >= 32 else { throw .invalid("control character in string") }
                index += 1
            }
            guard index < bytes.count else { throw .invalid("unterminated string") }
            guard index - start <= CheckRequest.maxString else { throw .invalid("string too long") }
            if bytes[index] == 34 {
                let text = String(validating: bytes[start..<index], as: UTF8.self)
                index += 1
                guard let text else { throw .invalid("invalid UTF-8") }
                return text
            }
            var out = Array(bytes[start..<index])
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                if byte == 34 {
                    guard out.count <= CheckRequest.maxString, let text = String(validating: out, as: UTF8.self) else {
                        throw .invalid("invalid string")
                    }
                    return text
                }
                if byte < 32 { throw .invalid("control character in string") }
                guard byte == 92 else { out.append(byte); continue }
                guard index < bytes.count else { break }
                let escape = bytes[index]
                index += 1
                switch escape {
                case 34, 92, 47: out.append(escape)
                case 98: out.append(8)
                case 102: out.append(12)
                case 110: out.append(10)
                case 114: out.append(13)
                case 116: out.append(9)
                case 117:
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard index + 1 < bytes.count, bytes[index] == 92, bytes[index + 1] == 117 else { throw .invalid("lone surrogate") }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw .invalid("lone surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw .invalid("invalid \\u escape") }
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default: throw .invalid("invalid escape")
                }
            }
            throw .invalid("unterminated string")
        }

        /// A non-negative whole number without fraction or exponent, at most `max`.
        mutating func integer(max: Int64, name: String) throws(ParseError) -> Int64 {
            skipSpace()
            var value: Int64 = 0
            let start = index
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                value = value * 10 + Int64(bytes[index] - 48)
                index += 1
                guard value <= max else { throw .invalid("\(name): at most \(max)") }
            }
            guard index > start, index - start == 1 || bytes[start] != 48 else { throw .invalid("\(name): must be a whole number") }
            if index < bytes.count, bytes[index] == 46 || bytes[index] == 101 || bytes[index] == 69 {
                throw .invalid("\(name): must be a whole number")
            }
            return value
        }

        private mutating func hex4() throws(ParseError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw .invalid("short \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[index]
                index += 1
                let digit: UInt32
                switch c {
                case 48...57: digit = UInt32(c - 48)
                case 97...102: digit = UInt32(c - 87)
                case 65...70: digit = UInt32(c - 55)
                default: throw .invalid("invalid \\u escape")
                }
                value = value << 4 | digit
            }
            return value
        }
    }
}
