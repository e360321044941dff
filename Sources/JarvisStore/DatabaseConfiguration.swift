/// How to reach PostgreSQL as one role. Connection strings come from configuration, never from code.
public struct DatabaseConfiguration: Sendable {
    /// A libpq connection string or `postgresql://` URL.
    public var connectionString: String
    /// Most connections this pool opens.
    public var poolSize: Int
    /// Server-side limit on one statement, in milliseconds.
    public var statementTimeoutMilliseconds: Int
    /// How long a caller waits for a free connection before `StoreError.poolTimeout`.
    public var acquireTimeoutMilliseconds: Int
    /// Seconds libpq waits for a new connection.
    public var connectTimeoutSeconds: Int
    /// How long the client waits for the server's answer to one statement before it gives the
    /// connection up: the server's `statement_timeout` plus a margin, so a server that has stopped
    /// answering cannot hold a request longer than a slow query could.
    public var queryDeadlineMilliseconds: Int { statementTimeoutMilliseconds + 1_000 }
    /// Shown in `pg_stat_activity`.
    public var applicationName: String

    public init(
        connectionString: String,
        poolSize: Int = 10,
        statementTimeoutMilliseconds: Int = 5_000,
        acquireTimeoutMilliseconds: Int = 5_000,
        connectTimeoutSeconds: Int = 3,
        applicationName: String = "jarvis"
    ) {
        self.connectionString = connectionString
        self.poolSize = max(1, poolSize)
        self.statementTimeoutMilliseconds = statementTimeoutMilliseconds
        self.acquireTimeoutMilliseconds = acquireTimeoutMilliseconds
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.applicationName = applicationName
    }

    /// Session settings sent at connect time: UTC, ISO dates and the timeouts, so no query needs to
    /// set them and a stuck transaction cannot hold locks forever; and no JIT: the usage ledger's
    /// statement is estimated expensive enough to be compiled every time (tens of milliseconds per
    /// group commit, more than the statement itself), and nothing here runs long enough to repay it.
    var startupOptions: String {
        [
            "-c TimeZone=UTC",
            "-c DateStyle=ISO",
            "-c client_min_messages=warning",
            "-c statement_timeout=\(statementTimeoutMilliseconds)",
            "-c idle_in_transaction_session_timeout=\(max(statementTimeoutMilliseconds * 4, 10_000))",
            "-c lock_timeout=\(statementTimeoutMilliseconds)",
            "-c jit=off",
        ].joined(separator: " ")
    }
}
