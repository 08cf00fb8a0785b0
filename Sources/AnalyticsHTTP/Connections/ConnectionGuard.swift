import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes

/// Where a connection is, and the one timer that may close it (`ConnectionLimits`). Shared by the
/// connection's two guard handlers and touched only on its event loop.
///
/// A phase sets a deadline; the timer is not rescheduled at every phase (three times a request), only
/// when a deadline comes earlier than the timer it has. When the timer fires before the current deadline
/// (the connection moved on meanwhile), it is set again for that deadline.
final class ConnectionTimer {
    enum Phase {
        /// Between requests: waiting for a request's first byte.
        case idle
        /// Between a request's first byte and the end of its headers.
        case head
        /// Reading the body: between two reads of it.
        case body
        /// The request read; the response is being made. No deadline.
        case answering
    }

    private(set) var phase = Phase.idle
    private var deadline: NIODeadline?
    private var timer: Scheduled<Void>?
    private var timerAt: NIODeadline?
    private let limits: ConnectionLimits
    private let logger: Logger
    var context: ChannelHandlerContext?

    init(limits: ConnectionLimits, logger: Logger) {
        self.limits = limits
        self.logger = logger
    }

    /// Enters `phase`, with its deadline from now (none while answering).
    func enter(_ phase: Phase) {
        self.phase = phase
        let limit: Duration
        switch phase {
        case .idle: limit = limits.keepAliveTimeout
        case .head: limit = limits.headerTimeout
        case .body: limit = limits.bodyReadTimeout
        case .answering:
            deadline = nil
            return
        }
        let due = NIODeadline.now() + TimeAmount.nanoseconds(
            Int64(limit.components.seconds) * 1_000_000_000 + limit.components.attoseconds / 1_000_000_000)
        deadline = due
        if let timerAt, timerAt <= due { return }
        schedule(at: due)
    }

    private func schedule(at due: NIODeadline) {
        guard let context else { return }
        timer?.cancel()
        timerAt = due
        timer = context.eventLoop.scheduleTask(deadline: due) { [weak self] in self?.fire() }
    }

    private func fire() {
        timer = nil
        timerAt = nil
        guard let deadline, let context else { return }
        if deadline > .now() {
            schedule(at: deadline)
            return
        }
        logger.debug("connection closed: too slow", metadata: ["phase": "\(phase)", "peer": "\(context.channel.remoteAddress?.description ?? "?")"])
        context.close(promise: nil)
    }

    func stop() {
        timer?.cancel()
        timer = nil
        timerAt = nil
        deadline = nil
    }
}

/// First in the pipeline, on the connection's bytes: closes a connection over a cap at once, and starts
/// the header timer at a request's first byte.
final class ConnectionAdmissionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let counter: ConnectionCounter
    private let timer: ConnectionTimer
    private let logger: Logger
    private var address: IPAddress?
    private var counted = false

    init(counter: ConnectionCounter, timer: ConnectionTimer, logger: Logger) {
        self.counter = counter
        self.timer = timer
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        timer.context = context
        if context.channel.isActive { admit(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context: context)
        context.fireChannelActive()
    }

    private func admit(context: ChannelHandlerContext) {
        guard !counted else { return }
        address = context.channel.remoteAddress?.ipAddress.flatMap(IPAddress.init)
        guard counter.open(from: address) else {
            logger.debug("connection refused: too many open", metadata: ["peer": "\(address?.description ?? "?")", "open": "\(counter.open)"])
            context.close(promise: nil)
            return
        }
        counted = true
        timer.enter(.idle)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if timer.phase == .idle { timer.enter(.head) }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer.stop()
        if counted {
            counted = false
            counter.close(from: address)
        }
        context.fireChannelInactive()
    }
}

/// After the HTTP codec, on request and response parts: moves the connection's timer through a request
/// (headers read, each body read, the request's end) and back to idle at its response's end.
final class RequestPhaseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timer: ConnectionTimer

    init(timer: ConnectionTimer) {
        self.timer = timer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head, .body: timer.enter(.body)
        case .end: timer.enter(.answering)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), timer.phase == .answering { timer.enter(.idle) }
        context.write(data, promise: promise)
    }
}
