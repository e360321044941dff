/// A semantic version `MAJOR.MINOR.PATCH` (numbers without leading zeros, up to 9 digits each):
/// what a prompt or model version is called. Pre-release and build suffixes are not accepted.
public struct Semver: Comparable, Hashable, Sendable, CustomStringConvertible {
    public let major: Int
    public let minor: Int
    public let patch: Int

    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var numbers: [Int] = []
        for part in parts {
            let digits = part.utf8
            guard (1...9).contains(digits.count), digits.allSatisfy({ $0 >= 48 && $0 <= 57 }), digits.count == 1 || digits.first != 48,
                let value = Int(part)
            else { return nil }
            numbers.append(value)
        }
        major = numbers[0]
        minor = numbers[1]
        patch = numbers[2]
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (a: Semver, b: Semver) -> Bool { (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch) }
}
