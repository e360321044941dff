internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisReleases
internal import JarvisStore

/// `/v1/tenants/{tenant}/rollouts`: canary rollouts of labels (`rollout:read`, `rollout:write`).
struct RolloutController {
    let services: AppServices
    var rollouts: Rollouts { services.releases.rollouts }

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.post(use: start)
        group.get(use: list)
        group.get(":id", use: get)
        group.get(":id/analysis", use: analysis)
        for action in Rollouts.Action.allCases {
            group.post(":id/\(action.rawValue)") { request, context in try await self.act(action, request, context) }
        }
    }

    struct Start: RequestBody {
        let kind: ReleaseKind
        let name: String
        let label: String
        let candidateVersion: String
        let steps: [Rollout.Step]?
        let guards: Rollout.Guards?
        enum CodingKeys: String, CodingKey, CaseIterable {
            case kind, name, label, candidateVersion = "candidate_version", steps, guards
        }
    }

    struct Body: ResponseEncodable, Sendable {
        let id: String
        let kind: String
        let name: String
        let label: String
        let stableVersion: String
        let candidateVersion: String
        let steps: [Rollout.Step]
        let stepIndex: Int
        let percent: Int
        let state: String
        let guards: Rollout.Guards
        let stepStartedAt: Date
        let abortReason: String?
        let createdAt: Date
        let finishedAt: Date?

        init(_ r: Rollout) {
            id = r.id.lowercasedString
            kind = r.kind.rawValue
            name = r.subjectName
            label = r.labelName
            stableVersion = r.stableVersion.description
            candidateVersion = r.candidateVersion.description
            steps = r.steps
            stepIndex = r.stepIndex
            percent = r.percent
            state = r.state.rawValue
            guards = r.guards
            stepStartedAt = r.stepStartedAt
            abortReason = r.abortReason
            createdAt = r.createdAt
            finishedAt = r.finishedAt
        }
    }

    struct Figures: Encodable, Sendable {
        let version: String
        let requests: Int
        let errors: Int
        let errorRate: Double
        let p50LatencyMs: Double?
        let p95LatencyMs: Double?
        let tokensPerRequest: Double?

        init(_ f: VersionFigures) {
            version = f.version.description
            requests = f.requests
            errors = f.errors
            errorRate = (f.errorRate * 100).rounded() / 100
            p50LatencyMs = f.p50LatencyMs
            p95LatencyMs = f.p95LatencyMs
            tokensPerRequest = f.tokensPerRequest.map { ($0 * 100).rounded() / 100 }
        }
    }

    struct Analysis: ResponseEncodable, Sendable {
        let rollout: Body
        let stable: Figures
        let candidate: Figures
    }

    @Sendable func start(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<Body> {
        let scope = try await services.scope(context, permission: "rollout:write")
        let body = try await RequestDecoder.decode(Start.self, from: request, context: context)
        let rollout = try await rollouts.start(
            .init(kind: body.kind, name: body.name, label: body.label, candidate: body.candidateVersion, steps: body.steps, guards: body.guards), in: scope)
        return EditedResponse(
            status: .created, headers: [.location: "/v1/tenants/\(scope.tenantID.lowercasedString)/rollouts/\(rollout.id.lowercasedString)"],
            response: Body(rollout))
    }

    @Sendable func list(_ request: Request, context: JarvisRequestContext) async throws -> Page<Body> {
        let scope = try await services.scope(context, permission: "rollout:read")
        let active: Bool
        switch request.query("active") {
        case nil, "false": active = false
        case "true": active = true
        default: throw Problem.invalid("active: must be true or false")
        }
        return Page(all: try await rollouts.list(activeOnly: active, in: scope), map: Body.init)
    }

    @Sendable func get(_ request: Request, context: JarvisRequestContext) async throws -> Body {
        let scope = try await services.scope(context, permission: "rollout:read")
        return Body(try await rollouts.get(try context.uuidParameter("id"), in: scope))
    }

    @Sendable func analysis(_ request: Request, context: JarvisRequestContext) async throws -> Analysis {
        let scope = try await services.scope(context, permission: "rollout:read")
        let (rollout, stable, candidate) = try await rollouts.analysis(try context.uuidParameter("id"), in: scope)
        return Analysis(rollout: Body(rollout), stable: Figures(stable), candidate: Figures(candidate))
    }

    func act(_ action: Rollouts.Action, _ request: Request, _ context: JarvisRequestContext) async throws -> Body {
        let scope = try await services.scope(context, permission: "rollout:write")
        return Body(try await rollouts.act(action, on: try context.uuidParameter("id"), in: scope))
    }
}
