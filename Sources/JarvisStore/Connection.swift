internal import CLibPQ
internal import Glibc

/// One libpq connection. All calls block, so they run on the pool's dedicated threads.
///
/// `@unchecked Sendable`: a connection is used by one task at a time — whoever checked it out
/// of the `ConnectionPool` — and libpq needs no more than that.
final class Connection: @unchecked Sendable {
    private let handle: OpaquePointer
    /// Set once a failure shows the connection can no longer be trusted.
    private(set) var isBroken = false
    /// A COPY TO STDOUT is being read (`startCopyOut` to its end).
    private var copying = false
    /// Statements prepared on this connection, by their text (see `execute(_:_:prepared:)`).
    private var statements: [String: String] = [:]
    /// At most this many are kept per connection; beyond, statements run unprepared.
    static let statementLimit = 128

    /// The longest one statement may wait for the server, in milliseconds: past it the connection
    /// is given up (see `awaitResult`).
    let deadlineMilliseconds: Int

    /// Opens a connection; blocks for up to the configured connect timeout.
    init(configuration: DatabaseConfiguration) throws(StoreError) {
        // TCP keepalives and a user timeout: a server that vanishes without closing the socket (a
        // network partition, a frozen host) is noticed within seconds, not after the kernel's hours.
        let keywords = [
            "dbname", "options", "connect_timeout", "application_name", "keepalives", "keepalives_idle", "keepalives_interval",
            "keepalives_count", "tcp_user_timeout",
        ]
        let values = [
            configuration.connectionString, configuration.startupOptions,
            String(configuration.connectTimeoutSeconds), configuration.applicationName, "1", "5", "2", "3",
            String(configuration.queryDeadlineMilliseconds),
        ]
        let cKeywords = keywords.map { strdup($0) }
        let cValues = values.map { strdup($0) }
        defer {
            cKeywords.forEach { free($0) }
            cValues.forEach { free($0) }
        }
        var keywordPointers: [UnsafePointer<CChar>?] = cKeywords.map { UnsafePointer($0) } + [nil]
        var valuePointers: [UnsafePointer<CChar>?] = cValues.map { UnsafePointer($0) } + [nil]
        // expand_dbname = 1: the connection string's settings apply, and the later keywords add to them.
        guard let conn = PQconnectdbParams(&keywordPointers, &valuePointers, 1) else {
            throw .connectionFailed("out of memory")
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(conn))
            PQfinish(conn)
            throw .connectionFailed(message)
        }
        // Non-blocking: sending never waits on a full socket buffer, so every wait goes through
        // `poll` with the deadline.
        guard PQsetnonblocking(conn, 1) == 0 else {
            let message = Self.trimmed(PQerrorMessage(conn))
            PQfinish(conn)
            throw .connectionFailed(message)
        }
        handle = conn
        deadlineMilliseconds = configuration.queryDeadlineMilliseconds
    }

    deinit { PQfinish(handle) }

    /// Runs one statement with bound parameters (extended protocol, text format). With `prepared`,
    /// the statement is parsed and planned once per connection and reused: for the hot lookups
    /// (a credential miss, a role graph) planning costs several times the execution.
    func execute(_ sql: String, _ parameters: [any SQLBindable], prepared: Bool = false) throws(StoreError) -> Rows {
        let texts = parameters.map { $0.sqlText }
        // C strings end at NUL, and PostgreSQL text cannot hold one: refuse rather than truncate.
        if texts.contains(where: { $0?.utf8.contains(0) == true }) { throw .invalidValue("text must not contain NUL characters") }
        let cValues = texts.map { $0.map { strdup($0) } ?? nil }
        defer { cValues.forEach { free($0) } }
        let pointers: [UnsafePointer<CChar>?] = cValues.map { $0.map { UnsafePointer($0) } }
        if prepared, let name = try statement(sql, parameterCount: pointers.count) {
            let sent = pointers.withUnsafeBufferPointer { buffer in
                PQsendQueryPrepared(handle, name, Int32(buffer.count), buffer.baseAddress, nil, nil, 0)
            }
            guard sent == 1 else { throw lost() }
            return try awaitResult()
        }
        let sent = pointers.withUnsafeBufferPointer { buffer in
            PQsendQueryParams(handle, sql, Int32(buffer.count), nil, buffer.baseAddress, nil, nil, 0)
        }
        guard sent == 1 else { throw lost() }
        return try awaitResult()
    }

    /// The name `sql` is prepared under on this connection, preparing it first if need be; nil
    /// when the connection holds its limit already (the statement then runs unprepared).
    private func statement(_ sql: String, parameterCount: Int) throws(StoreError) -> String? {
        if let name = statements[sql] { return name }
        guard statements.count < Self.statementLimit else { return nil }
        let name = "jarvis_\(statements.count + 1)"
        guard PQsendPrepare(handle, name, sql, Int32(parameterCount), nil) == 1 else { throw lost() }
        _ = try awaitResult()
        statements[sql] = name
        return name
    }

    /// Runs a script of one or more statements without parameters (simple protocol):
    /// migrations and fixed control statements only, never text that came from a request.
    func executeScript(_ sql: String) throws(StoreError) -> Rows {
        guard PQsendQuery(handle, sql) == 1 else { throw lost() }
        return try awaitResult()
    }

    /// Sends what is queued and collects the results of the statement(s) sent, waiting on the
    /// socket at most `deadlineMilliseconds` in all. The server enforces `statement_timeout`, but
    /// a server that does not answer at all (frozen, partitioned) enforces nothing: past the
    /// deadline the connection is marked broken, so the pool closes it, and the caller gets
    /// `statementTimeout`. (No cancel request: sending one would wait on the same silent server.)
    private func awaitResult() throws(StoreError) -> Rows {
        let deadline = Self.monotonicMilliseconds() + Int64(deadlineMilliseconds)
        func wait(for events: Int16) throws(StoreError) { try self.wait(for: events, until: deadline) }
        // Flush the request; read meanwhile so the server is never blocked writing to us.
        while true {
            let flushed = PQflush(handle)
            if flushed == 0 { break }
            guard flushed == 1 else { throw lost() }
            try wait(for: Int16(POLLIN | POLLOUT))
            guard PQconsumeInput(handle) == 1 else { throw lost() }
        }
        var last: OpaquePointer?
        var failure: StoreError?
        while true {
            while PQisBusy(handle) == 1 {
                try wait(for: Int16(POLLIN))
                guard PQconsumeInput(handle) == 1 else {
                    if let last { PQclear(last) }
                    throw lost()
                }
            }
            guard let result = PQgetResult(handle) else { break }
            switch PQresultStatus(result) {
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                if let last { PQclear(last) }
                last = result
            default:
                // A script stops at its first error; that error is the answer.
                if failure == nil { failure = Self.error(from: result, connection: handle) }
                PQclear(result)
            }
        }
        if let failure {
            if let last { PQclear(last) }
            if failure.breaksConnection || PQstatus(handle) != CONNECTION_OK { isBroken = true }
            throw failure
        }
        guard let last else { throw lost() }
        defer { PQclear(last) }
        return Self.copy(last)
    }

    /// Starts a `COPY (...) TO STDOUT` (no parameters: COPY takes none; the query reads what it
    /// needs from settings the transaction bound). Read it with `readCopy` until that returns nil.
    func startCopyOut(_ sql: String, waitMilliseconds: Int) throws(StoreError) {
        guard PQsendQueryParams(handle, sql, 0, nil, nil, nil, nil, 0) == 1 else { throw lost() }
        let deadline = Self.monotonicMilliseconds() + Int64(waitMilliseconds)
        while true {
            let flushed = PQflush(handle)
            if flushed == 0 { break }
            guard flushed == 1 else { throw lost() }
            try wait(for: Int16(POLLIN | POLLOUT), until: deadline)
            guard PQconsumeInput(handle) == 1 else { throw lost() }
        }
        while PQisBusy(handle) == 1 {
            try wait(for: Int16(POLLIN), until: deadline)
            guard PQconsumeInput(handle) == 1 else { throw lost() }
        }
        guard let result = PQgetResult(handle) else { throw lost() }
        if PQresultStatus(result) == PGRES_COPY_OUT {
            PQclear(result)
            copying = true
            return
        }
        let failure = Self.error(from: result, connection: handle)
        PQclear(result)
        while let rest = PQgetResult(handle) { PQclear(rest) }
        if failure.breaksConnection || PQstatus(handle) != CONNECTION_OK { isBroken = true }
        throw failure
    }

    /// The next rows of a COPY started by `startCopyOut`, about `limit` bytes (whole rows), or nil
    /// once it has ended. Each wait for the server lasts at most `waitMilliseconds` (a grouped COPY
    /// may think for a while before its first row).
    func readCopy(limit: Int, waitMilliseconds: Int) throws(StoreError) -> [UInt8]? {
        guard copying else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(limit + 1_024)
        while out.count < limit {
            var buffer: UnsafeMutablePointer<CChar>?
            let count = PQgetCopyData(handle, &buffer, 1)
            if count > 0, let buffer {
                buffer.withMemoryRebound(to: UInt8.self, capacity: Int(count)) { out.append(contentsOf: UnsafeBufferPointer(start: $0, count: Int(count))) }
                PQfreemem(buffer)
            } else if count == 0 {
                if !out.isEmpty { return out }
                try wait(for: Int16(POLLIN), until: Self.monotonicMilliseconds() + Int64(waitMilliseconds))
                guard PQconsumeInput(handle) == 1 else { throw lost() }
            } else if count == -1 {
                // The COPY ended: its command result says whether it ended well.
                copying = false
                var failure: StoreError?
                while let result = PQgetResult(handle) {
                    if PQresultStatus(result) != PGRES_COMMAND_OK, failure == nil { failure = Self.error(from: result, connection: handle) }
                    PQclear(result)
                }
                if let failure {
                    if failure.breaksConnection || PQstatus(handle) != CONNECTION_OK { isBroken = true }
                    throw failure
                }
                return out.isEmpty ? nil : out
            } else {
                throw lost()
            }
        }
        return out
    }

    private func wait(for events: Int16, until deadline: Int64) throws(StoreError) {
        let socket = PQsocket(handle)
        guard socket >= 0 else { throw lost() }
        let remaining = deadline - Self.monotonicMilliseconds()
        guard remaining > 0 else {
            isBroken = true
            throw .statementTimeout
        }
        var descriptor = pollfd(fd: socket, events: events, revents: 0)
        let ready = poll(&descriptor, 1, Int32(min(remaining, Int64(Int32.max))))
        if ready < 0 && errno != EINTR { throw lost("poll failed: errno \(errno)") }
        if ready == 0 {
            isBroken = true
            throw .statementTimeout
        }
    }

    private func lost(_ message: String? = nil) -> StoreError {
        isBroken = true
        return .connectionLost(message ?? Self.trimmed(PQerrorMessage(handle)))
    }

    static func monotonicMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// Waits up to `timeoutMilliseconds` for NOTIFY payloads on this (LISTENing) connection.
    /// - Throws: `connectionLost` when the server went away.
    func notifications(timeoutMilliseconds: Int32) throws(StoreError) -> [String] {
        let socket = PQsocket(handle)
        guard socket >= 0 else {
            isBroken = true
            throw .connectionLost("no socket")
        }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, timeoutMilliseconds)
        if ready < 0 && errno != EINTR {
            isBroken = true
            throw .connectionLost("poll failed: errno \(errno)")
        }
        guard PQconsumeInput(handle) == 1, PQstatus(handle) == CONNECTION_OK else {
            isBroken = true
            throw .connectionLost(Self.trimmed(PQerrorMessage(handle)))
        }
        var payloads: [String] = []
        while let notification = PQnotifies(handle) {
            payloads.append(String(cString: notification.pointee.extra))
            PQfreemem(notification)
        }
        return payloads
    }

    /// True when libpq still believes the connection is usable.
    var isHealthy: Bool { !isBroken && PQstatus(handle) == CONNECTION_OK }

    func markBroken() { isBroken = true }

    private static func copy(_ result: OpaquePointer) -> Rows {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var values: [[String?]] = []
        values.reserveCapacity(rowCount)
        for r in 0..<rowCount {
            var row: [String?] = []
            row.reserveCapacity(columnCount)
            for c in 0..<columnCount {
                if PQgetisnull(result, Int32(r), Int32(c)) == 1 {
                    row.append(nil)
                } else {
                    row.append(String(cString: PQgetvalue(result, Int32(r), Int32(c))))
                }
            }
            values.append(row)
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return Rows(columns: columns, values: values, affected: affected)
    }

    private static func error(from result: OpaquePointer, connection: OpaquePointer) -> StoreError {
        func field(_ code: Character) -> String? {
            guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: value)
        }
        let message = field("M") ?? trimmed(PQerrorMessage(connection))
        guard let sqlState = field("C") else { return .connectionLost(message) }
        return StoreError.from(sqlState: sqlState, message: message, constraint: field("n"))
    }

    private static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "unknown libpq error" }
        var text = Substring(String(cString: message))
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
