internal import JarvisJSON
internal import JarvisQuota

/// The body of `POST /v1/usage`, read by `JSONScanner`: one event object, or
/// `{"events": [...up to 1,000...]}`. Fields are typed here and checked by `UsageIngest`.
struct UsageRequest {
    typealias Fields = UsageIngest.Draft

    static let stringFields: Set<String> = [
        "tenant_id", "principal_id", "model", "model_version", "prompt", "prompt_version", "status", "timestamp", "idempotency_key", "reservation_id",
        "api_key_id",
    ]
    static let integerFields: Set<String> = ["input_tokens", "output_tokens", "latency_ms"]
    static let maxEvents = 1_000

    var events: [Fields]
    var batch: Bool

    static func parse(_ bytes: [UInt8]) throws(JSONScanner.Failure) -> UsageRequest {
        var scanner = JSONScanner(bytes: bytes, maxString: 1_000)
        var single = Fields()
        var list: [Fields]?
        try scanner.object { (key: String, scanner: inout JSONScanner) throws(JSONScanner.Failure) in
            if key == "events" {
                guard list == nil else { throw .invalid("events: given twice") }
                var events: [Fields] = []
                try scanner.array { (scanner: inout JSONScanner) throws(JSONScanner.Failure) in
                    guard events.count < maxEvents else { throw .invalid("events: at most \(maxEvents)") }
                    var fields = Fields()
                    let label = "events[\(events.count)]."
                    try scanner.object { (key: String, scanner: inout JSONScanner) throws(JSONScanner.Failure) in
                        try field(key, into: &fields, scanner: &scanner, label: label)
                    }
                    events.append(fields)
                }
                list = events
            } else {
                try field(key, into: &single, scanner: &scanner, label: "")
            }
        }
        scanner.skipSpace()
        guard scanner.atEnd else { throw .invalid("trailing characters after the JSON object") }
        if let list {
            guard single.strings.isEmpty, single.integers.isEmpty else { throw .invalid("give either events or one event, not both") }
            guard !list.isEmpty else { throw .invalid("events: a list of 1 to \(maxEvents) events") }
            return UsageRequest(events: list, batch: true)
        }
        return UsageRequest(events: [single], batch: false)
    }

    static func field(_ key: String, into fields: inout Fields, scanner: inout JSONScanner, label: String) throws(JSONScanner.Failure) {
        if stringFields.contains(key) {
            guard fields.strings[key] == nil else { throw .invalid("\(label)\(key): given twice") }
            do {
                fields.strings[key] = try scanner.string()
            } catch .invalid {
                throw .invalid("\(label)\(key): must be a string")
            }
        } else if integerFields.contains(key) {
            guard fields.integers[key] == nil else { throw .invalid("\(label)\(key): given twice") }
            fields.integers[key] = try scanner.integer(max: 1_000_000_000_000, name: label + key)
        } else {
            throw .invalid("\(label)unknown field '\(key.prefix(64))'")
        }
    }
}
