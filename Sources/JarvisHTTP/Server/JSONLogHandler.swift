public import Logging
internal import Foundation
internal import JarvisStore
internal import JarvisJSON

/// One JSON object per line on standard output. Nothing here logs request bodies or headers,
/// so secrets cannot reach the log through it.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let label: String

    public init(label: String, level: Logger.Level = .info) {
        self.label = label
        logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: String] = [
            "ts": Timestamp.format(Date()), "level": event.level.rawValue, "msg": "\(event.message)", "logger": label,
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            fields[key] = "\(value)"
        }
        var line: [UInt8] = [123]
        for (index, key) in fields.keys.sorted().enumerated() {
            if index > 0 { line.append(44) }
            JSONWriter.appendString(key, to: &line)
            line.append(58)
            JSONWriter.appendString(fields[key]!, to: &line)
        }
        line += [125, 10]
        FileHandle.standardOutput.write(Data(line))
    }
}
