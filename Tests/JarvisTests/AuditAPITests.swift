import Foundation
import JarvisHTTP
import JarvisQuota
import HTTPTypes
import JarvisStore
import Testing

@Suite struct AuditAPITests {
    static func count(_ sql: String, _ parameters: [any SQLBindable]) async throws -> Int {
        try #require(try await Fixture.platform.query(sql, parameters).first?.int("n"))
    }

    @Test func aSuccessfulMutationLeavesExactlyOneEventAndAFailedOneNone() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "once")
            let created = try await api.post("/v1/tenants/\(t.slug)/users", ["email": "once@example.com"], key: t.adminKey)
            let id = try #require(created["id"])
            #expect(try await Self.count("SELECT count(*) AS n FROM audit_events WHERE target_id = $1", [id]) == 1)

            let eventsBefore = try await Self.count("SELECT count(*) AS n FROM audit_events WHERE tenant_id = $1", [t.tenantID])
            let usersBefore = try await Self.count("SELECT count(*) AS n FROM principals WHERE tenant_id = $1", [t.tenantID])
            try await api.post("/v1/tenants/\(t.slug)/users", ["email": "ONCE@example.com"], key: t.adminKey).expectProblem(.conflict)
            #expect(try await Self.count("SELECT count(*) AS n FROM audit_events WHERE tenant_id = $1", [t.tenantID]) == eventsBefore)
            #expect(try await Self.count("SELECT count(*) AS n FROM principals WHERE tenant_id = $1", [t.tenantID]) == usersBefore)
        }
    }

    @Test func eventsRecordActorRequestAndTargetAndFilter() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "filt")
            let response = try await api.request(
                .post, "/v1/tenants/\(t.slug)/service-accounts", key: t.adminKey, body: #"{"name":"worker"}"#,
                headers: [.init("X-Request-Id")!: "trace-123"])
            let id = try #require(response["id"])
            let events = try await api.get("/v1/tenants/\(t.slug)/audit-events?action=service_account.create&actor_id=\(t.adminID)", key: t.adminKey)
            let event = try #require(events.items.first)
            #expect(events.items.count == 1)
            #expect(event["target_id"] as? String == id)
            #expect(event["target_type"] as? String == "service_account")
            #expect(event["actor_id"] as? String == t.adminID)
            #expect(event["actor_kind"] as? String == "service_account")
            #expect(event["request_id"] as? String == "trace-123")
            #expect(event["outcome"] as? String == "success")
            #expect(event["tenant_id"] as? String == t.tenantID)

            let future = Timestamp.format(Date().addingTimeInterval(3600))
            #expect(try await api.get("/v1/tenants/\(t.slug)/audit-events?since=\(future)", key: t.adminKey).items.isEmpty)
            let all = try await api.get("/v1/tenants/\(t.slug)/audit-events?until=\(future)", key: t.adminKey).items
            #expect(all.count >= 5)
            let ids = all.compactMap { $0["id"] as? String }
            #expect(ids == ids.sorted(by: >), "newest first")
            try await api.get("/v1/tenants/\(t.slug)/audit-events?since=yesterday", key: t.adminKey).expectProblem(.badRequest)
            try await api.get("/v1/tenants/\(t.slug)/audit-events?actor_id=me", key: t.adminKey).expectProblem(.badRequest)

            // By target, by text in the details, by category and outcome.
            let base = "/v1/tenants/\(t.slug)/audit-events"
            let byTarget = try await api.get("\(base)?target_type=service_account&target_id=\(id)", key: t.adminKey).items
            #expect(byTarget.count == 1 && byTarget.first?["id"] as? String == event["id"] as? String)
            #expect(try await api.get("\(base)?q=WORKER", key: t.adminKey).items.contains { $0["id"] as? String == event["id"] as? String })
            #expect(try await api.get("\(base)?q=nobody-called-this", key: t.adminKey).items.isEmpty)
            _ = try await api.get("/v1/tenants/\(t.slug)/roles", key: try await api.principal(in: t, role: nil).key)
            // Refusals are written by the security-event writer, shortly after.
            var denied: [[String: any Sendable]] = []
            for _ in 0..<50 where denied.isEmpty {
                denied = try await api.get("\(base)?category=security&outcome=denied", key: t.adminKey).items
                if denied.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(!denied.isEmpty && denied.allSatisfy { $0["action"] as? String == "access.denied" }, "\(denied)")
            #expect(try await api.get("\(base)?category=operation", key: t.adminKey).items.allSatisfy {
                let action = $0["action"] as? String ?? ""
                return !(action.hasPrefix("auth.") || action.hasPrefix("access.") || action.hasPrefix("api."))
            })
            try await api.get("\(base)?category=everything", key: t.adminKey).expectProblem(.badRequest)
            try await api.get("\(base)?outcome=maybe", key: t.adminKey).expectProblem(.badRequest)
        }
    }

    @Test func auditPagesDoNotOverlap() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "apage")
            for i in 0..<5 { _ = try await api.post("/v1/tenants/\(t.slug)/service-accounts", ["name": "sa\(i)"], key: t.adminKey) }
            var ids: [String] = []
            var cursor: String?
            repeat {
                // The operation events: the reads of these pages add access events as the test goes.
                let page = try await api.get("/v1/tenants/\(t.slug)/audit-events?category=operation&limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""), key: t.adminKey)
                ids += page.items.compactMap { $0["id"] as? String }
                cursor = page["next_cursor"]
            } while cursor != nil
            #expect(ids.count == Set(ids).count)
            #expect(ids.count == (try await Self.count(
                "SELECT count(*) AS n FROM audit_events WHERE tenant_id = $1 AND action NOT LIKE 'auth.%' AND action NOT LIKE 'access.%' AND action NOT LIKE 'api.%'",
                [t.tenantID])))
        }
    }

    @Test func theComplianceReportGathersChangesFailuresAndRefusals() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "compl")
            let base = "/v1/tenants/\(t.slug)"
            #expect(try await api.post("\(base)/roles", ["name": "auditor", "permissions": ["audit:read"]], key: t.adminKey).status == .created)
            let (_, viewer) = try await api.principal(in: t, role: "viewer")
            _ = try await api.get("\(base)/audit-events", key: viewer)
            let user = try await api.post("\(base)/users", ["email": "someone@\(t.slug).example"], key: t.adminKey)
            let userID = try #require(user["id"])
            _ = try await api.request(.put, "\(base)/users/\(userID)/password", key: t.adminKey, body: API.encode(["password": "correct horse battery staple 1"]))
            _ = try await api.postAnonymous("/v1/auth/login", ["tenant": t.slug, "email": "someone@\(t.slug).example", "password": "wrong password 123"])
            // Refusals and failed logins arrive through the security-event writer, shortly after.
            var report = APIResponse(status: .ok, headers: [:], text: "{}")
            func count(_ name: String) -> Int {
                ((report.json["sections"] as? [[String: any Sendable]]) ?? []).first { $0["name"] as? String == name }?["count"] as? Int ?? 0
            }
            for _ in 0..<50 {
                report = try await api.get("\(base)/audit/report", key: t.adminKey)
                if count("denied_access") > 0 && count("failed_logins") > 0 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(report.status == .ok, "\(report.text)")
            #expect(count("role_changes") >= 2 && count("key_changes") >= 2 && count("denied_access") >= 1 && count("failed_logins") == 1, "\(report.text)")
            #expect((report.json["chain"] as? [String: any Sendable])?["intact"] as? Bool == true, "\(report.text)")
            let csv = try await api.get("\(base)/audit/report?format=csv", key: t.adminKey)
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true)
            let rows = csv.text.split(separator: "\r\n")
            #expect(rows.first == "section,occurred_at,action,outcome,actor_kind,actor_id,target_type,target_id,request_id,client_ip,details")
            #expect(rows.contains { $0.hasPrefix("role_changes,") && $0.contains("role.create") }, "\(csv.text)")
            try await api.get("\(base)/audit/report?format=pdf", key: t.adminKey).expectProblem(.badRequest)
            try await api.get("\(base)/audit/report", key: viewer).expectProblem(.forbidden)
        }
    }

    @Test func lockoutsAndBurstsOfRefusalsPostSecurityAlertsOnce() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "secal")
            let base = "/v1/tenants/\(t.slug)"
            let hook = try await api.post("\(base)/webhooks", ["url": "http://93.184.216.34/hook"], key: t.adminKey)
            let hookID = try #require(hook["id"], "\(hook.text)")
            // Ten refusals for one principal within a minute, and five failed logins (a lockout).
            let (viewerID, viewer) = try await api.principal(in: t, role: "viewer")
            for _ in 0..<10 { _ = try await api.get("\(base)/audit-events", key: viewer) }
            for _ in 0..<5 {
                _ = try await api.postAnonymous("/v1/auth/login", ["tenant": t.slug, "email": "ghost@\(t.slug).example", "password": "wrong password 123"])
            }
            let jarvis = try await Fixture.jarvis()
            var alerts: [[String: any Sendable]] = []
            for _ in 0..<50 {
                try await jarvis.securityAlerts.pass()
                alerts = try await api.get("\(base)/webhooks/\(hookID)/deliveries", key: t.adminKey).items.filter { $0["event"] as? String == "security.alert" }
                if alerts.count >= 2 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(alerts.count == 2, "\(alerts)")
            // Once each, however many passes run.
            try await jarvis.securityAlerts.pass()
            let again = try await api.get("\(base)/webhooks/\(hookID)/deliveries", key: t.adminKey).items.filter { $0["event"] as? String == "security.alert" }
            #expect(again.count == 2)
            let audited = try await api.get("\(base)/audit-events?action=security.alert", key: t.adminKey).items
            #expect(Set(audited.compactMap { $0["target_id"] as? String }) == ["lockout", "denial_burst"], "\(audited)")
            #expect(audited.contains { ($0["details"] as? [String: any Sendable])?["subject"] as? String == viewerID })
        }
    }
}
