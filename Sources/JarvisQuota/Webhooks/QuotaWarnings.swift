public import Foundation
public import JarvisStore
public import Logging
internal import JarvisAudit
internal import JarvisCrypto
internal import Metrics
internal import Synchronization
internal import AsyncHTTPClient
internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix

/// Quota warnings and their webhooks. The hot path only notes that a limit crossed its warning
/// share (`note`, a set insert); this service writes the warning once per limit and window — a
/// notification row, an audit event and a delivery per webhook, in one transaction — and posts
/// due deliveries: the body signed with HMAC-SHA256 over `<timestamp>.<body>`, retried with
/// exponential back-off (1, 2, 4 … 256 s), given up after 9 attempts, every attempt logged.
public final class QuotaWarnings: Sendable {
    public struct Warning: Hashable, Sendable {
        public let tenantID: UUID
        public let metric: QuotaMetric
        public let subject: QuotaSubject
        public let windowKey: String
        public let percent: Int
        public let used: Int64
        public let limit: Int64
    }

    struct Seen: Hashable {
        let tenantID: UUID
        let metric: QuotaMetric
        let subject: QuotaSubject
        let windowKey: String
    }

    let platform: Database
    let masterKey: [UInt8]
    /// Which addresses deliveries may reach.
    public let targets: WebhookTargetPolicy
    let logger: Logger
    static let maxAttempts = 9
    /// Delivery attempts by outcome: `jarvis_webhook_deliveries_total{outcome="delivered|failed"}`.
    private let deliveredCount = Counter(label: "jarvis_webhook_deliveries_total", dimensions: [("outcome", "delivered")])
    private let failedCount = Counter(label: "jarvis_webhook_deliveries_total", dimensions: [("outcome", "failed")])
    // Locking rule: the queue and the set of warnings already queued change together.
    private let state = Mutex<(queue: [Warning], seen: Set<Seen>)>(([], []))
    // Locking rule: counts deliveries in flight; changed only by `deliverDue` and the tasks it starts.
    private let inFlight = Mutex<Int>(0)
    /// Deliveries this instance has on the wire at most.
    static let maxInFlight = 64

    public init(platform: Database, masterKey: [UInt8], targets: WebhookTargetPolicy, logger: Logger) {
        self.platform = platform
        self.masterKey = masterKey
        self.targets = targets
        self.logger = logger
    }

    /// Queues a warning unless this one (limit and window) was queued before. Never blocks.
    public func note(_ warning: Warning) {
        state.withLock { s in
            let key = Seen(tenantID: warning.tenantID, metric: warning.metric, subject: warning.subject, windowKey: warning.windowKey)
            guard s.queue.count < 10_000, s.seen.insert(key).inserted else { return }
            if s.seen.count > 100_000 { s.seen = [key] }
            s.queue.append(warning)
        }
    }

    /// Records queued warnings and posts due deliveries every quarter second; records what is
    /// queued once more at shutdown.
    public var service: PeriodicService {
        PeriodicService("quota-warnings", every: .milliseconds(250), logger: logger, work: {
            await self.writeQueued()
            await self.deliverDue()
        }, drain: { await self.writeQueued() })
    }

    func writeQueued() async {
        let queued = state.withLock { s -> [Warning] in
            defer { s.queue = [] }
            return s.queue
        }
        for warning in queued {
            do {
                try await write(warning)
            } catch {
                logger.warning("quota warning not recorded", metadata: ["error": "\(error)", "tenant": "\(warning.tenantID)"])
            }
        }
    }

    private func write(_ warning: Warning) async throws {
        try await platform.withTransaction { tx in
            let id = UUIDv7.make()
            let inserted = try await tx.query(
                """
                INSERT INTO quota_notifications (tenant_id, id, metric, subject_kind, subject_id, window_key, threshold_percent, used, "limit")
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT DO NOTHING RETURNING id, created_at
                """,
                [warning.tenantID, id, warning.metric.rawValue, warning.subject.kind.rawValue, warning.subject.id, warning.windowKey,
                 warning.percent, warning.used, warning.limit])
            // Another instance recorded this window's warning first.
            guard let row = inserted.first else { return }
            try await AuditLog.record(
                tx, tenantID: warning.tenantID, actor: AuditActor(id: nil, kind: .system, requestID: nil, clientIP: nil),
                action: "quota.warning", targetType: "quota", targetID: warning.metric.rawValue,
                details: ["window": .string(warning.windowKey), "used": .int(Int(warning.used)), "limit": .int(Int(warning.limit)),
                          "threshold_percent": .int(warning.percent), "subject_kind": .string(warning.subject.kind.rawValue)])
            let payload = WarningPayload(
                notificationId: id.lowercasedString, tenantId: warning.tenantID.lowercasedString, metric: warning.metric.rawValue,
                subjectKind: warning.subject.kind.rawValue, subjectId: warning.subject.id?.lowercasedString, window: warning.windowKey,
                thresholdPercent: warning.percent, used: warning.used, limit: warning.limit,
                createdAt: Timestamp.format(try row.date("created_at")))
            try await tx.query(
                """
                INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event, payload)
                SELECT tenant_id, $2::uuid, id, 'quota.warning', $3 FROM webhooks WHERE tenant_id = $1 AND 'quota.warning' = ANY(events)
                """, [warning.tenantID, UUIDv7.make(), try payload.json()])
        }
    }

    /// The body of a `quota.warning` delivery.
    struct WarningPayload: Encodable {
        var event = "quota.warning"
        let notificationId: String
        let tenantId: String
        let metric: String
        let subjectKind: String
        let subjectId: String?
        let window: String
        let thresholdPercent: Int
        let used: Int64
        let limit: Int64
        let createdAt: String

        func json() throws -> String {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        }
    }

    /// Claims due deliveries (skipping ones another instance holds), pushes their next attempt out
    /// before sending so a crash mid-send retries later, posts them and records the outcome. The
    /// claimed deliveries go out side by side, each on its own, and the next pass claims more
    /// while slow ones are still waiting: one tenant's unreachable receiver (a connect or a read
    /// that waits out its timeout) never holds back another's delivery. A delivery still on the
    /// wire at shutdown is retried later (its claim already moved its next attempt out).
    func deliverDue() async {
        let room = min(20, Self.maxInFlight - inFlight.withLock { $0 })
        guard room > 0 else { return }
        let due: Rows
        do {
            due = try await platform.query(
                """
                UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = now() + interval '60 seconds'
                FROM webhooks w
                WHERE w.tenant_id = d.tenant_id AND w.id = d.webhook_id
                  AND (d.tenant_id, d.id) IN (SELECT tenant_id, id FROM webhook_deliveries
                                              WHERE status = 'pending' AND next_attempt_at <= now()
                                              ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
                RETURNING d.tenant_id, d.id, d.webhook_id, d.event, d.payload, d.attempts, w.url, w.sealed_secret
                """, [room])
        } catch {
            return
        }
        for row in due.all {
            inFlight.withLock { $0 += 1 }
            Task {
                await self.deliver(row)
                self.inFlight.withLock { $0 -= 1 }
            }
        }
    }

    /// One claimed delivery: posted, and its outcome recorded.
    private func deliver(_ row: Row) async {
        guard let tenantID = try? row.uuid("tenant_id"), let id = try? row.uuid("id"), let webhookID = try? row.uuid("webhook_id"),
            let event = try? row.string("event"), let payload = try? row.string("payload"), let attempts = try? row.int("attempts"), let url = try? row.string("url"),
            let sealed = try? row.bytes("sealed_secret")
        else { return }
        var status: Int?
        var failure: String?
        do {
            let secret = try AESGCM.open(sealed, key: masterKey, associatedData: Array(webhookID.lowercasedString.utf8))
            status = try await post(url: url, event: event, body: payload, secret: secret, deliveryID: id)
        } catch let failed as DeliveryFailure {
            failure = failed.rawValue
        } catch {
            failure = DeliveryFailure.internal.rawValue
        }
        let delivered = status.map { (200..<300).contains($0) } ?? false
        if !delivered, failure == nil, status != nil { failure = DeliveryFailure.httpStatus.rawValue }
        (delivered ? deliveredCount : failedCount).increment()
        let backoff = 1 << min(attempts - 1, 8)
        _ = try? await platform.query(
            """
            UPDATE webhook_deliveries SET
                status = CASE WHEN $3 THEN 'delivered' WHEN attempts >= $4 THEN 'failed' ELSE 'pending' END,
                delivered_at = CASE WHEN $3 THEN now() END,
                next_attempt_at = now() + $5::integer * interval '1 second',
                last_status = $6, last_error = $7
            WHERE tenant_id = $1 AND id = $2
            """, [tenantID, id, delivered, Self.maxAttempts, backoff, status, delivered ? nil : failure])
    }

    /// Why a delivery failed, as the delivery log shows it: a short category, never a library's
    /// message (which may describe our own network).
    enum DeliveryFailure: String, Error {
        case refusedTarget = "refused_target"
        case dnsFailure = "dns_failure"
        case connectFailed = "connect_failed"
        case timeout
        case tlsFailure = "tls_failure"
        case connectionClosed = "connection_closed"
        case httpStatus = "http_status"
        case `internal`
    }

    /// Posts one delivery to an address vetted just now, pinned for the connection (the name is
    /// still used for TLS and the Host header), without following redirects.
    /// - Returns: the HTTP status.
    private func post(url: String, event: String, body: String, secret: [UInt8], deliveryID: UUID) async throws -> Int {
        let target: WebhookTarget
        let addresses: [String]
        do {
            target = try WebhookTarget(parsing: url)
            addresses = try await targets.vet(target)
        } catch .unresolvable {
            throw DeliveryFailure.dnsFailure
        } catch {
            throw DeliveryFailure.refusedTarget
        }
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(10)))
        configuration.dnsOverride = [target.host: addresses[0]]
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        defer { Task { try? await client.shutdown() } }
        let timestamp = String(Int(Date().timeIntervalSince1970))
        let signature = HMACSHA256.authenticate(key: secret, message: Array((timestamp + "." + body).utf8))
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-Jarvis-Timestamp", value: timestamp)
        request.headers.add(name: "X-Jarvis-Signature", value: "v1=" + Hex.encode(signature))
        request.headers.add(name: "X-Jarvis-Delivery", value: deliveryID.lowercasedString)
        request.headers.add(name: "X-Jarvis-Event", value: event)
        request.body = .bytes(ByteBuffer(string: body))
        do {
            let response = try await client.execute(request, timeout: .seconds(15))
            return Int(response.status.code)
        } catch let error as HTTPClientError {
            switch error {
            case .connectTimeout, .readTimeout, .writeTimeout, .deadlineExceeded, .tlsHandshakeTimeout: throw DeliveryFailure.timeout
            case .remoteConnectionClosed: throw DeliveryFailure.connectionClosed
            default: throw DeliveryFailure.connectFailed
            }
        } catch {
            let name = String(describing: type(of: error))
            throw name.contains("SSL") || name.contains("TLS") ? DeliveryFailure.tlsFailure : DeliveryFailure.connectFailed
        }
    }
}
