import AnalyticsSpec
import AnalyticsTestSupport
import Testing

/// Events for tests: distinct IDs, one site, consecutive seconds.
func makeEvents(_ count: Int, site: String = "conf", path: (Int) -> String = { "/\($0)" }) -> [Event] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { index in
        Event(
            id: EventID.version7(unixMilliseconds: 1_763_114_400_000 + UInt64(index), using: &generator),
            siteID: site, eventType: "view", path: path(index), userID: "u\(index % 7)",
            timestamp: 1_763_114_400_000_000 + Int64(index) * 1_000_000)
    }
}

extension Scenario: CustomTestStringConvertible {}
