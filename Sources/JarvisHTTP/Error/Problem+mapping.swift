internal import Hummingbird
internal import HTTPTypes
internal import Foundation
internal import JarvisAccess
internal import JarvisBilling
internal import JarvisIdentity
internal import JarvisQuota
internal import JarvisReleases
internal import JarvisStore
internal import JarvisTenancy
internal import NIOHTTP1

/// The one place where module errors become HTTP problems.
extension Problem {
    /// - Returns: the problem for `error`, and whether it is the server's fault (to be logged as an error).
    static func from(_ error: any Error) -> (Problem, serverFault: Bool) {
        switch error {
        case let problem as Problem:
            return (problem, problem.status.code >= 500)
        case let error as AuthenticationError:
            return (from(error), false)
        case let error as AccessError:
            return (from(error), false)
        case let error as TenancyError:
            return (from(error), false)
        case let error as IdentityError:
            return (from(error), false)
        case let error as QuotaError:
            return (from(error), false)
        case let denial as QuotaDenial:
            return (from(denial), false)
        case let error as ReleaseError:
            return (from(error), false)
        case let error as BillingError:
            return (from(error), false)
        case let error as StoreError:
            return from(error)
        case let error as HTTPParserError where error == .invalidEOFState:
            // The client went away mid-request: nobody will read the answer, and the server did
            // nothing wrong. Counted apart (499, as nginx says) so it never looks like a 500.
            return (Problem(.init(code: 499, reasonPhrase: "Client Closed Request"), "client-closed-request", "the client closed the connection before sending the whole request"), false)
        case let error as any HTTPResponseError:
            let code = error.status == .notFound ? "not-found" : error.status.code == 413 ? "body-too-large" : "http-\(error.status.code)"
            let detail = error.status == .notFound ? "no such resource" : (error as? HTTPError)?.body ?? error.status.reasonPhrase
            return (Problem(error.status, code, detail), error.status.code >= 500)
        default:
            return (Problem(.internalServerError, "internal", "an internal error occurred; quote the request id when reporting it"), true)
        }
    }

    static let bearerChallenge: HTTPFields = [.wwwAuthenticate: "Bearer realm=\"jarvis\""]

    static func from(_ error: AuthenticationError) -> Problem {
        switch error {
        case .missing:
            return Problem(.unauthorized, "unauthenticated", "send Authorization: Bearer <API key>", headers: bearerChallenge)
        case .invalidCredential:
            return Problem(.unauthorized, "invalid-credential", "the credential is not valid", headers: bearerChallenge)
        case .expired:
            return Problem(.unauthorized, "credential-expired", "the credential has expired", headers: bearerChallenge)
        case .revoked:
            return Problem(.unauthorized, "credential-revoked", "the credential was revoked", headers: bearerChallenge)
        case .principalDisabled:
            return Problem(.unauthorized, "principal-disabled", "the credential's user or service account is disabled", headers: bearerChallenge)
        case .tenantSuspended:
            return Problem(.forbidden, "tenant-suspended", "the credential's tenant is suspended")
        }
    }

    static func from(_ error: AccessError) -> Problem {
        switch error {
        case .forbidden(let permission):
            return Problem(.forbidden, "forbidden", "this requires the permission \(permission)")
        case .unknownRole(let role):
            return .invalid("role: no role named '\(role)'")
        case .escalation(let role):
            return Problem(.forbidden, "privilege-escalation", "granting '\(role)' needs every permission it carries, and the caller lacks some")
        case .superAdminReserved:
            return Problem(.forbidden, "super-admin-reserved", "only super admins grant super_admin, and only to platform principals")
        case .notFound(let what):
            return .notFound("no \(what)")
        case .alreadyBound(let role):
            return Problem(.conflict, "conflict", "the principal already holds the role '\(role)'")
        case .cycle(let path):
            return Problem(.badRequest, "role-cycle", "roles may not inherit in a cycle: \(path.joined(separator: " → "))")
        case .builtinRole(let name):
            return Problem(.conflict, "builtin-role", "'\(name)' is a built-in role and cannot be created, changed or deleted")
        case .roleInUse(let reason, _):
            return Problem(.conflict, "role-in-use", "the role is in use: \(reason); delete with ?force=true to remove its bindings too")
        case .duplicate(let what):
            return Problem(.conflict, "conflict", "\(what) already exists")
        case .unknownPermission(let name):
            return .invalid("permissions: '\(name.prefix(128))' is neither a platform permission nor one this tenant registered")
        case .invalid(let field, let reason):
            return .invalid("\(field): \(reason)")
        case .strongerPrincipal:
            return Problem(
                .forbidden, "principal-stronger",
                "the principal holds permissions the caller lacks; only a caller holding all of them may act on it")
        }
    }

    static func from(_ error: TenancyError) -> Problem {
        switch error {
        case .notFound(let what): return .notFound("no \(what)")
        case .conflict(let detail): return Problem(.conflict, "conflict", detail)
        case .invalid(let field, let reason): return .invalid("\(field): \(reason)")
        case .platformTenantProtected:
            return Problem(.conflict, "platform-tenant-protected", "the platform tenant cannot be suspended or deleted")
        }
    }

    static func from(_ error: IdentityError) -> Problem {
        switch error {
        case .notFound(let what): return .notFound("no \(what)")
        case .invalid(let field, let reason): return .invalid("\(field): \(reason)")
        case .principalInactive:
            return Problem(.conflict, "principal-disabled", "the principal is disabled and cannot get new keys")
        case .escalation:
            return Problem(.forbidden, "privilege-escalation", "a key for this principal would carry permissions the caller lacks")
        case .alreadyRevoked:
            return Problem(.conflict, "already-revoked", "the API key is already revoked")
        case .overloaded:
            return Problem(.serviceUnavailable, "overloaded", "too many logins in progress; retry shortly", headers: [.retryAfter: "1"])
        case .invalidCredentials:
            return Problem(.unauthorized, "invalid-credentials", "the tenant, email or password is wrong")
        case .loginLocked(let seconds):
            return Problem(.tooManyRequests, "login-locked", "too many failed logins; retry in \(seconds) seconds", headers: [.retryAfter: "\(seconds)"])
        case .invalidRefreshToken:
            return Problem(.unauthorized, "invalid-refresh-token", "the refresh token is invalid, expired, revoked or already used")
        case .notAUser:
            return Problem(.forbidden, "not-a-user", "only users have passwords")
        }
    }

    static func from(_ error: QuotaError) -> Problem {
        switch error {
        case .invalid(let detail): return .invalid(detail)
        case .notFound(let what): return .notFound("no \(what)")
        case .conflict(let detail): return Problem(.conflict, "conflict", detail)
        }
    }

    static func from(_ error: BillingError) -> Problem {
        switch error {
        case .notFound(let what): return .notFound("no \(what)")
        case .invalid(let detail): return .invalid(detail)
        case .conflict(let detail): return Problem(.conflict, "conflict", detail)
        }
    }

    static func from(_ error: ReleaseError) -> Problem {
        switch error {
        case .notFound(let what): return .notFound("no \(what)")
        case .invalid(let detail): return .invalid(detail)
        case .conflict(let detail): return Problem(.conflict, "conflict", detail)
        case .unprocessable(let detail): return Problem(.unprocessableContent, "unprocessable-variables", detail)
        }
    }

    /// 429 for a quota denial, with `Retry-After` and the IETF httpapi `RateLimit-Policy` /
    /// `RateLimit` fields naming the limit that refused.
    static func from(_ denial: QuotaDenial) -> Problem {
        Problem(
            .tooManyRequests, denial.reason.replacingOccurrences(of: "_", with: "-"),
            "the \(denial.metric.rawValue) limit of \(denial.limit) is reached; retry in \(denial.retryAfter) s",
            headers: quotaHeaders(denial))
    }

    static func quotaHeaders(_ denial: QuotaDenial) -> HTTPFields {
        [
            .retryAfter: String(denial.retryAfter),
            HTTPField.Name("RateLimit-Policy")!: "\"\(denial.metric.rawValue)\";q=\(denial.limit);w=\(denial.window)",
            HTTPField.Name("RateLimit")!: "\"\(denial.metric.rawValue)\";r=\(denial.remaining);t=\(denial.retryAfter)",
        ]
    }

    static func from(_ error: StoreError) -> (Problem, serverFault: Bool) {
        let unavailable = Problem(.serviceUnavailable, "database-unavailable", "the database is unavailable; retry shortly", headers: [.retryAfter: "1"])
        switch error {
        case .poolTimeout, .connectionFailed, .connectionLost, .poolClosed, .statementTimeout, .serializationFailure:
            return (unavailable, true)
        case .uniqueViolation:
            return (Problem(.conflict, "conflict", "the value is already taken"), false)
        case .foreignKeyViolation:
            return (.notFound("a referenced object does not exist"), false)
        case .invalidValue, .constraintViolation:
            return (.invalid("a value is out of the accepted range"), false)
        case .insufficientPrivilege, .server, .decoding, .migration:
            return (Problem(.internalServerError, "internal", "an internal error occurred; quote the request id when reporting it"), true)
        }
    }
}
