internal import ArgumentParser
internal import Foundation
internal import JarvisBilling
internal import JarvisConfiguration
internal import JarvisStore
internal import JarvisTenancy

/// `jarvis usage export`: the finance exports of the API, from the command line, to standard
/// output or a file, streamed from PostgreSQL as the API streams them.
struct Usage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Usage and cost reports.", subcommands: [Export.self])

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export usage and cost as CSV, JSON Lines or FOCUS 1.0 (every tenant, or one).")

        @Option(help: "First day, YYYY-MM-DD (default: the first of this month).") var from: String?
        @Option(help: "Last day, inclusive, YYYY-MM-DD (default: today).") var to: String?
        @Option(name: .customLong("group-by"), help: "Comma-separated: tenant, day, month, model, model_version, prompt_version, principal, cost_center (default: day,model).")
        var groupBy: String?
        @Option(help: "csv, jsonl or focus (default: csv).") var format: String?
        @Option(help: "One tenant, by slug or id (default: every tenant).") var tenant: String?
        @Option(help: "Write here instead of standard output.") var output: String?

        func run() async throws {
            let logger = Environment.logger()
            let configuration = try Environment.configuration()
            let query: UsageExport.Query
            do {
                query = try UsageExport.Query.parse(from: from, to: to, groupBy: groupBy, format: format)
            } catch .invalid(let reason) {
                throw ExitMessage("usage export: \(reason)")
            } catch {
                throw ExitMessage("usage export: \(error)")
            }
            let path = output
            let handle: FileHandle
            if let path {
                guard FileManager.default.createFile(atPath: path, contents: nil), let file = FileHandle(forWritingAtPath: path) else {
                    throw ExitMessage("usage export: cannot write \(path)")
                }
                handle = file
            } else {
                handle = FileHandle.standardOutput
            }
            let reference = tenant
            try await Database.using(name: "platform", configuration: configuration.platformDatabase, logger: logger) { platform in
                var tenantID: UUID?
                if let reference {
                    guard let found = try await Tenants(platform: platform).get(reference) else { throw ExitMessage("usage export: no tenant '\(reference)'") }
                    tenantID = found.id
                }
                try await UsageExport(app: platform, platform: platform).exportAsOperator(query, tenantID: tenantID) { chunk in
                    try handle.write(contentsOf: chunk)
                }
            }
            if path != nil { try handle.close() }
        }
    }
}
