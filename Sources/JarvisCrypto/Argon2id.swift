internal import CArgon2

/// Argon2id password hashing through libargon2, stored as PHC strings
/// (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`).
public struct Argon2id: Sendable, Equatable {
    /// Memory in KiB.
    public var memoryKiB: UInt32
    public var iterations: UInt32
    public var parallelism: UInt32

    /// OWASP's minimum recommendation: m = 19 MiB, t = 2, p = 1.
    public static let owaspMinimum = Argon2id(memoryKiB: 19 * 1024, iterations: 2, parallelism: 1)

    public init(memoryKiB: UInt32, iterations: UInt32, parallelism: UInt32) {
        self.memoryKiB = memoryKiB
        self.iterations = iterations
        self.parallelism = parallelism
    }

    static let saltLength = 16
    static let hashLength = 32

    /// - Returns: the PHC string of `password` with a fresh 16-byte salt.
    public func hash(password: [UInt8]) throws(CryptoError) -> String {
        try hash(password: password, salt: SecureRandom.bytes(Self.saltLength))
    }

    /// Hashing with a given salt, for known-answer tests.
    public func hash(password: [UInt8], salt: [UInt8]) throws(CryptoError) -> String {
        let length = argon2_encodedlen(iterations, memoryKiB, parallelism, UInt32(salt.count), UInt32(Self.hashLength), Argon2_id)
        var encoded = [CChar](repeating: 0, count: length)
        let code = password.withUnsafeBytes { pwd in
            salt.withUnsafeBytes { s in
                argon2id_hash_encoded(
                    iterations, memoryKiB, parallelism,
                    pwd.baseAddress, pwd.count, s.baseAddress, s.count,
                    Self.hashLength, &encoded, length
                )
            }
        }
        guard code == Int32(ARGON2_OK.rawValue) else { throw .argon2(Self.message(code)) }
        return String(decoding: encoded.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// - Returns: true when `password` matches the PHC string `encoded`; false on mismatch.
    /// - Throws: when `encoded` is not an Argon2id PHC string.
    public static func verify(password: [UInt8], encoded: String) throws(CryptoError) -> Bool {
        let code = password.withUnsafeBytes { pwd in
            argon2id_verify(encoded, pwd.baseAddress, pwd.count)
        }
        if code == Int32(ARGON2_OK.rawValue) { return true }
        if code == Int32(ARGON2_VERIFY_MISMATCH.rawValue) { return false }
        throw .argon2(message(code))
    }

    /// The parameters a PHC string was made with, so weaker stored hashes can be upgraded.
    public static func parameters(of encoded: String) -> Argon2id? {
        let parts = encoded.split(separator: "$")
        guard parts.count == 5, parts[0] == "argon2id" else { return nil }
        var values: [Substring: UInt32] = [:]
        for pair in parts[2].split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, let value = UInt32(kv[1]) else { return nil }
            values[kv[0]] = value
        }
        guard let m = values["m"], let t = values["t"], let p = values["p"] else { return nil }
        return Argon2id(memoryKiB: m, iterations: t, parallelism: p)
    }

    private static func message(_ code: Int32) -> String {
        String(cString: argon2_error_message(code))
    }
}
