internal import Foundation

/// A declared variable of a prompt version.
public struct PromptVariable: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case string, number, boolean }

    public var name: String
    public var type: Kind
    public var required: Bool
    /// Used when the variable is not given (text form of the value).
    public var `default`: String?

    public init(name: String, type: Kind, required: Bool, default value: String?) {
        self.name = name
        self.type = type
        self.required = required
        self.default = value
    }

    enum CodingKeys: String, CodingKey { case name, type, required, `default` }

    /// `type` defaults to string and `required` to false.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        type = try container.decodeIfPresent(Kind.self, forKey: .type) ?? .string
        required = try container.decodeIfPresent(Bool.self, forKey: .required) ?? false
        self.default = try container.decodeIfPresent(String.self, forKey: .default)
    }
}

/// A prompt template: text with `{{name}}` placeholders (spaces inside the braces allowed).
public struct PromptTemplate: Sendable {
    public let text: String

    public init(_ text: String) { self.text = text }

    /// The placeholder names, in order of first use.
    public var placeholders: [String] {
        var names: [String] = []
        for piece in pieces { if case .variable(let name) = piece, !names.contains(name) { names.append(name) } }
        return names
    }

    enum Piece: Equatable {
        case text(Substring)
        case variable(String)
    }

    var pieces: [Piece] {
        var result: [Piece] = []
        var rest = text[...]
        while let open = rest.range(of: "{{") {
            guard let close = rest[open.upperBound...].range(of: "}}") else { break }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            guard PromptTemplate.isName(name) else {
                result.append(.text(rest[..<open.upperBound]))
                rest = rest[open.upperBound...]
                continue
            }
            if open.lowerBound > rest.startIndex { result.append(.text(rest[..<open.lowerBound])) }
            result.append(.variable(name))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { result.append(.text(rest)) }
        return result
    }

    static func isName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count), let first = bytes.first, (first >= 97 && first <= 122) || (first >= 65 && first <= 90) || first == 95
        else { return false }
        return bytes.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
    }

    /// Checks a version's declarations against its template: every placeholder declared, names
    /// well formed and unique, defaults of the declared type.
    public static func validate(_ template: String, variables: [PromptVariable]) throws(ReleaseError) {
        var seen = Set<String>()
        for variable in variables {
            guard isName(variable.name) else { throw .invalid("variables: '\(variable.name.prefix(64))' is not a variable name (letters, digits, _)") }
            guard seen.insert(variable.name).inserted else { throw .invalid("variables: '\(variable.name)' is declared twice") }
            if let value = variable.default, !accepts(variable.type, value) {
                throw .invalid("variables: the default of '\(variable.name)' is not a \(variable.type.rawValue)")
            }
        }
        for name in PromptTemplate(template).placeholders where !seen.contains(name) {
            throw .invalid("template: the placeholder {{\(name)}} is not a declared variable")
        }
    }

    static func accepts(_ kind: PromptVariable.Kind, _ value: String) -> Bool {
        switch kind {
        case .string: return true
        case .number: return Double(value) != nil
        case .boolean: return value == "true" || value == "false"
        }
    }

    /// Substitutes `values` (text forms) for the placeholders.
    /// - Throws: `unprocessable` naming a required variable left out, an undeclared one given, or a
    ///   value of the wrong type.
    public func render(_ values: [String: String], declared: [PromptVariable]) throws(ReleaseError) -> String {
        let byName = Dictionary(declared.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        if let unknown = values.keys.sorted().first(where: { byName[$0] == nil }) {
            throw .unprocessable("variables: '\(unknown.prefix(64))' is not a variable of this version")
        }
        var resolved: [String: String] = [:]
        for variable in declared {
            if let value = values[variable.name] {
                guard Self.accepts(variable.type, value) else { throw .unprocessable("variables: '\(variable.name)' must be a \(variable.type.rawValue)") }
                resolved[variable.name] = value
            } else if let value = variable.default {
                resolved[variable.name] = value
            } else if variable.required {
                throw .unprocessable("variables: '\(variable.name)' is required")
            } else {
                resolved[variable.name] = ""
            }
        }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for piece in pieces {
            switch piece {
            case .text(let text): out += text
            case .variable(let name): out += resolved[name] ?? ""
            }
        }
        return out
    }
}
