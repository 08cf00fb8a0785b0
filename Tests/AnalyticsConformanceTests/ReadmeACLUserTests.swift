import AnalyticsRedis
import AnalyticsTestSupport
import Foundation
import Testing

/// The operators' guide's least-privilege Redis user (docs/operations.md) is the one the queue's
/// conformance suite runs as, so a command the queue starts to send cannot be tested without reaching the
/// line users copy.
@Suite struct ReadmeACLUserTests {
    @Test func theReadmesACLUserHoldsWhatTheConformanceSuiteGrants() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/operations.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("ACL SETUSER ") }
        try #require(lines.count == 1, "one ACL SETUSER line in docs/operations.md")
        let rules = lines[0].split(separator: " ").map(String.init)
        let keyPattern = try #require(rules.firstIndex { $0.hasPrefix("~") })
        #expect(rules[keyPattern] == "~\(RedisQueueConfiguration().keyPrefix):*", "the keys under the default prefix")
        #expect(Array(rules[(keyPattern + 1)...]) == QueueBackend.leastPrivilegeCommands)
    }
}
