/// Why a release operation was refused.
public enum ReleaseError: Error, Sendable, Equatable {
    case notFound(String)
    /// A field's value is not acceptable; the text names the field.
    case invalid(String)
    /// The state forbids it (a published version, a retired model version, an active rollout).
    case conflict(String)
    /// Variables given to a render that the version cannot take (missing, undeclared, wrong type).
    case unprocessable(String)
}
