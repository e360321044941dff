internal import AsyncHTTPClient
internal import Foundation
public import Logging
internal import Metrics
internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
public import JarvisStore
internal import Synchronization

/// Sends ended spans to an OpenTelemetry collector over OTLP/HTTP (JSON), in batches, from a
/// bounded queue: tracing never makes a request wait or the process grow. A full queue drops spans
/// and a collector that fails loses that batch; both are counted, neither retried (a trace backend
/// down must not become a memory problem here).
///
/// Written on async-http-client (already built for webhooks) instead of swift-otel, whose build
/// would add minutes to every fresh build for the same wire format.
public final class SpanExporter: Sendable {
    let endpoint: String
    let resource: [String: String]
    let capacity: Int
    let batchSize: Int
    let interval: Duration
    // Locking rule: the queue is only touched under this lock.
    private let queue = Mutex<[FinishedSpan]>([])
    static let outcomes = (
        exported: Counter(label: "jarvis_trace_spans_total", dimensions: [("outcome", "exported")]),
        failed: Counter(label: "jarvis_trace_spans_total", dimensions: [("outcome", "failed")]),
        dropped: Counter(label: "jarvis_trace_spans_total", dimensions: [("outcome", "dropped")])
    )

    /// - Parameter endpoint: the collector's traces URL, e.g. `http://otel-collector:4318/v1/traces`.
    public init(endpoint: String, serviceName: String, capacity: Int = 8_192, batchSize: Int = 512, interval: Duration = .seconds(1)) {
        self.endpoint = endpoint
        var resource = ["service.name": serviceName, "telemetry.sdk.name": "jarvis", "telemetry.sdk.language": "swift"]
        resource["host.name"] = ProcessInfo.processInfo.hostName
        resource["process.pid"] = String(ProcessInfo.processInfo.processIdentifier)
        self.resource = resource
        self.capacity = capacity
        self.batchSize = batchSize
        self.interval = interval
    }

    func enqueue(_ span: FinishedSpan) {
        let kept = queue.withLock { queue -> Bool in
            guard queue.count < capacity else { return false }
            queue.append(span)
            return true
        }
        if !kept { Self.outcomes.dropped.increment() }
    }

    private func take() -> [FinishedSpan] {
        queue.withLock { queue in
            let batch = Array(queue.prefix(batchSize))
            queue.removeFirst(batch.count)
            return batch
        }
    }

    /// The background service that sends what is queued, every `interval` and once more at shutdown.
    public func service(logger: Logger) -> PeriodicService {
        // Its own requests are not traced: each export would otherwise be a span to export.
        var configuration = HTTPClient.Configuration()
        configuration.tracing.tracer = nil
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        return PeriodicService(
            "trace export", every: interval, logger: logger, work: { await self.sendAll(client: client, logger: logger) },
            drain: {
                await self.sendAll(client: client, logger: logger)
                try await client.shutdown()
            })
    }

    func sendAll(client: HTTPClient, logger: Logger) async {
        while true {
            let batch = take()
            if batch.isEmpty { return }
            var request = HTTPClientRequest(url: endpoint)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: OTLPJSON.request(batch, resource: resource)))
            do {
                let response = try await client.execute(request, timeout: .seconds(10))
                _ = try? await response.body.collect(upTo: 1 << 20)
                guard (200..<300).contains(response.status.code) else {
                    throw TraceExportError(description: "the collector answered \(response.status.code)")
                }
                Self.outcomes.exported.increment(by: batch.count)
            } catch {
                Self.outcomes.failed.increment(by: batch.count)
                logger.warning("trace export failed", metadata: ["error": "\(error)", "spans": "\(batch.count)"])
                return
            }
        }
    }
}

struct TraceExportError: Error, CustomStringConvertible {
    let description: String
}
