public import Foundation

/// A canary rollout: a label moves from its stable version to a candidate in steps. While it
/// runs the label still points at the stable version; subjects whose bucket is below the step's
/// percentage get the candidate. Promotion moves the label; an abort leaves it on stable.
public struct Rollout: Sendable, Equatable {
    public enum State: String, Sendable, Codable, CaseIterable { case running, paused, promoted, aborted }

    public struct Step: Codable, Sendable, Equatable {
        /// Share of subjects on the candidate, 0-100.
        public var percent: Int
        /// The step lasts at least this long before it advances by itself (or may be advanced).
        public var minDurationSeconds: Int?
        /// Stay on this step until someone advances it.
        public var pause: Bool?

        enum CodingKeys: String, CodingKey, CaseIterable { case percent, minDurationSeconds = "min_duration_seconds", pause }

        public init(percent: Int, minDurationSeconds: Int? = nil, pause: Bool? = nil) {
            self.percent = percent
            self.minDurationSeconds = minDurationSeconds
            self.pause = pause
        }
    }

    /// What aborts the rollout by itself. Figures compare the candidate with the stable version
    /// over the rollout's traffic (usage events naming the versions).
    public struct Guards: Codable, Sendable, Equatable {
        /// The candidate's error rate may exceed the stable's by at most this many percentage points.
        public var maxErrorRateIncrease: Double?
        /// The candidate's p95 latency may be at most this.
        public var maxP95LatencyMs: Int?
        /// Guards are judged only once the candidate has this many events.
        public var minSampleSize: Int?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case maxErrorRateIncrease = "max_error_rate_increase", maxP95LatencyMs = "max_p95_latency_ms", minSampleSize = "min_sample_size"
        }

        public init(maxErrorRateIncrease: Double? = nil, maxP95LatencyMs: Int? = nil, minSampleSize: Int? = nil) {
            self.maxErrorRateIncrease = maxErrorRateIncrease
            self.maxP95LatencyMs = maxP95LatencyMs
            self.minSampleSize = minSampleSize
        }

        public var isEmpty: Bool { maxErrorRateIncrease == nil && maxP95LatencyMs == nil }
    }

    public static let defaultSteps = [Step(percent: 10), Step(percent: 50), Step(percent: 100)]

    public let id: UUID
    public let tenantID: UUID
    public let labelID: UUID
    public let kind: ReleaseKind
    /// The prompt's or model's name, and the label's.
    public let subjectName: String
    public let labelName: String
    public let stableVersionID: UUID
    public let stableVersion: Semver
    public let candidateVersionID: UUID
    public let candidateVersion: Semver
    public let steps: [Step]
    public let stepIndex: Int
    public let percent: Int
    public let state: State
    public let guards: Guards
    public let stepStartedAt: Date
    public let abortReason: String?
    public let createdAt: Date
    public let finishedAt: Date?

    public var isActive: Bool { state == .running || state == .paused }
}

/// How one version did over a rollout's traffic.
public struct VersionFigures: Sendable, Equatable {
    public let version: Semver
    public let requests: Int
    public let errors: Int
    public let p50LatencyMs: Double?
    public let p95LatencyMs: Double?
    public let tokensPerRequest: Double?

    /// Percent of requests whose status was not a success.
    public var errorRate: Double { requests == 0 ? 0 : Double(errors) * 100 / Double(requests) }
}
