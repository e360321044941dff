/// Why a quota operation was refused.
public enum QuotaError: Error, Sendable, Equatable {
    case invalid(String)
    case notFound(String)
    case conflict(String)
}
