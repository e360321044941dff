/// A permission name: `resource:action`, `resource:*`, or `*`.
public struct Permission: Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let name: String

    /// - Returns: nil unless `name` is `resource:action` (lowercase, digits, `_`, `-`; action may be `*`) or `*`.
    public init?(validating name: String) {
        guard Self.isValid(name) else { return nil }
        self.name = name
    }

    public init(stringLiteral value: String) {
        precondition(Self.isValid(value), "invalid permission literal \(value)")
        name = value
    }

    public var description: String { name }

    /// The part before the colon; nil for `*`.
    public var resource: Substring? { name == "*" ? nil : name.split(separator: ":", maxSplits: 1).first }

    public var isWildcard: Bool { name == "*" || name.hasSuffix(":*") }

    static func isValid(_ name: String) -> Bool {
        if name == "*" { return true }
        guard name.utf8.count <= 128 else { return false }
        let parts = name.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        func word(_ s: Substring) -> Bool {
            guard let first = s.utf8.first, first >= 97, first <= 122 else { return false }
            return s.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 || $0 == 45 }
        }
        return word(parts[0]) && (parts[1] == "*" || word(parts[1]))
    }

    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard Self.isValid(name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "invalid permission \(name)"))
        }
        self.name = name
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}
