internal import Foundation
internal import JarvisJSON

/// The body of `POST /v1/resolve/flags`, read without Foundation's JSON (it is on the hot path):
/// `{"subject"?, "principal_id"?, "roles"?, "attributes"?: {name: string}, "keys"?: [string]}`.
struct FlagsRequest {
    var subject: String?
    var principalID: UUID?
    var roles: [String]?
    var attributes: [String: String] = [:]
    var keys: Set<String>?

    static let maxString = 1024
    static let maxItems = 100

    static func parse(_ bytes: [UInt8]) throws(JSONScanner.Failure) -> FlagsRequest {
        var parser = JSONScanner(bytes: bytes, maxString: maxString)
        parser.skipSpace()
        if parser.atEnd { return FlagsRequest() }
        var request = FlagsRequest()
        var seen = Set<String>()
        try parser.object { (key: String, parser: inout JSONScanner) throws(JSONScanner.Failure) in
            guard seen.insert(key).inserted else { throw .invalid("'\(key.prefix(32))' given twice") }
            switch key {
            case "subject":
                let subject = try parser.string()
                guard !subject.isEmpty, subject.unicodeScalars.count <= ResolveController.maxSubject else {
                    throw .invalid("subject: 1-\(ResolveController.maxSubject) characters")
                }
                request.subject = subject
            case "principal_id":
                guard let id = UUID(uuidString: try parser.string()) else { throw .invalid("principal_id: a UUID") }
                request.principalID = id
            case "roles": request.roles = try strings(&parser, name: "roles")
            case "keys": request.keys = Set(try strings(&parser, name: "keys"))
            case "attributes":
                try parser.object { (name: String, parser: inout JSONScanner) throws(JSONScanner.Failure) in
                    guard request.attributes.count < maxItems else { throw .invalid("attributes: at most \(maxItems)") }
                    guard request.attributes[name] == nil else { throw .invalid("attributes: '\(name.prefix(32))' given twice") }
                    request.attributes[name] = try parser.string()
                }
            default: throw .invalid("unknown field '\(key.prefix(32))'")
            }
        }
        parser.skipSpace()
        guard parser.atEnd else { throw .invalid("trailing characters after the JSON object") }
        return request
    }

    static func strings(_ parser: inout JSONScanner, name: String) throws(JSONScanner.Failure) -> [String] {
        var list: [String] = []
        try parser.array { (parser: inout JSONScanner) throws(JSONScanner.Failure) in
            guard list.count < maxItems else { throw .invalid("\(name): at most \(maxItems)") }
            list.append(try parser.string())
        }
        return list
    }
}
