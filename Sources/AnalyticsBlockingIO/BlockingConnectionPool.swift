import NIOPosix
import Synchronization

/// A connection whose calls block: a hiredis or libpq handle. It is used by one thread at a time.
public protocol BlockingConnection: AnyObject, SendableMetatype {
    /// True once the connection failed and must not be used again.
    var isBroken: Bool { get }
    func close()
}

/// A small pool of blocking connections, each used on a dedicated thread of an `NIOThreadPool`, never on
/// Swift's cooperative pool or a NIO event loop. Callers await; the blocking call runs on a pool thread
/// and its result comes back through a continuation.
///
/// Connections are opened lazily, on a pool thread. One that breaks is closed and replaced by a new one
/// on the next use, so a restarted server is picked up without a restart of the process. Connecting and
/// every call are bounded by the connection's own timeouts, so no caller waits forever.
public final class BlockingConnectionPool<Connection: BlockingConnection>: Sendable {
    private final class Slot: @unchecked Sendable {
        // Only touched by the one task that has checked the slot out.
        var connection: Connection?
    }

    private struct State {
        var idle: [Slot] = []
        var waiters: [CheckedContinuation<Slot, any Error>] = []
        var shutDown = false
    }

    private enum CheckOutOutcome {
        case ready(Slot)
        case waiting
        case closed
    }

    private let threads: NIOThreadPool
    private let connect: @Sendable () throws -> Connection
    private let state: Mutex<State>

    /// - Parameters:
    ///   - size: connections, and the threads that run them.
    ///   - connect: opens a connection; runs on a pool thread.
    public init(size: Int, connect: @escaping @Sendable () throws -> Connection) {
        let size = max(1, size)
        threads = NIOThreadPool(numberOfThreads: size)
        threads.start()
        self.connect = connect
        state = Mutex(State(idle: (0..<size).map { _ in Slot() }))
    }

    /// Runs `body` with a connection on a pool thread. When the connection breaks during `body`, it is
    /// closed and the error is rethrown; the next call opens a fresh one.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        let slot = try await checkOut()
        defer { checkIn(slot) }
        let connect = self.connect
        return try await threads.runIfActive {
            if let connection = slot.connection, connection.isBroken {
                connection.close()
                slot.connection = nil
            }
            let connection = try slot.connection ?? connect()
            slot.connection = connection
            defer {
                if connection.isBroken {
                    connection.close()
                    slot.connection = nil
                }
            }
            return try body(connection)
        }
    }

    private func checkOut() async throws -> Slot {
        return try await withCheckedThrowingContinuation { continuation in
            let outcome = state.withLock { state -> CheckOutOutcome in
                if state.shutDown { return .closed }
                if let slot = state.idle.popLast() { return .ready(slot) }
                state.waiters.append(continuation)
                return .waiting
            }
            switch outcome {
            case .ready(let slot): continuation.resume(returning: slot)
            case .closed: continuation.resume(throwing: PoolClosed())
            case .waiting: break
            }
        }
    }

    private func checkIn(_ slot: Slot) {
        let waiter = state.withLock { state -> CheckedContinuation<Slot, any Error>? in
            if state.waiters.isEmpty {
                state.idle.append(slot)
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.resume(returning: slot)
    }

    /// Closes idle connections and stops the threads once running calls finish.
    public func shutdown() async {
        let (idle, waiters) = state.withLock { state in
            state.shutDown = true
            defer {
                state.idle = []
                state.waiters = []
            }
            return (state.idle, state.waiters)
        }
        for waiter in waiters { waiter.resume(throwing: PoolClosed()) }
        _ = try? await threads.runIfActive {
            for slot in idle { slot.connection?.close() }
        }
        try? await threads.shutdownGracefully()
    }
}

/// The pool was shut down.
public struct PoolClosed: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "connection pool is shut down" }
}
