/// Why a billing operation was refused.
public enum BillingError: Error, Sendable, Equatable {
    case notFound(String)
    /// A field's value is not acceptable; the text names the field.
    case invalid(String)
    /// The state forbids it (another currency in the price book, a taken effective time).
    case conflict(String)
}
