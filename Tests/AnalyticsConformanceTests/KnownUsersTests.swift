@testable import AnalyticsPostgres
import AnalyticsSpec
import Testing

/// The worker-side set of `site_users` keys: what it reports unknown is exactly what a batch must look up.
struct KnownUsersTests {
    private func event(_ site: String, _ type: String, _ user: String?) -> Event {
        Event(id: EventID(high: .random(in: 0...UInt64.max), low: .random(in: 0...UInt64.max)),
              siteID: site, eventType: type, path: "/", userID: user, timestamp: 0)
    }

    private func names(_ keys: [KnownUsers.Key]) -> [String] {
        keys.map { "\($0.siteID)|\($0.eventType)|\($0.item)" }
    }

    @Test func reportsEachKeyOnceUntilItIsCommitted() {
        let known = KnownUsers(capacity: 100)
        let batch = [
            event("a", "view", "u1"), event("a", "view", "u1"), event("a", "click", "u1"),
            event("b", "view", "u1"), event("a", "view", nil), event("a", "view", "u2"),
        ]
        let unknown = known.unknown(in: batch)
        #expect(names(unknown) == ["a|view|u1", "a|click|u1", "b|view|u1", "a|view|u2"])
        // Not committed yet: the next batch still has to look them up.
        #expect(known.unknown(in: batch).count == 4)

        known.insert(unknown, ifStill: known.generation)
        #expect(known.unknown(in: batch).isEmpty)
        #expect(names(known.unknown(in: [event("a", "view", "u1"), event("a", "view", "u3")])) == ["a|view|u3"])
    }

    @Test func comparesKeysByteForByte() {
        let known = KnownUsers(capacity: 100)
        known.insert(known.unknown(in: [event("s", "view", "caf\u{E9}")]), ifStill: known.generation)
        let unknown = known.unknown(in: [event("s", "view", "cafe\u{301}"), event("s", "view", "caf\u{E9}")])
        #expect(unknown.map { Array($0.item.utf8) } == [Array("cafe\u{301}".utf8)])
    }

    @Test func startsAgainEmptyWhenFull() {
        let known = KnownUsers(capacity: 3)
        known.insert(known.unknown(in: [event("a", "view", "u1"), event("a", "view", "u2")]), ifStill: known.generation)
        #expect(known.count == 2)
        known.insert(known.unknown(in: [event("a", "view", "u3"), event("a", "view", "u4")]), ifStill: known.generation)
        #expect(known.count == 2)
        #expect(names(known.unknown(in: [event("a", "view", "u1"), event("a", "view", "u4")])) == ["a|view|u1"])
    }

    @Test func rememberingNothingLooksEverythingUp() {
        let known = KnownUsers(capacity: 0)
        let batch = [event("a", "view", "u1")]
        known.insert(known.unknown(in: batch), ifStill: known.generation)
        #expect(known.count == 0)
        #expect(known.unknown(in: batch).count == 1)
    }
}
