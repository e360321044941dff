/// How long a client may take, and how much it may send, per connection (README, Configuration).
/// A client that stalls holds a connection and, without these, could hold them all.
public struct ConnectionLimits: Sendable {
    /// From a request's first byte to the end of its headers.
    public var headerTimeout: Duration = .seconds(10)
    /// From the end of the headers to the end of the body.
    public var bodyTimeout: Duration = .seconds(30)
    /// A kept-alive connection with no request in progress.
    public var idleTimeout: Duration = .seconds(75)
    /// After SIGTERM, how long requests in progress may take before their connections are closed.
    public var shutdownGrace: Duration = .seconds(20)
    /// One header line, in bytes (a longer one is 431).
    public var maxHeaderFieldSize = 16 * 1024
    /// All header lines together, in bytes (431 beyond).
    public var maxHeaderListSize = 64 * 1024
    /// Header lines per request (431 beyond).
    public var maxHeaderFieldCount = 128

    public init() {}
}
