import AnalyticsCore
import AnalyticsInMemory
import AnalyticsSpec
import AnalyticsTestSupport
import JSONSchemaValidation
import Testing

/// What the contract accepts at its edges, the queue carries and the store keeps: the first and last
/// instants it accepts and the longest event types, paths and user IDs, in several scripts. A 200 from ingestion
/// is a promise that the event will be stored, so every one of these must come out again.
@Suite(.removesServerLeftovers) struct ContractExtremesTests {
    /// Accepted by the embedded contract (each one is checked), with distinct IDs.
    static func extremeEvents(site: String) throws -> [Event] {
        let timestamps = [
            "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+00:00", "0001-01-01T00:00:00-14:00",
            "9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59-00:00", "9999-12-31T23:59:59+14:00",
            "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999999Z",
        ]
        // Random code points, so that PostgreSQL cannot compress them below the limits they test.
        var generator = SeededGenerator(seed: 19)
        let paths = [
            "/" + Self.random(bytes: 2047, width: 1, using: &generator),
            "/" + Self.random(bytes: 2046, width: 2, using: &generator) + "a",
            "/" + Self.random(bytes: 2046, width: 3, using: &generator) + "a",
            "/" + Self.random(bytes: 2044, width: 4, using: &generator) + "abc",
            "/" + Self.random(bytes: 1020, width: 2, using: &generator) + Self.random(bytes: 1026, width: 3, using: &generator) + "a",
            "/ünï/çødé?q=𝄞",
        ]
        let users: [String?] = [
            Self.random(bytes: 256, width: 1, using: &generator), Self.random(bytes: 256, width: 2, using: &generator),
            Self.random(bytes: 255, width: 3, using: &generator) + "u", Self.random(bytes: 256, width: 4, using: &generator), nil, "u1",
        ]
        // The longest event types: 64 code points, 128 bytes of UTF-8.
        let types = [
            String(repeating: "t", count: 64), Self.random(bytes: 128, width: 2, using: &generator),
            Self.random(bytes: 96, width: 4, using: &generator) + Self.random(bytes: 32, width: 1, using: &generator),
            Self.random(bytes: 63, width: 1, using: &generator) + "é",
        ]
        var events: [Event] = []
        for (index, path) in paths.enumerated() {
            for (offset, timestamp) in timestamps.enumerated() {
                let object: JSONValue = .object(JSONObject(uniqueMembers: [
                    ("site_id", .string(site)),
                    ("event_type", .string(offset % 2 == 0 ? types[(index + offset / 2) % types.count] : "view")),
                    ("path", .string(path)),
                    ("timestamp", .string(timestamp)),
                    ("user_id", users[(index + offset) % users.count].map(JSONValue.string) ?? .null),
                ]))
                let body = Array(JSONWriter.string(object).utf8)
                var generator = SystemRandomNumberGenerator()
                let event = try EventDecoder().decodeEvent(body) { EventID.version7(unixMilliseconds: 1, using: &generator) }.get()
                events.append(event)
            }
        }
        return events
    }

    /// `bytes` bytes of random code points `width` bytes long each in UTF-8, none a control character.
    static func random(bytes: Int, width: Int, using generator: inout SeededGenerator) -> String {
        let range: ClosedRange<UInt32> = switch width {
        case 1: 0x21...0x7E
        case 2: 0xA0...0x7FF
        case 3: 0x800...0xD7FF
        default: 0x10000...0x10FFFF
        }
        var scalars = String.UnicodeScalarView()
        for _ in 0..<(bytes / width) { scalars.append(Unicode.Scalar(UInt32.random(in: range, using: &generator))!) }
        return String(scalars)
    }

    @Test func everyExtremeIsValidAndRoundTripsThroughTheCodec() throws {
        for event in try Self.extremeEvents(site: "edges") {
            #expect(EventCodec.decode(EventCodec.encode(event)) == event)
            let payload = Array(EventCodec.encode(event).utf8)
            #expect(Contract.embedded.event.validate(try JSONParser.parse(payload)).isEmpty, "\(EventCodec.encode(event).prefix(80))")
        }
    }

    @Test(arguments: QueueBackend.all)
    func theQueueCarriesThem(_ backend: QueueBackend) async throws {
        let queue = try await backend.make(.seconds(30)).queue
        let events = try Self.extremeEvents(site: "edges")
        try await queue.enqueue(events)
        let deliveries = try await queue.reserve(consumer: "a", max: events.count + 1, wait: .zero)
        #expect(deliveries.map(\.event) == events)
    }

    @Test(arguments: StoreBackend.all)
    func theStoreKeepsThem(_ backend: StoreBackend) async throws {
        let store = try await backend.make()
        let site = String(repeating: "s", count: 128)
        let events = try Self.extremeEvents(site: site)
        #expect(try await store.insert(events) == InsertResult(inserted: events.count, duplicates: 0))
        #expect(try await store.insert(events) == InsertResult(inserted: 0, duplicates: events.count))
        let all = try await store.stats(StatsQuery(siteID: site, limit: 100))
        #expect(all.totalViews == events.count)
        #expect(all.uniqueUsers == Set(events.compactMap(\.userID)).count)
        #expect(Set(all.topPaths.map(\.path)) == Set(events.map(\.path)))
        for day in ["0001-01-01", "9999-12-31"] {
            let query = try StatsQuery.parse([("site_id", site), ("date", day), ("limit", "100")]).get()
            let expected = events.filter { $0.utcDate.description == day }
            let answer = try await store.stats(query)
            #expect(answer.totalViews == expected.count, "\(day)")
            #expect(answer.uniqueUsers == Set(expected.compactMap(\.userID)).count, "\(day)")
        }
        // The first and last days in the zones furthest ahead of and behind UTC, where a day starts
        // before the first instant the contract accepts or ends after the last, on every endpoint.
        let reference = InMemoryStore()
        _ = try await reference.insert(events)
        for name in ["Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"] {
            let zone = try #require(ReportingZone(named: name))
            for day in [CalendarDate(year: 1, month: 1, day: 1), CalendarDate(year: 9999, month: 12, day: 31)] {
                let stats = StatsQuery(siteID: site, period: .day(day), zone: zone, limit: 100)
                #expect(try await store.stats(stats) == reference.stats(stats), "\(name) \(day)")
                let series = try #require(TimeseriesQuery(siteID: site, from: day, to: day, interval: .hour, zone: zone))
                #expect(try await store.timeseries(series) == reference.timeseries(series), "\(name) \(day)")
                let breakdown = BreakdownQuery(siteID: site, dimension: .path, period: .day(day), zone: zone, limit: 1000)
                #expect(try await store.breakdown(breakdown) == reference.breakdown(breakdown), "\(name) \(day)")
            }
        }
    }

    /// The limits are the store's: one step past them (a 512-byte user with the longest path), PostgreSQL
    /// refuses the row. So the contract's limits are not looser than they need to be hidden by compression.
    @Test(.enabled(if: Integration.enabled, "needs ANALYTICS_INTEGRATION=1 and DATABASE_URL"))
    func postgresRefusesARowPastTheLimits() async throws {
        let store = try await StoreBackend.postgres.make()
        var generator = SeededGenerator(seed: 20)
        var event = makeEvents(1, site: String(repeating: "s", count: 128))[0]
        event.eventType = Self.random(bytes: 128, width: 2, using: &generator)
        event.path = "/" + Self.random(bytes: 2047, width: 1, using: &generator)
        event.userID = Self.random(bytes: 512, width: 1, using: &generator)
        await #expect(throws: StoreFailure.self) { try await store.insert([event]) }
        event.userID = Self.random(bytes: 256, width: 1, using: &generator)
        #expect(try await store.insert([event]).inserted == 1)
    }
}
