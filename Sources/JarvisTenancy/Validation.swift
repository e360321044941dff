/// Field rules shared by tenants and principals.
enum Validation {
    /// Lowercase letters, digits and hyphens, 3-63 characters, starting with a letter, not ending with a hyphen.
    static func slug(_ value: String) throws(TenancyError) {
        let bytes = Array(value.utf8)
        guard (3...63).contains(bytes.count) else { throw .invalid(field: "slug", reason: "must be 3-63 characters") }
        guard bytes.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }),
            let first = bytes.first, first >= 97, first <= 122, bytes.last != 45
        else {
            throw .invalid(field: "slug", reason: "must be lowercase letters, digits and hyphens, start with a letter and not end with a hyphen")
        }
    }

    /// 1-200 characters of printable text.
    static func name(_ value: String, field: String = "name") throws(TenancyError) {
        try text(value, field: field, max: 200, allowEmpty: false)
    }

    static func text(_ value: String, field: String, max: Int, allowEmpty: Bool) throws(TenancyError) {
        // Code points, as JSON Schema's maxLength counts them (not grapheme clusters).
        let count = value.unicodeScalars.count
        if count == 0 && !allowEmpty { throw .invalid(field: field, reason: "must not be empty") }
        guard count <= max else { throw .invalid(field: field, reason: "must be at most \(max) characters") }
        guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalid(field: field, reason: "must not contain control characters")
        }
        if !allowEmpty && value.allSatisfy(\.isWhitespace) { throw .invalid(field: field, reason: "must not be blank") }
    }

    /// `local@domain.tld`, at most 254 characters, no spaces or control characters.
    static func email(_ value: String) throws(TenancyError) {
        let bytes = Array(value.utf8)
        guard bytes.count <= 254 else { throw .invalid(field: "email", reason: "must be at most 254 characters") }
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64,
            parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."), !parts[1].contains(".."),
            bytes.allSatisfy({ $0 > 32 && $0 != 127 }), !value.contains(where: { "<>()[],;:\\\"".contains($0) })
        else { throw .invalid(field: "email", reason: "must be an email address such as ada@example.com") }
    }

    /// Plans are short identifiers (`free`, `pro`, `enterprise`).
    static func plan(_ value: String) throws(TenancyError) {
        let bytes = Array(value.utf8)
        guard (1...32).contains(bytes.count), let first = bytes.first, first >= 97, first <= 122,
            bytes.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 || $0 == 45 })
        else { throw .invalid(field: "plan", reason: "must be 1-32 lowercase letters, digits, '_' or '-', starting with a letter") }
    }
}
