public import Hummingbird
public import JarvisAccess
public import NIOCore
public import Foundation
internal import JarvisStore

/// Per-request state: the request id, the authenticated caller (set by `AuthenticationMiddleware`)
/// and the peer address. A value type; nothing in it is shared between requests.
public struct JarvisRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Echoed from `X-Request-Id` when the client sent a sane one, generated otherwise.
    public var requestID: String = ""
    public var caller: Caller?
    public let remoteAddress: SocketAddress?
    /// Where the request's span leaves its trace id for the access-log line (written outside it).
    var traceSlot: TraceIDSlot?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// Admin request bodies are small; anything larger is refused with 413 before parsing.
    public var maxUploadSize: Int { 1 << 20 }

    public var responseEncoder: JSONEncoder { JSONCoding.encoder }
}

/// The one JSON encoding of responses: snake_case keys, RFC 3339 UTC times with microseconds.
enum JSONCoding {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.format(date))
        }
        return encoder
    }()
}
