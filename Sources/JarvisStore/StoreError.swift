/// What can go wrong talking to PostgreSQL, with SQLSTATE classes mapped to cases callers act on.
public enum StoreError: Error, Sendable, Equatable {
    /// A new connection could not be made (server down, bad credentials).
    case connectionFailed(String)
    /// An established connection broke mid-use; the connection is discarded.
    case connectionLost(String)
    /// No pooled connection became free within the acquire timeout.
    case poolTimeout
    /// The pool was shut down.
    case poolClosed
    /// 23505: the named unique constraint rejected the row.
    case uniqueViolation(constraint: String?, message: String)
    /// 23503
    case foreignKeyViolation(constraint: String?, message: String)
    /// 23514, 23502, 23P01
    case constraintViolation(constraint: String?, message: String)
    /// Class 22: a value PostgreSQL could not accept (bad uuid text, out of range).
    case invalidValue(String)
    /// 57014: the statement timeout cancelled the query.
    case statementTimeout
    /// 40001, 40P01: safe to retry the whole transaction.
    case serializationFailure(String)
    /// 42501
    case insufficientPrivilege(String)
    /// Any other server error.
    case server(sqlState: String, message: String)
    /// A row did not have the shape the code expected.
    case decoding(String)
    /// A migration problem: an edited applied file, an unknown applied version, a bad file name.
    case migration(String)
}

extension StoreError {
    /// Maps a SQLSTATE to a case; `message` is the server's primary message.
    static func from(sqlState: String, message: String, constraint: String?) -> StoreError {
        switch sqlState {
        case "23505": return .uniqueViolation(constraint: constraint, message: message)
        case "23503": return .foreignKeyViolation(constraint: constraint, message: message)
        case "23514", "23502", "23P01": return .constraintViolation(constraint: constraint, message: message)
        case "57014": return .statementTimeout
        case "40001", "40P01": return .serializationFailure(message)
        case "42501": return .insufficientPrivilege(message)
        case "57P01", "57P02", "57P03": return .connectionLost(message)
        default:
            if sqlState.hasPrefix("08") { return .connectionLost(message) }
            if sqlState.hasPrefix("22") { return .invalidValue(message) }
            return .server(sqlState: sqlState, message: message)
        }
    }

    /// True for failures that say nothing about the statement itself (the database was away, busy
    /// or timed out): the same statement may succeed when retried.
    public var isTransient: Bool {
        switch self {
        case .connectionLost, .connectionFailed, .poolTimeout, .poolClosed, .statementTimeout, .serializationFailure: return true
        default: return false
        }
    }

    /// True for failures after which the connection must not be reused.
    var breaksConnection: Bool {
        switch self {
        case .connectionLost, .connectionFailed: return true
        default: return false
        }
    }
}
