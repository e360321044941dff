public import struct Foundation.UUID

/// The `idempotency_keys` table behind the `Idempotency-Key` header: reserve a key, record the
/// answer, or find the earlier one.
///
/// A reservation names the instance running the request (`InstanceLock`): while that instance
/// lives a retry hears "in progress"; once it is gone (crashed, killed) the retry takes the key over
/// at once. Reservations without an owner (written before owners existed) age out after a minute.
public struct IdempotencyKeys: Sendable {
    let app: Database
    let instance: InstanceLock

    public init(app: Database, instance: InstanceLock) {
        self.app = app
        self.instance = instance
    }

    /// How long an answer is kept, and how long an ownerless reservation may stay unfinished.
    static let retentionSeconds = 24 * 3600
    static let staleReservationSeconds = 60

    /// Forgets keys past `retentionSeconds` (a claim would take them over anyway), so the table
    /// holds about a day of requests rather than every one ever made.
    public static func expiry(platform: Database) -> ExpirySweep {
        ExpirySweep(table: "idempotency_keys", timeColumn: "created_at", keep: .seconds(retentionSeconds), platform: platform)
    }

    public enum Begin: Sendable {
        /// This request holds the key now and must run.
        case proceed
        case replay(status: Int, contentType: String?, location: String?, body: [UInt8])
        /// The key was used for a different request.
        case mismatch
        /// The first request with this key is still running.
        case inProgress
    }

    public func begin(tenantID: UUID, principalID: UUID, key: String, requestHash: [UInt8]) async throws -> Begin {
        // PostgreSQL ends a killed instance's session a moment after the process dies, not at the
        // same instant: a key whose owner still seems alive is asked again for up to half a second
        // before the request counts as running elsewhere.
        var attempts = 0
        while true {
            let outcome = try await claim(tenantID: tenantID, principalID: principalID, key: key, requestHash: requestHash)
            attempts += 1
            guard case .inProgress = outcome, attempts < 10 else { return outcome }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    private func claim(tenantID: UUID, principalID: UUID, key: String, requestHash: [UInt8]) async throws -> Begin {
        try await app.withTenant(tenantID) { tx in
            let claimed = try await tx.query(
                """
                INSERT INTO idempotency_keys (tenant_id, principal_id, key, request_hash, owner) VALUES ($1, $2, $3, $4, $7)
                ON CONFLICT (tenant_id, principal_id, key) DO UPDATE
                    SET request_hash = EXCLUDED.request_hash, status = NULL, content_type = NULL, location = NULL,
                        response_body = NULL, created_at = now(), completed_at = NULL, owner = EXCLUDED.owner
                    WHERE idempotency_keys.created_at < now() - make_interval(secs => $5)
                       OR (idempotency_keys.status IS NULL AND idempotency_keys.owner IS NULL
                           AND idempotency_keys.created_at < now() - make_interval(secs => $6))
                       -- The owner's lock is free only when the owner is gone; taking it (until commit) says so.
                       OR (idempotency_keys.status IS NULL AND idempotency_keys.owner IS NOT NULL
                           AND pg_try_advisory_xact_lock($8, idempotency_keys.owner))
                RETURNING 1
                """,
                [tenantID, principalID, key, ByteaValue(requestHash), Self.retentionSeconds, Self.staleReservationSeconds, instance.key,
                 InstanceLock.lockClass])
            if !claimed.isEmpty { return .proceed }
            guard let row = try await tx.query(
                """
                SELECT request_hash, status, content_type, location, response_body FROM idempotency_keys
                WHERE tenant_id = $1 AND principal_id = $2 AND key = $3
                """, [tenantID, principalID, key]).first
            else { return .inProgress }
            guard try row.bytes("request_hash") == requestHash else { return .mismatch }
            guard let status = try row.optionalInt("status") else { return .inProgress }
            let body = try row.text("response_body") == nil ? [] : try row.bytes("response_body")
            return .replay(
                status: status, contentType: try row.optionalString("content_type"), location: try row.optionalString("location"),
                body: body)
        }
    }

    /// Records the answer on its own, for a request whose work did not run in a `RequestTransaction`.
    public func complete(
        tenantID: UUID, principalID: UUID, key: String, status: Int, contentType: String?, location: String?, body: [UInt8]
    ) async throws {
        try await app.withTenant(tenantID) { tx in
            try await Self.complete(
                in: tx, tenantID: tenantID, principalID: principalID, key: key, status: status, contentType: contentType,
                location: location, body: body)
        }
    }

    /// Records the answer in the transaction that holds the request's work, so both commit together.
    public static func complete(
        in tx: Transaction, tenantID: UUID, principalID: UUID, key: String, status: Int, contentType: String?, location: String?,
        body: [UInt8]
    ) async throws {
        try await tx.query(
"SELECT set_config('app.tenant_id', $1::text, true)", [tenantID.lowercasedString])
        try await tx.query(
            """
            UPDATE idempotency_keys SET status = $4, content_type = $5, location = $6, response_body = $7, completed_at = now()
            WHERE tenant_id = $1 AND principal_id = $2 AND key = $3
            """, [tenantID, principalID, key, status, contentType, location, ByteaValue(body)])
    }

    /// A transaction for the request's work on this store's pool (see `RequestTransaction`).
    public func requestTransaction() -> RequestTransaction { RequestTransaction(for: app) }

    /// Frees the key after a failure the client may retry (5xx, a dropped connection).
    public func release(tenantID: UUID, principalID: UUID, key: String) async throws {
        try await app.withTenant(tenantID) { tx in
            try await tx.query(
                "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND principal_id = $2 AND key = $3 AND status IS NULL",
                [tenantID, principalID, key])
        }
    }
}
