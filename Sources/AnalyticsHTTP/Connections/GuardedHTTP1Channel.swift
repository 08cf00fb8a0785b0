import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// Hummingbird's HTTP/1.1 channel with `ConnectionLimits` enforced: a connection over a cap is closed at
/// once, and one too slow at any step is closed when its time is up.
///
/// Written here rather than with Hummingbird's own knobs: its `idleTimeout` closes a connection idle for
/// that long, which a client trickling a byte at a time never is, and its `MaximumAvailableConnections`
/// stops accepting, which leaves new connections waiting in the listen queue instead of closing them.
struct GuardedHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value

    let responder: HTTPChannelHandler.Responder
    let counter: ConnectionCounter

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let timer = ConnectionTimer(limits: counter.limits, logger: logger)
        do {
            try channel.pipeline.syncOperations.addHandler(ConnectionAdmissionHandler(counter: counter, timer: timer, logger: logger))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        // Called at once, on this event loop, by the setup below.
        let phases = NIOLoopBound(RequestPhaseHandler(timer: timer), eventLoop: channel.eventLoop)
        let http1 = HTTP1Channel(responder: responder, configuration: .init(additionalChannelHandlers: [phases.value]))
        return http1.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with `limits` enforced on every connection.
    public static func http1(limits: ConnectionLimits) -> HTTPServerBuilder {
        let counter = ConnectionCounter(limits: limits)
        return HTTPServerBuilder { responder in GuardedHTTP1Channel(responder: responder, counter: counter) }
    }
}
