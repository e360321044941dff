internal import JarvisConfiguration
internal import Hummingbird
internal import HummingbirdCore
internal import Logging
internal import NIOCore
internal import HummingbirdTLS

/// Hummingbird's HTTP/1.1 child channel with a `ConnectionClock` around it: a watcher before the
/// decoder (first bytes of a request) and one after the codec (request and response parts), both
/// sharing the connection's clock. Built per connection, so each gets its own.
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let responder: HTTPChannelHandler.Responder
    let limits: ConnectionLimits

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let clock = ConnectionClock(limits: limits)
        do {
            try channel.pipeline.syncOperations.addHandler(RawReadWatcher(clock: clock))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return inner(clock: clock).setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await inner(clock: nil).handle(value: value, logger: logger)
    }

    private func inner(clock: ConnectionClock?) -> HTTP1Channel {
        HTTP1Channel(
            responder: responder,
            configuration: .init(
                additionalChannelHandlers: clock.map { [RequestPartWatcher(clock: $0)] } ?? [],
                idleTimeout: nil,
                httpDecoderConfiguration: .init(
                    maxHeaderFieldSize: limits.maxHeaderFieldSize, maxHeaderListSize: limits.maxHeaderListSize,
                    maxHeaderFieldCount: limits.maxHeaderFieldCount)))
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with Jarvis's connection limits (timeouts, header sizes, shutdown grace).
    static func guardedHTTP1(_ limits: ConnectionLimits) -> HTTPServerBuilder {
        .init { responder in GuardedHTTP1Channel(responder: responder, limits: limits) }
    }

    /// What `jarvis serve` listens with: HTTPS when the listener has a certificate, else HTTP.
    static func jarvis(_ limits: ConnectionLimits, certificate: ServerCertificate?) -> HTTPServerBuilder {
        certificate.map { guardedHTTPS(limits, certificate: $0) } ?? guardedHTTP1(limits)
    }

    /// The same behind TLS 1.3, with the certificate chosen at each handshake (reloadable).
    static func guardedHTTPS(_ limits: ConnectionLimits, certificate: ServerCertificate) -> HTTPServerBuilder {
        .init { responder in
            try TLSChannel(GuardedHTTP1Channel(responder: responder, limits: limits), tlsConfiguration: certificate.serverConfiguration())
        }
    }
}
