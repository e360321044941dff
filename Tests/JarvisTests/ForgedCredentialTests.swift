import Foundation
import HTTPTypes
import JarvisCache
import JarvisHTTP
import JarvisCrypto
import JarvisStore
import Logging
import Testing

@testable import JarvisIdentity

/// What a flood of garbage credentials costs: keys that were never issued are refused before any
/// lookup (their tag does not match, or no legacy key has their id); a refusal from a lookup is
/// remembered until its tenant changes.
@Suite struct ForgedCredentialTests {
    /// An authenticator whose database cannot be reached: whatever it answers without an error of
    /// the store was answered without a lookup.
    static func unreachable(legacy: LegacyKeyIDs? = nil) -> Authenticator {
        let nowhere = Database(
            name: "nowhere", configuration: DatabaseConfiguration(
                connectionString: "postgresql://nobody@127.0.0.1:1/nothing", poolSize: 1, acquireTimeoutMilliseconds: 2_000,
                connectTimeoutSeconds: 1),
            logger: Logger(label: "nowhere"))
        return Authenticator(
            platform: nowhere, pepper: Fixture.pepper, lastUsed: LastUsedRecorder(platform: nowhere, logger: Logger(label: "nowhere")),
            tokens: nil, legacyKeys: legacy)
    }

    @Test func aKeyIsTaggedAndAnyChangeToItIsRefusedWithoutALookup() async throws {
        let key = APIKeyToken.generateKey(pepper: Fixture.pepper)
        #expect(key.text.utf8.count == 70 && key.hasValidTag(tagKey: APIKeyToken.tagKey(pepper: Fixture.pepper)))
        #expect(APIKeyToken(parsing: key.text) == key)
        #expect(!key.hasValidTag(tagKey: APIKeyToken.tagKey(pepper: Array("another pepper of at least thirty-two bytes".utf8))))
        let authenticator = Self.unreachable()
        // The genuine tag gets as far as the lookup (here: the store's error).
        await #expect(throws: StoreError.self) { _ = try await authenticator.authenticate(credential: key.text) }
        // Any other tag, a changed secret or id under the old tag: refused, no lookup.
        var text = Array(key.text)
        text[text.count - 1] = text[text.count - 1] == "A" ? "B" : "A"
        text[10] = text[10] == "A" ? "B" : "A"
        for forged in [String(text), String(key.text.dropLast(6)) + "000000", key.text.replacingOccurrences(of: key.secret, with: String(key.secret.reversed()))] {
            await #expect(throws: AuthenticationError.invalidCredential) { _ = try await authenticator.authenticate(credential: forged) }
        }
        for _ in 0..<200 {
            let random = APIKeyToken.generate().text + Base62.random(length: 6)
            await #expect(throws: AuthenticationError.invalidCredential) { _ = try await authenticator.authenticate(credential: random) }
        }
    }

    @Test func untaggedKeysIssuedBeforeTagsStayValidAndOthersAreRefused() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "legacy-key")
            let tenantID = try #require(UUID(uuidString: t.tenantID))
            let principalID = try #require(UUID(uuidString: t.adminID))
            // A key as they were issued before tags: 64 characters, stored untagged.
            let legacy = APIKeyToken.generate()
            #expect(legacy.text.utf8.count == 64)
            try await Fixture.app.withTenant(tenantID) { tx in
                try await tx.query(
                    "INSERT INTO api_keys (tenant_id, id, key_id, principal_id, name, secret_hash) VALUES ($1, $2, $3, $4, 'legacy', $5)",
                    [tenantID, UUIDv7.make(), legacy.keyID, principalID, ByteaValue(legacy.secretHash(pepper: Fixture.pepper))])
            }
            let jarvis = try await Fixture.jarvis()
            try await jarvis.legacyKeys.reload()
            #expect(try await api.get("/v1/me", key: legacy.text).status == .ok)

            // Without a lookup: an untagged key whose id no legacy key has is refused; a legacy id gets looked up.
            let authenticator = Self.unreachable(legacy: jarvis.legacyKeys)
            await #expect(throws: AuthenticationError.invalidCredential) {
                _ = try await authenticator.authenticate(credential: APIKeyToken.generate().text)
            }
            await #expect(throws: StoreError.self) { _ = try await authenticator.authenticate(credential: legacy.text) }
            // Until the set is first read, untagged keys are looked up as before.
            let unread = Self.unreachable(legacy: LegacyKeyIDs(platform: Fixture.platform))
            await #expect(throws: StoreError.self) { _ = try await unread.authenticate(credential: APIKeyToken.generate().text) }
        }
    }

    @Test func aRefusalIsRememberedUntilItsTenantChanges() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "refusal")
            let (id, key) = try await api.principal(in: t, role: "viewer")
            let jarvis = try await Fixture.jarvis()
            let (high, low) = SHA256.prefix128(key)
            let cacheKey = CredentialCache.Key(high: high, low: low)
            _ = try await api.patch("/v1/tenants/\(t.slug)/service-accounts/\(id)", ["status": "disabled"], key: t.adminKey)
            // The change's own notification comes back from PostgreSQL a moment after the commit
            // and drops what the tenant had kept until then: ask until a refusal outlives it.
            var kept = false
            for _ in 0..<100 where !kept {
                try await api.get("/v1/me", key: key).expectProblem(.unauthorized)
                kept = jarvis.credentials.refusal(cacheKey) != nil
                if !kept { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(kept, "the refusal should be kept")
            try await api.get("/v1/me", key: key).expectProblem(.unauthorized)
            // Enabled again: the tenant's change drops the refusal, the key works at once.
            _ = try await api.patch("/v1/tenants/\(t.slug)/service-accounts/\(id)", ["status": "active"], key: t.adminKey)
            #expect(jarvis.credentials.refusal(cacheKey) == nil)
            #expect(try await api.get("/v1/me", key: key).status == .ok)
        }
    }
}
