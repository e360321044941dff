internal import Hummingbird
internal import JarvisAccess
internal import JarvisAudit
internal import JarvisIdentity
internal import JarvisQuota
internal import Foundation
internal import JarvisStore
internal import NIOCore
internal import JarvisJSON

/// `POST /v1/check`: may this credential do this? One check or a batch of up to 100, answered from
/// the credential cache (PostgreSQL only on a miss). The caller needs `check:invoke`: platform
/// callers may check any tenant's credentials, tenant callers only their own tenant's.
///
/// The hot path: the body is read by the hand-written `CheckRequest` parser and the answer written
/// as bytes, which the benchmark showed pays here; it authenticates its caller itself (no
/// authentication or idempotency middleware).
struct CheckController {
    let authenticator: Authenticator
    let quotas: QuotaEngine
    let access: AccessTally

    static let maxBody = 256 * 1024

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.post("check", use: check)
    }

    @Sendable func check(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let caller = try await authenticator.authenticate(authorization: request.headers[.authorization])
        guard caller.isSuperAdmin || caller.allows("check:invoke") else { throw AccessError.forbidden("check:invoke") }
        let body = try await request.body.collect(upTo: Self.maxBody)
        let parsed: CheckRequest
        do {
            parsed = try CheckRequest.parse(Array(body.readableBytesView))
        } catch .invalid(let message) {
            throw Problem.invalid(message)
        }
        var out: [UInt8] = []
        out.reserveCapacity(parsed.items.count * 160)
        if parsed.batch { out += #"{"items":["#.utf8 }
        // A batch's credentials are authenticated first, together, so its uncached keys are looked
        // up concurrently; its quota draws then go in the items' order.
        // One check keeps its answer out of an array (no allocation for it on the hot path).
        var subjects: [Result<Caller, AuthenticationError>] = []
        var single: Result<Caller, AuthenticationError>?
        if parsed.batch {
            subjects = try await authenticator.authenticate(credentials: parsed.items.map(\.credential))
        } else {
            do {
                single = .success(try await authenticator.authenticate(credential: parsed.items[0].credential))
            } catch let error as AuthenticationError {
                single = .failure(error)
            }
        }
        var refused: QuotaDenial?
        for (index, item) in parsed.items.enumerated() {
            if index > 0 { out.append(44) }
            let decision = try await decide(item, subject: single ?? subjects[index], caller: caller)
            tally(decision, permission: item.permission, caller: caller)
            refused = decision.denial
            decision.write(into: &out)
        }
        if parsed.batch { out += "]}".utf8 }
        // One check refused by a quota is a 429 with the rate-limit fields; a batch answers per item.
        if !parsed.batch, let refused {
            var headers = Problem.quotaHeaders(refused)
            headers[.contentType] = "application/json"
            return Response(status: .tooManyRequests, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: out)))
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: out)))
    }

    struct Decision {
        var allowed: Bool
        var reason: String?
        var subject: Caller?
        var reservation: UUID?
        var denial: QuotaDenial?

        func write(into out: inout [UInt8]) {
            out += allowed ? #"{"allowed":true"#.utf8 : #"{"allowed":false"#.utf8
            if let reason {
                out += #","reason":""#.utf8
                out += reason.utf8
                out.append(34)
            }
            if let subject {
                out += #","tenant_id":""#.utf8
                out += subject.tenantIDText.utf8
                out += #"","principal_id":""#.utf8
                subject.principalID.appendLowercased(to: &out)
                out += subject.kind == .user ? #"","principal_kind":"user""#.utf8 : #"","principal_kind":"service_account""#.utf8
            }
            if let reservation {
                out += #","reservation_id":""#.utf8
                reservation.appendLowercased(to: &out)
                out.append(34)
            }
            if let denial {
                out += #","retry_after":"#.utf8
                out += String(denial.retryAfter).utf8
            }
            out.append(125)
        }
    }

    /// Counts the decision into the access events: the subject's tenant, else (an unknown
    /// credential) the caller's. A permission no role grants is named `(invalid)`, so what callers
    /// send cannot grow the groups.
    func tally(_ decision: Decision, permission: String, caller: Caller) {
        let subject = decision.subject
        access.count(AccessTally.Key(
            tenantID: subject?.tenantID ?? caller.tenantID, principalID: subject?.principalID,
            principalKind: subject.map { $0.kind == .user ? .user : .serviceAccount } ?? .system, source: "check",
            permission: decision.reason == "invalid_permission" ? "(invalid)" : permission,
            outcome: decision.allowed ? .success : .denied, reason: decision.reason))
    }

    /// - Parameter subject: the item's credential, authenticated (or refused).
    func decide(_ item: CheckRequest.Item, subject authenticated: Result<Caller, AuthenticationError>, caller: Caller) async throws -> Decision {
        let subject: Caller
        switch authenticated {
        case .success(let caller):
            subject = caller
        case .failure(let error):
            if PermissionIDs.shared.probe(item.permission) == nil { return Decision(allowed: false, reason: "invalid_permission") }
            return Decision(allowed: false, reason: Self.reason(error))
        }
        // Probed only now: loading the subject interns the names its roles grant, and a probe taken
        // before that would not find them.
        guard let permission = PermissionIDs.shared.probe(item.permission) else {
            return Decision(allowed: false, reason: "invalid_permission")
        }
        // A tenant's caller learns nothing about other tenants' credentials.
        if caller.tenantID != PlatformTenant.id && subject.tenantID != caller.tenantID {
            return Decision(allowed: false, reason: "invalid_credential")
        }
        guard subject.allows(permission, name: item.permission) else {
            return Decision(allowed: false, reason: "permission_denied", subject: subject)
        }
        guard let ask = item.quota, !ask.isEmpty else { return Decision(allowed: true, subject: subject) }
        switch try await quotas.admit(ask, caller: QuotaCaller(tenantID: subject.tenantID, principalID: subject.principalID, apiKeyID: subject.apiKeyID)) {
        case .admitted(let reservation):
            return Decision(allowed: true, subject: subject, reservation: reservation)
        case .denied(let denial):
            return Decision(allowed: false, reason: denial.reason, subject: subject, denial: denial)
        }
    }

    static func reason(_ error: AuthenticationError) -> String {
        switch error {
        case .missing, .invalidCredential: return "invalid_credential"
        case .expired: return "expired"
        case .revoked: return "revoked"
        case .principalDisabled: return "principal_disabled"
        case .tenantSuspended: return "tenant_suspended"
        }
    }
}
