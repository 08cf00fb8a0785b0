import Testing

/// Runs each test case with a `ServerLeftovers` of its own and removes them when it ends, passed or
/// failed: the schemas and Redis keys the real backends made for it.
public struct RemovesServerLeftovers: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        testCase == nil ? nil : self
    }

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let leftovers = ServerLeftovers()
        do {
            try await ServerLeftovers.$current.withValue(leftovers) { try await function() }
        } catch {
            await leftovers.removeAll()
            throw error
        }
        await leftovers.removeAll()
    }
}

extension Trait where Self == RemovesServerLeftovers {
    /// Removes what the real backends made for each test case once it has ended.
    public static var removesServerLeftovers: Self { Self() }
}
