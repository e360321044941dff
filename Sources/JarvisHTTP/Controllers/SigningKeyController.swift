internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisCrypto
internal import JarvisIdentity
internal import JarvisStore

/// `/.well-known/jwks.json` (public) and `/v1/platform/signing-keys` (super admins: list, rotate, import).
struct SigningKeyController {
    let identity: IdentityServices

    func addPublicRoutes(to router: RecordingRouter) {
        router.get(".well-known/jwks.json", use: jwks)
    }

    func addPlatformRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get(use: list)
        group.post("rotate", use: rotate)
        group.post(use: importKey)
    }

    struct JWK: Encodable {
        let kty = "OKP"
        let crv = "Ed25519"
        let x: String
        let kid: String
        let alg = "EdDSA"
        let use = "sig"
    }

    struct JWKS: Encodable { let keys: [JWK] }

    /// The public keys that verify tokens now. Short caching keeps rotations visible quickly.
    @Sendable func jwks(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let keys = identity.ring.publishedKeys().compactMap { key in
            key.publicKey.map { JWK(x: Base64URL.encode($0), kid: key.kid) }
        }
        var response = try OAuthController.json(.ok, JWKS(keys: keys))
        response.headers[.cacheControl] = "public, max-age=60"
        return response
    }

    struct KeyBody: ResponseEncodable, Sendable {
        let kid: String
        let algorithm: String
        let status: String
        let origin: String
        let createdAt: Date
        let verifyUntil: Date?
    }

    struct Rotate: RequestBody {
        let algorithm: JWTAlgorithm?
        enum CodingKeys: String, CodingKey, CaseIterable { case algorithm }
    }

    struct Import: RequestBody {
        let algorithm: JWTAlgorithm
        let privateKey: String
        let kid: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case algorithm, privateKey = "private_key", kid }
    }

    private func requireSuperAdmin(_ context: JarvisRequestContext) throws {
        let caller = try context.requireCaller()
        guard caller.isSuperAdmin, caller.scope == nil else { throw AccessError.forbidden("platform:keys") }
    }

    @Sendable func list(_ request: Request, context: JarvisRequestContext) async throws -> Page<KeyBody> {
        try requireSuperAdmin(context)
        let keys = try await identity.keys.list()
        return Page(all: keys, map: {
            KeyBody(kid: $0.kid, algorithm: $0.algorithm, status: $0.status, origin: $0.origin, createdAt: $0.createdAt, verifyUntil: $0.verifyUntil)
        })
    }

    /// Generates a new active key; the previous one keeps verifying until its tokens expire.
    @Sendable func rotate(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<KeyBody> {
        try requireSuperAdmin(context)
        let body = try await RequestDecoder.decode(Rotate.self, from: request, context: context, emptyAs: Rotate(algorithm: nil))
        let algorithm = body.algorithm ?? identity.configuration.algorithm
        let key = try await identity.keys.activate(
            try SigningKey.generate(algorithm), origin: "generated", verifyWindow: identity.configuration.verifyWindow,
            actor: context.auditActor)
        try await identity.ring.reload()
        return EditedResponse(status: .created, response: KeyBody(
            kid: key.kid, algorithm: key.algorithm.rawValue, status: "active", origin: "generated", createdAt: key.createdAt, verifyUntil: nil))
    }

    /// Brings an existing key (an Ed25519 private key or an HMAC secret, base64url) and makes it active.
    @Sendable func importKey(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<KeyBody> {
        try requireSuperAdmin(context)
        let body = try await RequestDecoder.decode(Import.self, from: request, context: context)
        let algorithm = body.algorithm
        try Limits.text(body.privateKey, "private_key", max: 512)
        try Limits.text(body.kid, "kid", max: 64)
        guard let material = Base64URL.decode(body.privateKey) else { throw Problem.invalid("private_key: must be base64url") }
        let kid = body.kid ?? Base62.random(length: 16)
        let key: SigningKey
        do {
            key = try SigningKey.imported(kid: kid, algorithm: algorithm, material: material)
        } catch {
            throw Problem.invalid("private_key: \(algorithm == .eddsa ? "must be a 32-byte Ed25519 private key" : "must be at least 32 bytes")")
        }
        let stored: SigningKey
        do {
            stored = try await identity.keys.activate(key, origin: "imported", verifyWindow: identity.configuration.verifyWindow, actor: context.auditActor)
        } catch StoreError.uniqueViolation {
            throw Problem(.conflict, "conflict", "a key with that kid exists")
        } catch StoreError.constraintViolation {
            throw Problem.invalid("kid: must be 8-64 characters of A-Z, a-z, 0-9, '_' or '-'")
        }
        try await identity.ring.reload()
        return EditedResponse(status: .created, response: KeyBody(
            kid: stored.kid, algorithm: stored.algorithm.rawValue, status: "active", origin: "imported", createdAt: stored.createdAt, verifyUntil: nil))
    }
}
