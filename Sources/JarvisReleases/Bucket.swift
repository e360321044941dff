internal import JarvisCrypto

/// Sticky assignment, reproducible by anyone: `bucket = first 8 bytes of SHA-256(id ‖ ":" ‖ subject),
/// read as a big-endian unsigned integer, mod 10000`, where `id` is the rollout's (or flag's) id in
/// lowercase text. A subject is in when `bucket < percent × 100`: raising the percentage only adds
/// subjects, lowering it only removes them, and a subject always lands in the same bucket.
public enum Bucket {
    /// - Parameter id: the rollout's or flag's id, lowercase.
    public static func of(_ id: String, subject: String) -> Int {
        Int(SHA256.prefix64(id, 58, subject) % 10_000)
    }
}
