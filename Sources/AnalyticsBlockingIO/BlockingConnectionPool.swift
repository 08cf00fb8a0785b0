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
        /// Callers waiting for a connection, first come first served; the number is how a cancelled one
        /// is found to be taken out of the line.
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Slot, any Error>)] = []
        var lastWaiterID: UInt64 = 0
        var shutDown = false
    }

    private enum CheckOutOutcome {
        case ready(Slot)
        case waiting(UInt64)
        case closed
        case cancelled
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

    /// A free connection at once when there is one: one lock, and no continuation or cancellation
    /// handler, since this is every store and queue call's path. Otherwise the caller waits in line.
    private func checkOut() async throws -> Slot {
        let outcome = state.withLock { state -> CheckOutOutcome in
            if state.shutDown { return .closed }
            if let slot = state.idle.popLast() { return .ready(slot) }
            state.lastWaiterID &+= 1
            return .waiting(state.lastWaiterID)
        }
        switch outcome {
        case .ready(let slot): return slot
        case .waiting(let id): return try await waitForSlot(id)
        case .closed, .cancelled: throw PoolClosed()
        }
    }

    /// Waits in line for a connection. A caller cancelled while waiting leaves the line and throws
    /// `CancellationError` at once, rather than wait for all the calls ahead of it (each bounded only by
    /// the connection's timeouts) and then take a connection it no longer needs. Once a call runs on a
    /// pool thread, it runs to the end: a blocking C call cannot be interrupted.
    private func waitForSlot(_ id: UInt64) async throws -> Slot {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Slot, any Error>) in
                let outcome = state.withLock { state -> CheckOutOutcome in
                    if state.shutDown { return .closed }
                    // One may have been checked in since the first look.
                    if let slot = state.idle.popLast() { return .ready(slot) }
                    // Checked under the lock the cancellation handler takes, so that a cancellation
                    // either is seen here or finds the caller in line.
                    if Task.isCancelled { return .cancelled }
                    state.waiters.append((id, continuation))
                    return .waiting(id)
                }
                switch outcome {
                case .ready(let slot): continuation.resume(returning: slot)
                case .closed: continuation.resume(throwing: PoolClosed())
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .waiting: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Slot, any Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    private func checkIn(_ slot: Slot) {
        let waiter = state.withLock { state -> CheckedContinuation<Slot, any Error>? in
            if state.waiters.isEmpty {
                state.idle.append(slot)
                return nil
            }
            return state.waiters.removeFirst().continuation
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
        for waiter in waiters { waiter.continuation.resume(throwing: PoolClosed()) }
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
