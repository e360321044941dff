internal import Configuration

/// Typed, checked reads over swift-configuration's `ConfigReader`: a key `jarvis.db.pool.size` is
/// the environment variable `JARVIS_DB_POOL_SIZE`. A value that is present but malformed or out of
/// range is refused with its name, never replaced by the default; secrets are read as secrets
/// (redacted wherever the reader reports them).
struct Settings {
    let reader: ConfigReader

    static func key(_ name: String) -> ConfigKey {
        // JARVIS_DB_POOL_SIZE ↔ jarvis.db.pool.size
        ConfigKey(name.lowercased().split(separator: "_").map(String.init))
    }

    func text(_ name: String, secret: Bool = false) -> String? {
        guard let value = reader.string(forKey: Self.key(name), isSecret: secret), !value.isEmpty else { return nil }
        return value
    }

    func required(_ name: String, secret: Bool = false) throws(ConfigurationError) -> String {
        guard let value = text(name, secret: secret) else { throw .missing(name) }
        return value
    }

    func integer(_ name: String, _ fallback: Int, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let text = text(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else { throw .invalid(name, "must be an integer in \(range)") }
        return value
    }

    func seconds(_ name: String, _ fallback: Int, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Duration {
        .seconds(try integer(name, fallback, range))
    }

    func flag(_ name: String) throws(ConfigurationError) -> Bool {
        switch text(name)?.lowercased() {
        case nil, "0", "false", "no": return false
        case "1", "true", "yes": return true
        default: throw .invalid(name, "must be 1 or 0")
        }
    }
}

/// Why the configuration was refused: one line naming the setting.
public enum ConfigurationError: Error, CustomStringConvertible {
    case missing(String)
    case invalid(String, String)

    public var description: String {
        switch self {
        case .missing(let name): return "\(name) is not set (see README, Configuration)"
        case .invalid(let name, let reason): return "\(name) \(reason)"
        }
    }
}
