import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes

/// Where a connection is, and the one timer that may close it (`ConnectionLimits`). Shared by the
/// connection's two guard handlers and touched only on its event loop.
///
/// The deadline follows from two facts: whether a request is being read (between its head and its end:
/// the body deadline, from each read), and how many requests await their responses' ends (pipelined
/// requests, or a request still being read after its answer went out). With neither, the connection is
/// idle: the keep-alive deadline until a request's first byte, then the header deadline. While answers
/// are owed and nothing is being read, there is none: the handlers take the time they take.
///
/// The timer is not rescheduled at every step (three times a request), only when a deadline comes earlier
/// than the timer it has; when it fires before the current deadline, it is set again for that deadline.
final class ConnectionTimer {
    private var reading = false
    private var owed = 0
    private var headStarted = false
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

    /// The connection opened.
    func opened() { settle() }

    /// Bytes arrived: the first of a request starts the header deadline.
    func bytesArrived() {
        guard !reading, !headStarted, owed == 0 else { return }
        headStarted = true
        arm(limits.headerTimeout)
    }

    func requestHead() {
        reading = true
        owed += 1
        headStarted = false
        arm(limits.bodyReadTimeout)
    }

    func requestBody() { arm(limits.bodyReadTimeout) }

    func requestEnd() {
        reading = false
        settle()
    }

    func responseEnd() {
        owed = max(0, owed - 1)
        settle()
    }

    /// The deadline of the present state, when no request is being read.
    private func settle() {
        guard !reading else { return }
        if owed > 0 {
            deadline = nil
        } else if headStarted {
            return
        } else {
            arm(limits.keepAliveTimeout)
        }
    }

    private func arm(_ limit: Duration) {
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
        logger.debug("connection closed: too slow", metadata: [
            "state": "\(reading ? "reading a request" : headStarted ? "reading headers" : "idle")",
            "peer": "\(context.channel.remoteAddress?.description ?? "?")",
        ])
        context.close(promise: nil)
    }

    /// The connection closed: no timer, and no reference to its pipeline left.
    func stop() {
        timer?.cancel()
        timer = nil
        timerAt = nil
        deadline = nil
        context = nil
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
        timer.opened()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        timer.bytesArrived()
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer.stop()
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
        case .head: timer.requestHead()
        case .body: timer.requestBody()
        case .end: timer.requestEnd()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { timer.responseEnd() }
        context.write(data, promise: promise)
    }
}
