import Foundation
import HTTPTypes
import JarvisQuota
import JarvisStore
import Testing

/// Webhooks reach the public internet only: checked when added and again before every delivery.
/// (These tests run without `JARVIS_WEBHOOK_ALLOW_LOOPBACK`, as production does; a target stored
/// behind the server's back points at the cloud metadata address, which no setting allows.)
@Suite struct WebhookTargetTests {
    @Test(arguments: [
        "http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.1.2.3/", "http://172.20.0.1/", "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data", "http://[::1]/", "http://0x7f000001/", "http://2130706433/", "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/", "http://[fd00::1]/", "http://100.64.0.1/", "http://0.0.0.0/", "http://224.0.0.1/",
        "http://user:pass@93.184.216.34/", "ftp://93.184.216.34/", "http://", "not a url", "http://93.184.216.34/a b",
        "http://no-such-host.invalid/",
    ])
    func privateAndMalformedTargetsAreRefused(url: String) async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "ssrf")
            let refused = try await api.post("/v1/tenants/\(t.slug)/webhooks", ["url": url], key: t.adminKey)
            refused.expectProblem(.badRequest, code: "invalid-input")
            #expect(refused["detail"]?.hasPrefix("url:") == true, "\(refused.text)")
        }
    }

    @Test func aPublicAddressIsAccepted() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "pub")
            let created = try await api.post("/v1/tenants/\(t.slug)/webhooks", ["url": "https://93.184.216.34:8443/jarvis"], key: t.adminKey)
            #expect(created.status == .created, "\(created.text)")
        }
    }

    /// A target that was public when added and is not now (DNS rebinding, or a row written some other
    /// way) is refused at delivery, and the log says so in one word, not with a library's message.
    @Test func aTargetIsCheckedAgainAtDelivery() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "rebind")
            let created = try await api.post("/v1/tenants/\(t.slug)/webhooks", ["url": "http://93.184.216.34/jarvis"], key: t.adminKey)
            let hook = try #require(created["id"])
            let tenantID = try #require(UUID(uuidString: t.tenantID))
            // The name now points inside: here, the stored URL itself is changed under the server.
            let owner = Fixture.database("JARVIS_OWNER_DATABASE_URL", poolSize: 1)
            defer { Task { await owner.pool.shutdown() } }
            try await owner.withTenant(tenantID) { tx in
                try await tx.query("UPDATE webhooks SET url = 'http://169.254.169.254/latest/meta-data' WHERE tenant_id = $1", [tenantID])
            }
            try await Fixture.platform.withTransaction { tx in
                try await tx.query("SELECT set_config('app.tenant_id', $1, true)", [tenantID.lowercasedString])
                try await tx.query(
                    "INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event, payload) VALUES ($1, $2, $3, 'quota.warning', '{}')",
                    [tenantID, UUIDv7.make(), UUID(uuidString: hook)!])
            }
            var log: [[String: any Sendable]] = []
            // An attempt is counted when claimed, its outcome written after: wait for the outcome.
            for _ in 0..<50 where log.first?["last_error"] == nil {
                try await Task.sleep(for: .milliseconds(100))
                log = try await api.get("/v1/tenants/\(t.slug)/webhooks/\(hook)/deliveries", key: t.adminKey).items
            }
            #expect(log.first?["last_error"] as? String == "refused_target", "\(log)")
        }
    }

    @Test func theDeliveryLogOfAnUnknownOrForeignWebhookIs404() async throws {
        try await Fixture.withAPI { api in
            let a = try await api.seedTenant(prefix: "dl-a")
            let b = try await api.seedTenant(prefix: "dl-b")
            let hook = try #require(try await api.post("/v1/tenants/\(b.slug)/webhooks", ["url": "http://93.184.216.34/"], key: b.adminKey)["id"])
            try await api.get("/v1/tenants/\(a.slug)/webhooks/\(hook)/deliveries", key: a.adminKey).expectProblem(.notFound)
            try await api.get("/v1/tenants/\(a.slug)/webhooks/\(UUID().uuidString)/deliveries", key: a.adminKey).expectProblem(.notFound)
            #expect(try await api.get("/v1/tenants/\(b.slug)/webhooks/\(hook)/deliveries", key: b.adminKey).status == .ok)
        }
    }
}
