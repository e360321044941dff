internal import JarvisConfiguration
internal import HTTPTypes
internal import Metrics
internal import NIOCore
internal import NIOHTTP1
internal import NIOHTTPTypes

/// One connection's clock: which phase it is in and the one timer that phase allows.
///
/// - idle: no request in progress (closed after `idleTimeout`);
/// - header: bytes of a request arrived, its headers are not complete (`headerTimeout`, then a 408);
/// - body: headers read, body not complete (`bodyTimeout`);
/// - processing: the server is answering; no timer, the client is not at fault.
///
/// `@unchecked Sendable`: it is created in the channel's setup and touched only on the channel's
/// event loop, by the two handlers that share it (one before the HTTP decoder, which sees raw
/// bytes, and one after it, which sees request parts).
final class ConnectionClock: @unchecked Sendable {
    enum Phase { case idle, header, body, processing }

    let limits: ConnectionLimits
    private(set) var phase = Phase.idle
    /// Requests read in full whose responses have not ended.
    private var unanswered = 0
    /// When the current phase runs out; nil while processing.
    private var deadline: NIODeadline?
    private var timer: Scheduled<Void>?
    private var timerAt: NIODeadline?
    private var shutdownTimer: Scheduled<Void>?
    /// The raw end of the pipeline, where a 408 can be written without the HTTP encoder.
    var raw: ChannelHandlerContext?

    static let closes = (
        header: Counter(label: "jarvis_http_connections_closed_total", dimensions: [("reason", "header_timeout")]),
        body: Counter(label: "jarvis_http_connections_closed_total", dimensions: [("reason", "body_timeout")]),
        idle: Counter(label: "jarvis_http_connections_closed_total", dimensions: [("reason", "idle_timeout")]),
        shutdown: Counter(label: "jarvis_http_connections_closed_total", dimensions: [("reason", "shutdown_grace")]),
        malformed: Counter(label: "jarvis_http_connections_closed_total", dimensions: [("reason", "malformed_request")])
    )

    init(limits: ConnectionLimits) { self.limits = limits }

    func start(_ context: ChannelHandlerContext) { enter(.idle, context) }

    func bytesArrived(_ context: ChannelHandlerContext) {
        if phase == .idle { enter(.header, context) }
    }

    func headArrived(_ context: ChannelHandlerContext) { enter(.body, context) }

    func requestEnded(_ context: ChannelHandlerContext) {
        unanswered += 1
        enter(.processing, context)
    }

    func responseEnded(_ context: ChannelHandlerContext) {
        unanswered = max(unanswered - 1, 0)
        if phase == .processing && unanswered == 0 { enter(.idle, context) }
    }

    /// SIGTERM: requests in progress get `shutdownGrace`, then the connection closes whatever the client does.
    func quiesce(_ context: ChannelHandlerContext) {
        guard shutdownTimer == nil else { return }
        let channel = context.channel
        shutdownTimer = context.eventLoop.scheduleTask(in: Self.amount(limits.shutdownGrace)) {
            Self.closes.shutdown.increment()
            channel.close(promise: nil)
        }
    }

    func stop() {
        timer?.cancel()
        shutdownTimer?.cancel()
        timer = nil
        shutdownTimer = nil
        raw = nil
    }

    /// Enters a phase. Mostly only the deadline moves: a timer is (re)scheduled only when none is
    /// pending or the new deadline comes before it, and a timer that fires early reschedules
    /// itself for the current deadline — a kept-alive request costs one timer, not one per phase.
    private func enter(_ next: Phase, _ context: ChannelHandlerContext) {
        phase = next
        switch next {
        case .idle: deadline = .now() + Self.amount(limits.idleTimeout)
        case .header: deadline = .now() + Self.amount(limits.headerTimeout)
        case .body: deadline = .now() + Self.amount(limits.bodyTimeout)
        case .processing: deadline = nil
        }
        guard let deadline else { return }
        if let timer, let timerAt, deadline < timerAt {
            timer.cancel()
            self.timer = nil
        }
        if timer == nil { schedule(at: deadline, context) }
    }

    private func schedule(at deadline: NIODeadline, _ context: ChannelHandlerContext) {
        let channel = context.channel
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timerAt = deadline
        timer = context.eventLoop.scheduleTask(deadline: deadline) { [self] in
            let context = bound.value
            timer = nil
            timerAt = nil
            // Processing: no deadline; the next phase schedules again.
            guard let current = self.deadline else { return }
            guard NIODeadline.now() >= current else { return schedule(at: current, context) }
            switch phase {
            case .idle: Self.closes.idle.increment()
            case .header:
                Self.closes.header.increment()
                // Nothing of this request reached the application: answer it here.
                raw?.writeAndFlush(NIOAny(ByteBuffer(bytes: ProblemBytes.rawResponse(
                    status: .requestTimeout, code: "request-timeout", detail: "the request headers did not arrive in time"))), promise: nil)
            case .body: Self.closes.body.increment()
            case .processing: return
            }
            channel.close(promise: nil)
        }
    }

    static func amount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}

/// First in the pipeline, before the HTTP decoder: notices a request's first bytes.
final class RawReadWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    let clock: ConnectionClock

    init(clock: ConnectionClock) { self.clock = clock }

    func handlerAdded(context: ChannelHandlerContext) {
        clock.raw = context
        if context.channel.isActive { clock.start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        clock.start(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        clock.bytesArrived(context)
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        clock.stop()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { clock.stop() }
}

/// After the HTTP codec: follows request and response parts, starts the shutdown grace, and
/// answers requests the decoder could not parse with problem+json (431 for oversized headers,
/// 501 for an unknown method, 400 otherwise) instead of a bare 400.
final class RequestPartWatcher: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart
    let clock: ConnectionClock
    /// A response has started and not ended: no problem response may be written over it.
    private var responding = false

    init(clock: ConnectionClock) { self.clock = clock }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: clock.headArrived(context)
        case .body: break
        case .end: clock.requestEnded(context)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head: responding = true
        case .body: break
        case .end:
            responding = false
            clock.responseEnded(context)
        }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent { clock.quiesce(context) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A parse error while a request is being read belongs to that request's reader (a client
        // that went away mid-body, say); between requests it is the connection's, answered here.
        guard let parse = error as? HTTPParserError, clock.phase == .idle || clock.phase == .header, !responding else {
            context.fireErrorCaught(error)
            return
        }
        ConnectionClock.closes.malformed.increment()
        let status: HTTPResponse.Status
        let detail: String
        switch parse {
        case .headerOverflow:
            status = .requestHeaderFieldsTooLarge
            detail = "the request headers are too large or too many (at most \(clock.limits.maxHeaderFieldCount) fields, \(clock.limits.maxHeaderFieldSize) bytes each)"
        case .invalidMethod:
            status = .notImplemented
            detail = "the request method is not one this server implements"
        default:
            status = .badRequest
            detail = "the request could not be parsed as HTTP/1.1 (\(parse.debugDescription))"
        }
        let code = status == .badRequest ? "malformed-request" : status == .notImplemented ? "method-not-implemented" : "headers-too-large"
        let requestID = ProblemBytes.connectionRequestID()
        let body = ProblemBytes.body(status: status, code: code, detail: detail, path: nil, requestID: requestID)
        let head = HTTPResponse(
            status: status,
            headerFields: [
                .contentType: "application/problem+json", .contentLength: String(body.count), .connection: "close", .requestID: requestID,
            ])
        responding = true
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
