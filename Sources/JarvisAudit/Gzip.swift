internal import Foundation

/// gzip by the system's `gzip` (on every Debian): the archive is written rarely, and the format is
/// what an operator's tools read as they are.
enum Gzip {
    static func compress(_ bytes: [UInt8]) throws -> [UInt8] { try run(["-n", "-c"], bytes) }

    static func decompress(_ bytes: [UInt8]) throws -> [UInt8] { try run(["-d", "-c"], bytes) }

    struct Failed: Error, CustomStringConvertible {
        let status: Int32
        var description: String { "gzip failed (exit \(status))" }
    }

    private static func run(_ arguments: [String], _ input: [UInt8]) throws -> [UInt8] {
        // Through a file, so writing the input and reading the output cannot block each other.
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-gzip-\(UUID().uuidString)")
        try Data(input).write(to: temporary)
        defer { try? FileManager.default.removeItem(at: temporary) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip"] + arguments + [temporary.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failed(status: process.terminationStatus) }
        return Array(data)
    }
}
