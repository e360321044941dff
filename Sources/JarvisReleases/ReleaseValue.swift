/// A flat JSON value: what model parameters and prompt parameters hold (`temperature: 0.2`,
/// `max_tokens: 512`, `stop: "###"`, `stream: false`). Nested objects are not accepted.
public enum ReleaseValue: Codable, Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else { throw DecodingError.typeMismatch(ReleaseValue.self, .init(codingPath: decoder.codingPath, debugDescription: "a string, number, boolean or null")) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }
}

/// Parameters of a prompt or model version: at most 64, names of letters, digits and `_`.
public typealias ReleaseParameters = [String: ReleaseValue]

enum ParameterRules {
    static func check(_ parameters: ReleaseParameters, field: String = "parameters") throws(ReleaseError) {
        guard parameters.count <= 64 else { throw .invalid("\(field): at most 64") }
        for (name, value) in parameters {
            guard PromptTemplate.isName(name) else { throw .invalid("\(field): '\(name.prefix(64))' is not a parameter name") }
            if case .string(let text) = value, text.unicodeScalars.count > 10_000 { throw .invalid("\(field): '\(name)' is longer than 10000 characters") }
        }
    }
}
