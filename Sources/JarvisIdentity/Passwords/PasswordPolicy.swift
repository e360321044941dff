/// What a password must be: 12 to 1024 characters, not the account's email, not a well-known password.
public enum PasswordPolicy {
    public static let minLength = 12
    public static let maxLength = 1024

    /// - Throws: `IdentityError.invalid` on field `field` saying what is wrong.
    public static func check(_ password: String, email: String?, field: String = "password") throws(IdentityError) {
        let length = password.unicodeScalars.count
        guard length >= minLength else { throw .invalid(field: field, reason: "must be at least \(minLength) characters") }
        guard length <= maxLength else { throw .invalid(field: field, reason: "must be at most \(maxLength) characters") }
        let folded = password.lowercased()
        if let email, folded == email.lowercased() { throw .invalid(field: field, reason: "must not be the email address") }
        if common.contains(folded) || Set(folded).count <= 2 {
            throw .invalid(field: field, reason: "is too common; choose a longer, less predictable passphrase")
        }
    }

    /// Frequently breached passwords of policy length (lowercased).
    static let common: Set<String> = [
        "password1234", "password12345", "password123456", "123456789012", "1234567890123", "12345678901234",
        "qwertyuiop12", "qwertyuiopas", "qwerty123456", "1q2w3e4r5t6y", "1qaz2wsx3edc", "iloveyou1234",
        "administrator", "admin1234567", "welcome12345", "letmein12345", "passw0rd1234", "p@ssw0rd1234",
        "p@ssword1234", "changeme1234", "abcdefghijkl", "abc123456789", "football1234", "baseball1234",
        "sunshine1234", "princess1234", "dragon123456", "monkey123456", "trustno11234", "superman1234",
        "masterkey123", "qwertyuiopasdf", "asdfghjkl123", "zxcvbnm12345", "0987654321qw", "passwordpassword",
        "correcthorsebatterystaple", "welcome@1234", "password@123", "password@1234", "password!123", "password!1234",
        "iloveyou12345", "summer202420", "winter202420", "starwars1234", "computer1234", "internet1234",
    ]
}
