internal import JarvisQuota
internal import JarvisJSON

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
    /// As the contract says: a permission is at most 128 characters.
    static let maxPermission = 128

    static func permission(_ parser: inout Parser, label: String) throws(ParseError) -> String {
        let text = try parser.string()
        guard text.unicodeScalars.count <= maxPermission else { throw .invalid("\(label)permission: at most \(maxPermission) characters") }
        return text
    }

    typealias ParseError = JSONScanner.Failure
    typealias Parser = JSONScanner

    static func parse(_ bytes: [UInt8]) throws(ParseError) -> CheckRequest {
        var parser = JSONScanner(bytes: bytes, maxString: maxString)
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
            case "permission": single.permission = try permission(&parser, label: "")
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
            case "permission": item.permission = try permission(&parser, label: "items: ")
            case "resource": item.resource = try parser.string()
            case "quota": item.quota = try parseQuota(&parser)
            default: throw .invalid("items: unknown field '\(key.prefix(32))'")
            }
        }
        guard seen.hasRequired else { throw .invalid("items: credential and permission are required") }
        return item
    }

    /// `{"requests": n, "tokens_estimate": n, "cost_estimate_micros": n, "storage_bytes": n, ...}`, all optional whole numbers.
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
            case "cost_estimate_micros":
                guard seen & 4 == 0 else { throw .invalid("quota.cost_estimate_micros: given twice") }
                seen |= 4
                ask.costMicros = try parser.integer(max: 9_007_199_254_740_992, name: "quota.cost_estimate_micros")
            case "storage_documents", "storage_vectors", "storage_bytes":
                let metric = QuotaMetric(rawValue: key)!
                guard ask.storage[metric] == nil else { throw .invalid("quota.\(key): given twice") }
                ask.storage[metric] = try parser.integer(max: 1_000_000_000_000_000, name: "quota.\(key)")
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
}
