import AnalyticsCore
import AnalyticsInMemory
import AnalyticsReadModel
import Foundation

/// Whether the suites against real servers run: `ANALYTICS_INTEGRATION=1`, with `REDIS_URL` and `DATABASE_URL`.
public enum Integration {
    public static var enabled: Bool { ProcessInfo.processInfo.environment["ANALYTICS_INTEGRATION"] == "1" }
    public static var redisURL: String? { ProcessInfo.processInfo.environment["REDIS_URL"] }
    public static var databaseURL: String? { ProcessInfo.processInfo.environment["DATABASE_URL"] }
}

/// A queue for one test, and a way to let time pass for it.
public struct QueueUnderTest: Sendable {
    public let queue: any EventQueue
    /// Advances the queue's clock: instantly for the in-memory queue, by really waiting for a server.
    public let pass: @Sendable (Duration) async throws -> Void

    public init(queue: any EventQueue, pass: @escaping @Sendable (Duration) async throws -> Void) {
        self.queue = queue
        self.pass = pass
    }
}

/// One implementation of `EventQueue` that the conformance suite runs against.
public struct QueueBackend: Sendable, CustomStringConvertible {
    public let description: String
    /// A fresh, empty queue with the given visibility timeout.
    public let make: @Sendable (_ visibilityTimeout: Duration) async throws -> QueueUnderTest

    public init(_ name: String, make: @escaping @Sendable (Duration) async throws -> QueueUnderTest) {
        description = name
        self.make = make
    }

    public static let inMemory = QueueBackend("InMemoryQueue") { visibility in
        let clock = ManualClock()
        return QueueUnderTest(queue: InMemoryQueue(clock: clock, visibilityTimeout: visibility)) { clock.advance(by: $0) }
    }

    /// The in-memory queue, and the real ones when integration tests are enabled.
    public static var all: [QueueBackend] { [inMemory] + (Integration.enabled ? real : []) }
}

/// One implementation of `EventStore` that the conformance suite runs against.
public struct StoreBackend: Sendable, CustomStringConvertible {
    public let description: String
    /// A fresh, empty store.
    public let make: @Sendable () async throws -> any EventStore

    public init(_ name: String, make: @escaping @Sendable () async throws -> any EventStore) {
        description = name
        self.make = make
    }

    public static let inMemory = StoreBackend("InMemoryStore") { InMemoryStore() }
    /// The aggregates the Postgres store answers from, fed directly.
    public static let readModel = StoreBackend("ReadModelStore") { ReadModelStore() }

    /// The in-memory stores, and the real ones when integration tests are enabled.
    public static var all: [StoreBackend] { [inMemory, readModel] + (Integration.enabled ? real : []) }
}

/// One implementation of `SiteRegistry` that the conformance suite runs against.
public struct RegistryBackend: Sendable, CustomStringConvertible {
    public let description: String
    /// A fresh, empty registry.
    public let make: @Sendable () async throws -> any SiteRegistry

    public init(_ name: String, make: @escaping @Sendable () async throws -> any SiteRegistry) {
        description = name
        self.make = make
    }

    public static let inMemory = RegistryBackend("InMemorySiteRegistry") { InMemorySiteRegistry() }

    /// The in-memory registry, and the Postgres one when integration tests are enabled.
    public static var all: [RegistryBackend] { [inMemory] + (Integration.enabled ? [postgres] : []) }
}
