import Foundation
import HTTPTypes
import JarvisHTTP
import JarvisIdentity
import Testing

/// Rotation under use, with tokens that live two seconds so retirement comes quickly.
@Suite(.serialized) struct KeyRotationTests {
    static func kids(_ api: API) async throws -> Set<String> {
        let jwks = try await api.request(.get, "/.well-known/jwks.json", key: nil)
        return Set((jwks.json["keys"] as? [[String: Any]] ?? []).compactMap { $0["kid"] as? String })
    }

    @Test func tokensOfARotatedKeyWorkUntilExpiryAndFailAfterRetirement() async throws {
        try await Fixture.signingKeys.run { try await Self.rotateUnderUse() }
    }

    private static func rotateUnderUse() async throws {
        try await Fixture.withCustomAPI({ $0.accessTokenTTL = 2; $0.leeway = 0; $0.rotationGrace = 0 }) { api, jarvis in
            let t = try await api.seedTenant(prefix: "rot")
            let (id, secret) = ClientCredentialsTests.parts(t.adminKey)
            let form = "grant_type=client_credentials&client_id=\(id)&client_secret=\(secret)"
            let before = try #require(try await ClientCredentialsTests.token(api, form: form)["access_token"])
            let oldKid = try #require(before.split(separator: ".").first.flatMap(Base64URLTestDecode)?["kid"] as? String)
            #expect(try await Self.kids(api).contains(oldKid))

            let rotated = try await api.request(.post, "/v1/platform/signing-keys/rotate", key: api.adminKey)
            #expect(rotated.status == .created, "\(rotated.text)")
            let newKid = try #require(rotated["kid"])

            // Both keys published; the old token still works, new tokens use the new key.
            #expect(try await Self.kids(api).isSuperset(of: [oldKid, newKid]))
            #expect(try await api.get("/v1/me", key: before).status == .ok)
            let after = try #require(try await ClientCredentialsTests.token(api, form: form)["access_token"])
            #expect(after.split(separator: ".").first.flatMap(Base64URLTestDecode)?["kid"] as? String == newKid)

            // Past the old key's window it is retired: its token fails, the JWKS drops it.
            // The window is the TTL (2 s) plus one key reload (1 s in the tests).
            try await Task.sleep(for: .milliseconds(3600))
            try await jarvis.signingKeys.reload()
            try await api.get("/v1/me", key: before).expectProblem(.unauthorized)
            let kids = try await Self.kids(api)
            #expect(!kids.contains(oldKid) && kids.contains(newKid))
            let list = try await api.get("/v1/platform/signing-keys")
            #expect(list.items.contains { ($0["kid"] as? String) == oldKid && ($0["status"] as? String) == "retired" })
        }
    }

    @Test func anImportedKeySignsAndOnlySuperAdminsManageKeys() async throws {
        try await Fixture.signingKeys.run { try await Self.importAndSign() }
    }

    private static func importAndSign() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "imp")
            try await api.request(.post, "/v1/platform/signing-keys/rotate", key: t.adminKey).expectProblem(.forbidden)
            try await api.get("/v1/platform/signing-keys", key: t.adminKey).expectProblem(.forbidden)
            try await api.post("/v1/platform/signing-keys", ["algorithm": "EdDSA", "private_key": "too-short"]).expectProblem(.badRequest)
            try await api.post("/v1/platform/signing-keys", ["algorithm": "RS256", "private_key": "AAAA"]).expectProblem(.badRequest)
        }
    }
}
