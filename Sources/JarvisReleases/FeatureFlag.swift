public import Foundation

/// A feature flag of a tenant: a boolean (`true`/`false`) or one of named variants, decided for a
/// subject by the first matching rule, else the default; a disabled flag (the kill switch) always
/// answers its default.
public struct FeatureFlag: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable { case boolean, variant }

    /// A rule matches when every condition it names holds; with `percentage`, only that share of
    /// subjects (by `Bucket` over the flag's id) gets `value`.
    public struct Rule: Codable, Sendable, Equatable {
        public var principals: [UUID]?
        public var roles: [String]?
        /// Attribute name → accepted values, as the request sends them.
        public var attributes: [String: [String]]?
        public var percentage: Int?
        public var value: String

        public init(principals: [UUID]? = nil, roles: [String]? = nil, attributes: [String: [String]]? = nil, percentage: Int? = nil, value: String) {
            self.principals = principals
            self.roles = roles
            self.attributes = attributes
            self.percentage = percentage
            self.value = value
        }
    }

    public let id: UUID
    public let key: String
    public let description: String
    public let kind: Kind
    public let variants: [String]
    public let defaultValue: String
    public let rules: [Rule]
    public let enabled: Bool
    public let updatedAt: Date

    /// The values a flag of this kind may answer.
    public var values: [String] { kind == .boolean ? ["false", "true"] : variants }

    /// Who asks: the subject the percentage hashes, and what rules may match on.
    public struct Subject: Sendable {
        public let key: String
        public let principalID: UUID?
        public let roles: [String]
        public let attributes: [String: String]

        public init(key: String, principalID: UUID?, roles: [String], attributes: [String: String]) {
            self.key = key
            self.principalID = principalID
            self.roles = roles
            self.attributes = attributes
        }
    }

    /// The flag's value for `subject`, and which rule decided it (nil: the default).
    public func evaluate(for subject: Subject, idText: String) -> (value: String, rule: Int?) {
        guard enabled else { return (defaultValue, nil) }
        for (index, rule) in rules.enumerated() {
            if let principals = rule.principals, !principals.contains(where: { $0 == subject.principalID }) { continue }
            if let roles = rule.roles, !roles.contains(where: subject.roles.contains) { continue }
            if let attributes = rule.attributes,
                !attributes.allSatisfy({ name, accepted in subject.attributes[name].map(accepted.contains) ?? false })
            { continue }
            if let percentage = rule.percentage, Bucket.of(idText, subject: subject.key) >= percentage * 100 { continue }
            return (rule.value, index)
        }
        return (defaultValue, nil)
    }

    /// Checks a definition: the default and every rule's value are values of the flag.
    static func validate(key: String, kind: Kind, variants: [String], defaultValue: String, rules: [Rule]) throws(ReleaseError) {
        guard key.utf8.count <= 100, let first = key.utf8.first, first >= 97, first <= 122,
            key.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 || $0 == 46 || $0 == 45 })
        else { throw .invalid("key: 1-100 lowercase letters, digits, '_', '.', '-', starting with a letter") }
        let values: [String]
        switch kind {
        case .boolean:
            guard variants.isEmpty else { throw .invalid("variants: only for variant flags") }
            values = ["false", "true"]
        case .variant:
            guard (2...32).contains(variants.count), Set(variants).count == variants.count,
                variants.allSatisfy({ (1...64).contains($0.unicodeScalars.count) })
            else { throw .invalid("variants: 2-32 distinct names of 1-64 characters") }
            values = variants
        }
        guard values.contains(defaultValue) else { throw .invalid("default: must be one of \(values.joined(separator: ", "))") }
        guard rules.count <= 100 else { throw .invalid("rules: at most 100") }
        for (index, rule) in rules.enumerated() {
            guard values.contains(rule.value) else { throw .invalid("rules[\(index)].value: must be one of \(values.joined(separator: ", "))") }
            if let percentage = rule.percentage, !(0...100).contains(percentage) { throw .invalid("rules[\(index)].percentage: must be from 0 to 100") }
            if (rule.principals?.count ?? 0) > 1000 || (rule.roles?.count ?? 0) > 100 || (rule.attributes?.count ?? 0) > 32 {
                throw .invalid("rules[\(index)]: too many conditions")
            }
        }
    }
}
