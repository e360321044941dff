import Foundation
import HTTPTypes
import JarvisStore
import Testing

@testable import JarvisHTTP
@testable import JarvisReleases

/// The release registry, rollouts and flags: the documented bucket function, sticky and monotone
/// assignment, immutability, rollback, guards that abort a rollout by themselves, and bad input.
@Suite struct ReleaseTests {
    // MARK: Assignment

    /// The README's formula, with figures computed independently (Python's hashlib):
    /// `int.from_bytes(sha256(b"<id>:<subject>").digest()[:8], "big") % 10000`.
    @Test func theBucketIsTheDocumentedHash() {
        #expect(Bucket.of("0192f0c4-0000-7000-8000-000000000001", subject: "alice") == 8357)
        #expect(Bucket.of("0192f0c4-0000-7000-8000-000000000001", subject: "bob") == 7341)
        #expect(Bucket.of("flag", subject: "user-42") == 7421)
    }

    static func target(percent: Int, id: String) -> Resolver.Target {
        let stable = Resolver.Answer(body: [], etag: "s", version: "1.0.0", template: nil, variables: [])
        let candidate = Resolver.Answer(body: [], etag: "c", version: "2.0.0", template: nil, variables: [])
        return Resolver.Target(stable: stable, rollout: (id, percent * 100, candidate), retired: false)
    }

    static func onCandidate(_ percent: Int, id: String, subjects: [String]) throws -> Set<String> {
        let target = target(percent: percent, id: id)
        return Set(try subjects.filter { try Resolver.choose(target, subject: $0).version == "2.0.0" })
    }

    @Test func tenPercentOfAHundredThousandSubjectsAndRaisingOnlyAdds() throws {
        let id = UUIDv7.make().lowercasedString
        let subjects = (0..<100_000).map { "user-\($0)" }
        let ten = try Self.onCandidate(10, id: id, subjects: subjects)
        let fifty = try Self.onCandidate(50, id: id, subjects: subjects)
        let hundred = try Self.onCandidate(100, id: id, subjects: subjects)
        // Five standard deviations either way (95 subjects at 10 %, 158 at 50 %): the rollout id is
        // random, and ±500 at 50 % (3.2 σ) failed about once in 600 runs.
        #expect((9_500...10_500).contains(ten.count), "10% gave \(ten.count) of 100,000")
        #expect((49_200...50_800).contains(fifty.count), "50% gave \(fifty.count) of 100,000")
        #expect(hundred.count == 100_000)
        // Monotone: 10 → 50 → 100 never moves anyone off the candidate (and 50 → 10 never onto it).
        #expect(ten.isSubset(of: fifty))
        #expect(fifty.isSubset(of: hundred))
        #expect(try Self.onCandidate(0, id: id, subjects: subjects).isEmpty)
        // Sticky: asked again, the same answer; without a subject, stable.
        #expect(try Self.onCandidate(10, id: id, subjects: subjects) == ten)
        #expect(try Resolver.choose(Self.target(percent: 100, id: id), subject: nil).version == "1.0.0")
    }

    // MARK: Parts

    @Test func versionsAreThreeWholeNumbers() {
        #expect(Semver("1.4.0")?.description == "1.4.0")
        #expect(Semver("0.0.0") != nil)
        for bad in ["1.4", "01.2.3", "1.2.3-beta", "v1.2.3", "1.2.3.4", "", "1..3", "9999999999.0.0", " 1.2.3"] {
            #expect(Semver(bad) == nil, "\(bad) accepted")
        }
        #expect(Semver("1.10.0")! > Semver("1.9.9")!)
    }

    @Test func renderingRefusesMissingAndUndeclaredVariablesByName() throws {
        let declared = [
            PromptVariable(name: "name", type: .string, required: true, default: nil),
            PromptVariable(name: "count", type: .number, required: false, default: "3"),
        ]
        let template = PromptTemplate("Hi {{name}}, {{ count }} left")
        #expect(try template.render(["name": "Ann"], declared: declared) == "Hi Ann, 3 left")
        #expect(try template.render(["name": "Ann", "count": "7"], declared: declared) == "Hi Ann, 7 left")
        #expect(throws: ReleaseError.unprocessable("variables: 'name' is required")) { try template.render([:], declared: declared) }
        #expect(throws: ReleaseError.self) { try template.render(["name": "Ann", "colour": "red"], declared: declared) }
        do {
            _ = try template.render(["name": "Ann", "colour": "red"], declared: declared)
        } catch {
            #expect("\(error)".contains("colour"))
        }
        #expect(throws: ReleaseError.self) { try template.render(["name": "Ann", "count": "many"], declared: declared) }
        // A template naming a variable it does not declare is refused when the version is written.
        #expect(throws: ReleaseError.self) { try PromptTemplate.validate("{{who}}", variables: declared) }
    }

    @Test func theLineDiffKeepsCommonLines() {
        let diff = LineDiff.lines(from: "a\nb\nc", to: "a\nx\nc")
        #expect(diff.map(\.op) == ["=", "-", "+", "="])
        #expect(diff.map(\.text) == ["a", "b", "x", "c"])
    }

    // MARK: Through the API

    /// A prompt with versions 1.0.0 and 1.1.0 published and `production` on 1.0.0.
    static func seedPrompt(_ api: API, _ tenant: API.Seeded, name: String = "greet") async throws {
        let base = "/v1/tenants/\(tenant.slug)/prompts"
        try #require(try await api.post(base, ["name": name], key: tenant.adminKey).status == .created)
        for (version, template) in [("1.0.0", "Hello {{name}}!"), ("1.1.0", "Hi {{name}}!")] {
            let created = try await api.post(
                "\(base)/\(name)/versions",
                ["version": version, "template": template, "variables": [["name": "name", "type": "string", "required": true] as [String: any Sendable]]], key: tenant.adminKey)
            try #require(created.status == .created, "\(created.text)")
            let published = try await api.post("\(base)/\(name)/versions/\(version)/publish", [:], key: tenant.adminKey)
            try #require(published.status == .ok, "\(published.text)")
        }
        let label = try await api.request(.put, "\(base)/\(name)/labels/production", key: tenant.adminKey, body: API.encode(["version": "1.0.0"]))
        try #require(label.status == .ok, "\(label.text)")
    }

    @Test func aLabelMoveAndItsRollbackAreServedAtOnce() async throws {
        try await Fixture.withAPI { api in
            let tenant = try await api.seedTenant(prefix: "rel-label")
            try await Self.seedPrompt(api, tenant)
            let reader = try await api.principal(in: tenant, role: "viewer")
            let resolve = "/v1/resolve/prompts/greet?subject=ann"
            let first = try await api.get(resolve, key: reader.key)
            #expect(first["version"] == "1.0.0", "\(first.text)")
            let etag = try #require(first.headers[.eTag])
            let unchanged = try await api.request(.get, resolve, key: reader.key, headers: [.ifNoneMatch: etag])
            #expect(unchanged.status == .notModified)

            let moved = try await api.request(
                .put, "/v1/tenants/\(tenant.slug)/prompts/greet/labels/production", key: tenant.adminKey, body: API.encode(["version": "1.1.0"]))
            #expect(moved.status == .ok, "\(moved.text)")
            let after = try await api.request(.get, resolve, key: reader.key, headers: [.ifNoneMatch: etag])
            #expect(after.status == .ok)
            #expect(after["version"] == "1.1.0", "a moved label was served stale: \(after.text)")

            let back = try await api.post("/v1/tenants/\(tenant.slug)/prompts/greet/labels/production/rollback", [:], key: tenant.adminKey)
            #expect(back["version"] == "1.0.0", "\(back.text)")
            #expect(try await api.get(resolve, key: reader.key)["version"] == "1.0.0")
            // Read-your-writes on the committing instance, not "soon, once the NOTIFY is back":
            // every move is answered by the very next resolve.
            for round in 0..<10 {
                let version = round % 2 == 0 ? "1.1.0" : "1.0.0"
                let label = "/v1/tenants/\(tenant.slug)/prompts/greet/labels/production"
                #expect(try await api.request(.put, label, key: tenant.adminKey, body: API.encode(["version": version])).status == .ok)
                #expect(try await api.get(resolve, key: reader.key)["version"] == version, "round \(round)")
            }
            let history = try await api.get("/v1/tenants/\(tenant.slug)/prompts/greet/labels/production/history", key: tenant.adminKey)
            #expect(history.items.compactMap { $0["reason"] as? String } == Array(repeating: "move", count: 10) + ["rollback", "move", "move"])
            let audit = try await api.get("/v1/tenants/\(tenant.slug)/audit-events?action=label.rollback", key: tenant.adminKey)
            #expect(audit.items.count == 1, "\(audit.text)")
        }
    }

    @Test func aPublishedVersionCannotChangeThroughTheAPIOrTheDatabase() async throws {
        let tenant = try await Fixture.withAPI { api in
            let tenant = try await api.seedTenant(prefix: "rel-immutable")
            try await Self.seedPrompt(api, tenant)
            let patch = try await api.patch(
                "/v1/tenants/\(tenant.slug)/prompts/greet/versions/1.0.0", ["template": "changed {{name}}"], key: tenant.adminKey)
            patch.expectProblem(.conflict)
            return tenant
        }
        let tenantID = try #require(UUID(uuidString: tenant.tenantID))
        await #expect(throws: (any Error).self) {
            try await Fixture.platform.withTenant(tenantID) { tx in
                _ = try await tx.query("UPDATE prompt_versions SET template = 'forged' WHERE version = '1.0.0'")
            }
        }
        await #expect(throws: (any Error).self) {
            try await Fixture.platform.withTenant(tenantID) { tx in
                _ = try await tx.query("DELETE FROM prompt_versions WHERE version = '1.0.0'")
            }
        }
        let template = try await Fixture.platform.withTenant(tenantID) { tx in
            try await tx.query("SELECT template FROM prompt_versions WHERE version = '1.0.0'").first?.string("template")
        }
        #expect(template == "Hello {{name}}!")
    }

    @Test func badInputIsRefusedAndNothingIsHalfWritten() async throws {
        try await Fixture.withAPI { api in
            let tenant = try await api.seedTenant(prefix: "rel-bad")
            try await Self.seedPrompt(api, tenant)
            let prompts = "/v1/tenants/\(tenant.slug)/prompts/greet"
            for bad in ["1.2", "01.0.0", "1.0.0-rc1", "latest"] {
                let created = try await api.post("\(prompts)/versions", ["version": bad, "template": "x"], key: tenant.adminKey)
                created.expectProblem(.badRequest)
            }
            // A template using a variable it does not declare, and a render naming an unknown one.
            try await api.post("\(prompts)/versions", ["version": "2.0.0", "template": "{{who}}"], key: tenant.adminKey)
                .expectProblem(.badRequest)
            try await api.post("\(prompts)/versions/1.0.0/render", ["variables": ["name": "a", "nmae": "b"]], key: tenant.adminKey)
                .expectProblem(.unprocessableContent, code: "unprocessable-variables")
            #expect(try await api.get("\(prompts)/versions", key: tenant.adminKey).items.count == 2)
            // A label named like a version number.
            try await api.request(.put, "\(prompts)/labels/2", key: tenant.adminKey, body: API.encode(["version": "1.0.0"]))
                .expectProblem(.badRequest)
            try await api.request(.put, "\(prompts)/labels/1.0.0", key: tenant.adminKey, body: API.encode(["version": "1.0.0"]))
                .expectProblem(.badRequest)
            #expect(try await api.get("\(prompts)/labels", key: tenant.adminKey).items.count == 1)
            // Percentages outside 0-100, and steps that go down.
            let rollouts = "/v1/tenants/\(tenant.slug)/rollouts"
            for steps in [[["percent": 150]], [["percent": -1]], [["percent": 50], ["percent": 20]], [[String: Int]]()] {
                try await api.post(
                    rollouts, ["kind": "prompt", "name": "greet", "label": "production", "candidate_version": "1.1.0", "steps": steps],
                    key: tenant.adminKey
                ).expectProblem(.badRequest)
            }
            // A rollout to a retired model version.
            let models = "/v1/tenants/\(tenant.slug)/models"
            try #require(try await api.post(models, ["name": "chat", "provider": "acme"], key: tenant.adminKey).status == .created)
            for version in ["1.0.0", "2.0.0"] {
                let created = try await api.post("\(models)/chat/versions", ["version": version, "provider_model_id": "acme-\(version)"], key: tenant.adminKey)
                try #require(created.status == .created, "\(created.text)")
            }
            try #require(
                try await api.request(.put, "\(models)/chat/labels/production", key: tenant.adminKey, body: API.encode(["version": "1.0.0"])).status == .ok)
            #expect(try await api.patch("\(models)/chat/versions/2.0.0", ["lifecycle": "retired"], key: tenant.adminKey).status == .ok)
            let retired = try await api.post(
                rollouts, ["kind": "model", "name": "chat", "label": "production", "candidate_version": "2.0.0"], key: tenant.adminKey)
            #expect(retired.status.code >= 400 && retired.status.code < 500, "\(retired.text)")
            retired.expectProblem(retired.status)
            try await api.request(.put, "\(models)/chat/labels/staging", key: tenant.adminKey, body: API.encode(["version": "2.0.0"]))
                .expectProblem(.conflict)
            #expect(try await api.get(rollouts, key: tenant.adminKey).items.isEmpty)
        }
    }

    @Test func permissionsFollowTheBuiltInRoles() async throws {
        try await Fixture.withAPI { api in
            let tenant = try await api.seedTenant(prefix: "rel-roles")
            try await Self.seedPrompt(api, tenant)
            let developer = try await api.principal(in: tenant, role: "developer")
            let viewer = try await api.principal(in: tenant, role: "viewer")
            let prompts = "/v1/tenants/\(tenant.slug)/prompts/greet"
            // Developers draft; publishing and labels are the operators'.
            #expect(try await api.post("\(prompts)/versions", ["version": "3.0.0", "template": "x"], key: developer.key).status == .created)
            try await api.post("\(prompts)/versions/3.0.0/publish", [:], key: developer.key).expectProblem(.forbidden)
            try await api.post("\(prompts)/versions", ["version": "3.0.1", "template": "x"], key: viewer.key).expectProblem(.forbidden)
            #expect(try await api.get("\(prompts)/versions", key: viewer.key).status == .ok)
        }
    }

    @Test func aBreachedGuardAbortsTheRolloutWithoutAPerson() async throws {
        try await Fixture.withAPI { api in
            let tenant = try await api.seedTenant(prefix: "rel-guard")
            try await Self.seedPrompt(api, tenant)
            let started = try await api.post(
                "/v1/tenants/\(tenant.slug)/rollouts",
                [
                    "kind": "prompt", "name": "greet", "label": "production", "candidate_version": "1.1.0", "steps": [["percent": 50]],
                    "guards": ["max_error_rate_increase": 5, "min_sample_size": 20],
                ], key: tenant.adminKey)
            try #require(started.status == .created, "\(started.text)")
            let id = try #require(started["id"])
            // The stable version succeeds; the candidate fails half of its requests.
            var events: [[String: any Sendable]] = []
            for n in 0..<40 {
                events.append([
                    "idempotency_key": "guard-\(n)", "model": "m", "prompt": "greet", "prompt_version": n % 2 == 0 ? "1.0.0" : "1.1.0",
                    "input_tokens": 10, "output_tokens": 10, "latency_ms": 100, "status": n % 4 == 1 ? "error" : "success",
                ])
            }
            let usage = try await api.post("/v1/usage", ["events": events], key: tenant.adminKey)
            try #require(usage.status == .ok || usage.status == .accepted, "\(usage.text)")
            // The supervisor looks every second; nobody calls anything.
            var state = ""
            for _ in 0..<100 where state != "aborted" {
                try await Task.sleep(for: .milliseconds(100))
                state = try await api.get("/v1/tenants/\(tenant.slug)/rollouts/\(id)", key: tenant.adminKey)["state"] ?? ""
            }
            #expect(state == "aborted")
            let reader = try await api.principal(in: tenant, role: "viewer")
            for n in 0..<50 {
                #expect(try await api.get("/v1/resolve/prompts/greet?subject=s\(n)", key: reader.key)["version"] == "1.0.0")
            }
            let audit = try await api.get("/v1/tenants/\(tenant.slug)/audit-events?action=rollout.abort", key: tenant.adminKey)
            let details = try #require(audit.items.first?["details"] as? [String: any Sendable], "\(audit.text)")
            #expect(details["candidate_error_rate"] as? String == "50.00", "\(details)")
            #expect(audit.items.first?["actor_kind"] as? String == "system")
            let analysis = try await api.get("/v1/tenants/\(tenant.slug)/rollouts/\(id)/analysis", key: tenant.adminKey)
            #expect((analysis.json["candidate"] as? [String: any Sendable])?["requests"] as? Int == 20, "\(analysis.text)")
        }
    }

    @Test func flagsFollowTheirRulesInOrderAndTheKillSwitch() async throws {
        try await Fixture.withAPI { api in
            let tenant = try await api.seedTenant(prefix: "rel-flags")
            let reader = try await api.principal(in: tenant, role: "viewer")
            let flags = "/v1/tenants/\(tenant.slug)/flags"
            let created = try await api.post(
                flags,
                [
                    "key": "theme", "kind": "variant", "variants": ["light", "dark", "blue"], "default": "light",
                    "rules": [
                        ["principals": [reader.id], "value": "blue"] as [String: any Sendable],
                        ["attributes": ["plan": ["enterprise"]], "value": "dark"] as [String: any Sendable],
                    ],
                ], key: tenant.adminKey)
            try #require(created.status == .created, "\(created.text)")
            func value(_ body: [String: any Sendable], key: String) async throws -> String? {
                let answer = try await api.post("/v1/resolve/flags", body, key: key)
                return ((answer.json["flags"] as? [String: any Sendable])?["theme"] as? [String: any Sendable])?["value"] as? String
            }
            #expect(try await value([:], key: reader.key) == "blue")
            #expect(try await value(["subject": "x", "principal_id": UUIDv7.make().lowercasedString, "attributes": ["plan": "enterprise"]], key: reader.key) == "dark")
            #expect(try await value(["subject": "x", "principal_id": UUIDv7.make().lowercasedString], key: reader.key) == "light")
            // A flag whose default is not one of its values is refused.
            try await api.post(flags, ["key": "broken", "kind": "boolean", "default": "maybe"], key: tenant.adminKey).expectProblem(.badRequest)
            // The kill switch holds from the next request on this instance, every time.
            for round in 0..<10 {
                let enabled = round % 2 == 1
                #expect(try await api.patch("\(flags)/theme", ["enabled": enabled], key: tenant.adminKey).status == .ok)
                #expect(try await value([:], key: reader.key) == (enabled ? "blue" : "light"), "round \(round)")
            }
            try await api.post("/v1/resolve/flags", ["subject": 5], key: reader.key).expectProblem(.badRequest)
        }
    }
}
