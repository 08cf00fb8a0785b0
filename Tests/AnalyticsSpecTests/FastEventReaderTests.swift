import AnalyticsSpec
import AnalyticsTestSupport
import JSONSchemaValidation
import Testing

/// `FastEventReader` may only ever agree with the schema validator: whatever it accepts, the contract
/// accepts, as the same event. These tests compare the two on the golden fixtures and on many
/// mutated bodies.
@Suite struct FastEventReaderTests {
    /// The same documents as the embedded contract, but compiled as a client's: the general path only.
    static let validatorOnly = EventDecoder(contract: try! Contract(documents: Contract.embeddedDocuments))
    let fixedID = EventID("0192e4a0-7b1c-7cc3-9a6e-3f4d5e6a7b8c")!

    func fast(_ body: [UInt8]) -> Event? {
        body.withUnsafeBufferPointer { FastEventReader.event($0, newID: { fixedID }) }
    }

    func general(_ body: [UInt8]) -> Event? {
        try? Self.validatorOnly.decodeEvent(body, newID: { fixedID }).get()
    }

    @Test func readsTheSeedExample() {
        let body = Array(#"{"site_id":"demo","event_type":"view","path":"/","user_id":"u1","timestamp":"2025-11-14T10:00:00Z"}"#.utf8)
        #expect(fast(body) == Event(id: fixedID, siteID: "demo", eventType: "view", path: "/", userID: "u1",
                                    timestamp: 1_763_114_400_000_000))
    }

    @Test func leavesEscapesDuplicatesAndUnknownMembersToTheValidator() {
        for body in [
            #"{"site_id":"demo","event_type":"view","path":"/\u00e9","timestamp":"2025-11-14T10:00:00Z"}"#,
            #"{"site_id":"demo","site_id":"demo","event_type":"view","path":"/","timestamp":"2025-11-14T10:00:00Z"}"#,
            #"{"site_id":"demo","event_type":"view","path":"/","timestamp":"2025-11-14T10:00:00Z","extra":1}"#,
            #"{"site_id":"demo","event_type":"view","path":"/","timestamp":"2025-11-14T10:00:60Z"}"#,
            #"{"site_id":"demo","event_type":"view","path":"/\#u{7F}","timestamp":"2025-11-14T10:00:00Z"}"#,
        ] {
            #expect(fast(Array(body.utf8)) == nil, "\(body)")
        }
    }

    @Test func agreesWithTheValidatorOnEveryEventFixture() {
        var onFastPath = 0
        for fixture in Fixture.all where fixture.schemaFile == "event.schema.json" {
            let body = JSONWriter.bytes(fixture.data)
            guard let event = fast(body) else { continue }
            onFastPath += 1
            #expect(fixture.valid, "the fast path accepted \(fixture.testDescription)")
            #expect(general(body) == event, "\(fixture.testDescription)")
        }
        #expect(onFastPath >= 10)
    }

    @Test func agreesWithTheValidatorOnMutatedBodies() {
        let seeds = [
            #"{"site_id":"demo","event_type":"view","path":"/pricing?plan=pro","user_id":"u1","timestamp":"2025-11-14T10:00:00Z"}"#,
            #"{ "event_id" : "0192E4A0-7B1C-7CC3-9A6E-3F4D5E6A7B8C", "site_id": "shop.example.com", "event_type": "signup:completed", "path": "/ünï/👋", "user_id": null, "timestamp": "2024-02-29t23:59:59.123456789-05:30" }"#,
            #"{"site_id":"a","event_type":"b","path":"/","user_id":"","timestamp":"2025-12-31T23:59:59.5+14:00"}"#,
        ].map { Array($0.utf8) }
        let alphabet = Array(#"{}[]:,"\ /.-_+Ttz0159aAé\#u{7F}"#.utf8) + [0x00, 0x09, 0x0A, 0x1F, 0xC3, 0xFF, 0xF0, 0x80]
        var generator = SeededGenerator(seed: 2025)
        var accepted = 0
        var agreed = 0
        for round in 0..<30_000 {
            var body = seeds[round % seeds.count]
            for _ in 0...Int.random(in: 0..<3, using: &generator) {
                let position = Int.random(in: 0..<body.count, using: &generator)
                switch Int.random(in: 0..<4, using: &generator) {
                case 0: body[position] = alphabet.randomElement(using: &generator)!
                case 1: body.insert(alphabet.randomElement(using: &generator)!, at: position)
                case 2: body.remove(at: position)
                default: body.insert(contentsOf: body[position..<min(body.count, position + 12)], at: position)
                }
                if body.isEmpty { body = seeds[0] }
            }
            guard let event = fast(body) else { continue }
            accepted += 1
            let reference = general(body)
            #expect(reference == event, "\(String(decoding: body, as: UTF8.self))")
            if reference == event { agreed += 1 }
        }
        #expect(accepted >= 1_000)
        #expect(agreed == accepted)
    }

    @Test func readsBatchesLikeTheValidator() throws {
        let item = #"{"site_id":"demo","event_type":"view","path":"/","user_id":"u1","timestamp":"2025-11-14T10:00:00Z"}"#
        let body = Array(("[" + Array(repeating: item, count: 3).joined(separator: " ,\n") + "]").utf8)
        let fastEvents = body.withUnsafeBufferPointer { FastEventReader.batch($0, newID: { fixedID }) }
        let reference = try Self.validatorOnly.decodeBatch(body, newID: { fixedID }).get()
        #expect(fastEvents == reference)
        #expect(fastEvents?.count == 3)

        for refused in ["[]", "[" + Array(repeating: item, count: 1001).joined(separator: ",") + "]", "[\(item),]", "[\(item)] x"] {
            #expect(Array(refused.utf8).withUnsafeBufferPointer { FastEventReader.batch($0, newID: { fixedID }) } == nil)
        }
    }

    @Test func codecPayloadsAreTheWritersBytesAndReadBack() {
        var generator = SeededGenerator(seed: 7)
        let texts = ["/", "/a\"b", "/back\\slash", "/ünï/👋", "/tab\there", "plain"]
        for round in 0..<2_000 {
            let event = Event(
                id: EventID(high: generator.next(), low: generator.next()),
                siteID: "site-\(round % 7)", eventType: round % 2 == 0 ? "view" : "a:b",
                path: texts[round % texts.count], userID: round % 3 == 0 ? nil : texts[(round / 3) % texts.count],
                timestamp: Int64.random(in: -62_135_596_800_000_000...253_402_300_799_999_999, using: &generator))
            let payload = EventCodec.encode(event)
            #expect(payload == JSONWriter.string(EventCodec.json(event)))
            #expect(EventCodec.decode(payload) == event)
        }
    }

    @Test func timestampTextMatchesTheCalendar() {
        var generator = SeededGenerator(seed: 11)
        for _ in 0..<5_000 {
            let micros = Int64.random(in: -62_135_596_800_000_000...253_402_300_799_999_999, using: &generator)
            let text = RFC3339Formatter.utc(microseconds: micros)
            guard case .success(let parsed) = RFC3339.parseDateTime(text) else {
                Issue.record("\(text) does not parse")
                continue
            }
            #expect(parsed.microsecondsSinceEpoch == micros, "\(text)")
            #expect(text.utf8.count == 27)
        }
    }
}
