import AnalyticsSpec
import JSONSchemaValidation
import Testing

@Suite struct EventDecoderTests {
    let decoder = EventDecoder()
    let assigned = EventID("0192e4a0-7b1c-7cc3-9a6e-3f4d5e6a7b8c")!

    @Test func decodesTheSeedExample() throws {
        let body = #"{"site_id":"demo","event_type":"view","path":"/","user_id":"u1","timestamp":"2025-11-14T10:00:00Z"}"#
        let event = try decoder.decodeEvent(Array(body.utf8), newID: { assigned }).get()
        #expect(event == Event(id: assigned, siteID: "demo", eventType: "view", path: "/", userID: "u1",
                               timestamp: 1_763_114_400_000_000))
        #expect(event.utcDate.description == "2025-11-14")
        #expect(event.timestampText == "2025-11-14T10:00:00.000000Z")
    }

    @Test func keepsTheClientsEventIDInCanonicalForm() throws {
        let body = #"{"site_id":"d","event_type":"v","path":"/","timestamp":"2025-11-14T10:00:00Z","event_id":"3F1B2C4D-5E6F-4A7B-8C9D-0E1F2A3B4C5D"}"#
        let event = try decoder.decodeEvent(Array(body.utf8), newID: { Issue.record("assigned an ID"); return assigned }).get()
        #expect(event.id.description == "3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
    }

    @Test(arguments: [#","user_id":"""#, #","user_id":null"#, ""])
    func emptyOrAbsentUserIDIsNull(member: String) throws {
        let body = #"{"site_id":"d","event_type":"v","path":"/","timestamp":"2025-11-15T04:30:00+05:30"\#(member)}"#
        let event = try decoder.decodeEvent(Array(body.utf8), newID: { assigned }).get()
        #expect(event.userID == nil)
        #expect(event.utcDate.description == "2025-11-14")
    }

    @Test func malformedJSONIsAViolationNotACrash() {
        guard case .failure(let violation) = decoder.decodeEvent(Array(#"{"site_id":"#.utf8), newID: { assigned }) else {
            Issue.record("accepted malformed JSON")
            return
        }
        #expect(violation.summary == "body is not valid JSON")
        #expect(violation.details.map(\.keyword) == ["json"])
    }

    @Test func batchViolationsAreReportedByItemIndex() {
        let body = #"[{"site_id":"d","event_type":"v","path":"/","timestamp":"2025-11-14T10:00:00Z"},{"site_id":"d","event_type":"v","path":"x"}]"#
        guard case .failure(let violation) = decoder.decodeBatch(Array(body.utf8), newID: { assigned }) else {
            Issue.record("accepted an invalid batch")
            return
        }
        #expect(violation.summary == "invalid batch")
        #expect(describe(violation.details) == ["/1/path pattern", "/1/timestamp required"])
    }

    @Test func batchesDecodeEveryEventWithDistinctAssignedIDs() throws {
        let one = #"{"site_id":"d","event_type":"v","path":"/","timestamp":"2025-11-14T10:00:00Z"}"#
        var generator = SystemRandomNumberGenerator()
        let events = try decoder.decodeBatch(Array("[\(one),\(one),\(one)]".utf8), newID: {
            EventID.version7(unixMilliseconds: 1_763_114_400_000, using: &generator)
        }).get()
        #expect(events.count == 3)
        #expect(Set(events.map(\.id)).count == 3)
        #expect(events.allSatisfy { $0.id.version == 7 })
    }

    @Test func errorBodyFollowsTheErrorSchema() {
        let violation = ContractViolation(summary: "invalid event", details: [
            SchemaViolation(instancePath: JSONPointer([.key("site_id")]), keyword: "required", message: "is required"),
        ])
        #expect(Contract.embedded.error.validate(violation.errorBody).isEmpty)
        #expect(JSONWriter.string(violation.errorBody)
            == #"{"error":"invalid event","details":[{"path":"/site_id","keyword":"required","message":"is required"}]}"#)
    }

    @Test func version7IDsSortByTime() {
        var generator = SystemRandomNumberGenerator()
        let earlier = EventID.version7(unixMilliseconds: 1_000, using: &generator)
        let later = EventID.version7(unixMilliseconds: 1_001, using: &generator)
        #expect(earlier < later)
        #expect(EventID(later.description) == later)
        #expect(later.description.count == 36)
    }

    @Test func aLooserContractIsReportedNotTrusted() throws {
        // Segment's and the tracker's schemas refer into the event schema, so they go with it.
        let loose = Contract.embeddedDocuments.filter { !$0.name.hasPrefix("segment-") && $0.name != "collect.schema.json" }.map { document in
            document.name == "event.schema.json"
                ? (name: document.name, text: #"{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"https://analytics.example/spec/event.schema.json","type":"object","properties":{"site_id":{"type":"string"},"event_type":{"type":"string"}}}"#)
                : document
        }
        let decoder = EventDecoder(contract: try Contract(documents: loose))
        guard case .failure(let violation) = decoder.decodeEvent(Array(#"{"site_id":"d"}"#.utf8), newID: { assigned }) else {
            Issue.record("accepted an event without its fields")
            return
        }
        #expect(describe(violation.details) == ["/event_type required"])
        guard case .failure(let batch) = decoder.decodeBatch(Array(#"[{"site_id":"d","event_type":"v","path":"/"}]"#.utf8), newID: { assigned }) else {
            Issue.record("accepted a batch event without a timestamp")
            return
        }
        #expect(describe(batch.details) == ["/0/timestamp format"])
    }
}
