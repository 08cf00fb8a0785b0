extension QueueBackend {
    /// Queues on real servers; the Redis one arrives with the hiredis module.
    static var real: [QueueBackend] { [] }
}

extension StoreBackend {
    /// Stores on real servers; the Postgres one arrives with the libpq module.
    static var real: [StoreBackend] { [] }
}
