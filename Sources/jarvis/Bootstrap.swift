internal import ArgumentParser
internal import JarvisConfiguration
internal import Foundation
internal import JarvisIdentity
internal import JarvisHTTP
internal import JarvisStore
internal import Logging

/// `jarvis bootstrap`: creates the first super admin once and prints its API key once.
struct Bootstrap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create the first platform administrator and its API key.")

    @Option(help: "Also write the key to this file (mode 0600). Refuses to overwrite an existing file.")
    var keyFile: String?

    @Option(help: "Create an additional super admin with this name even when one exists (a second operator, CI).")
    var additional: String?

    func run() async throws {
        let logger = Environment.logger()
        let configuration = try Environment.configuration()
        let additional = self.additional
        let created = try await Database.using(name: "platform", configuration: configuration.platformDatabase, logger: logger) { platform -> String? in
            if let additional {
                return try await platform.withTransaction { tx in
                    try await JarvisIdentity.Bootstrap.createSuperAdmin(tx, pepper: configuration.apiKeyPepper, name: additional)
                }
            }
            return try await JarvisIdentity.Bootstrap.run(platform: platform, pepper: configuration.apiKeyPepper)
        }
        guard let key = created else {
            print("bootstrap: a super admin already exists; nothing to do")
            return
        }
        if let keyFile {
            // O_EXCL: never overwrite, and the file is private from its first byte.
            let fd = open(keyFile, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard fd >= 0 else { throw ExitMessage("bootstrap: cannot create \(keyFile) (it may exist already); the key is printed below") }
            let line = Array((key + "\n").utf8)
            _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        print("bootstrap: created service account '\(additional ?? "platform-admin")' with role super_admin.")
        print("Its API key is shown this once\(keyFile.map { " (also written to \($0))" } ?? ""):")
        print(key)
    }
}
