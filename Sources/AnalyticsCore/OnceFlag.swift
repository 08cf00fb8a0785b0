import Synchronization

/// A flag that is set once and read from any thread or task.
public final class OnceFlag: Sendable {
    private let flag = Mutex(false)

    public init() {}

    public var isSet: Bool { flag.withLock { $0 } }

    public func set() { flag.withLock { $0 = true } }
}
