import AnalyticsSpec
import AnalyticsTestSupport
import JSONSchemaValidation
import Testing

extension SegmentCase: CustomTestStringConvertible {}

/// fixtures/segment against the decoder: every case's events and counts, or its violations, exactly.
@Suite struct SegmentFixtureTests {
    let decoder = SegmentDecoder()!

    @Test func everyFileHasCasesBothWays() {
        let files = Set(SegmentCase.all.map(\.file))
        #expect(files == Set(SegmentMessageType.allCases.map { "\($0.rawValue).json" } + ["batch.json"]))
        for file in files {
            let cases = SegmentCase.all.filter { $0.file == file }
            #expect(cases.contains { $0.accepted } && cases.contains { !$0.accepted }, "\(file)")
        }
    }

    @Test(arguments: SegmentCase.all)
    func theDecoderGivesTheCasesAnswer(_ golden: SegmentCase) throws {
        let unassigned = EventID(high: 0, low: 0)
        let outcome = decoder.parse(golden.bodyBytes, as: golden.kind).flatMap { request in
            decoder.events(of: request, site: golden.site, receivedAt: golden.receivedAt) { unassigned }
        }
        switch outcome {
        case .success(let mapped):
            #expect(golden.accepted, "accepted what the case refuses")
            #expect(mapped.events.map(EventCodec.json) == golden.events)
            #expect(Dictionary(uniqueKeysWithValues: mapped.counts.map { ($0.key.rawValue, $0.value) }) == golden.counts)
        case .failure(let violation):
            #expect(!golden.accepted, "refused what the case accepts: \(violation.details)")
            #expect(violation.details.map { "\($0.instancePath) \($0.keyword)" }.sorted() == golden.errors)
            #expect(violation.details.allSatisfy { !$0.message.isEmpty })
        }
    }

    /// The schema's verdict alone (what any JSON Schema validator reaches) is the case's `valid`.
    @Test(arguments: SegmentCase.all)
    func theSchemaReachesTheCasesVerdict(_ golden: SegmentCase) throws {
        let segment = try #require(Contract.embedded.segment)
        let validator = golden.endpoint == "batch" ? segment.batch : segment.messages[SegmentMessageType(rawValue: golden.endpoint)!]!
        #expect(validator.validate(golden.body).isEmpty == golden.valid)
    }

    @Test func version5MatchesRFC9562sExample() {
        // RFC 9562 appendix A.4: the DNS namespace and "www.example.com".
        let dns = EventID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")!
        #expect(EventID.version5(namespace: dns, name: "www.example.com").description == "2ed6657d-e927-568b-95e1-2665a8aea6a2")
        let url = EventID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")!
        #expect(EventID.version5(namespace: url, name: "https://analytics.example/spec/segment-common.schema.json") == SegmentDecoder.messageIDNamespace)
    }

    @Test func aURLsPathIsWhatComesBeforeItsQuery() {
        let cases: [(String, String)] = [
            ("https://a.example/x/y?q=1#f", "/x/y"), ("https://a.example", "/"), ("https://a.example?q", "/"),
            ("https://a.example#/route", "/"), ("/relative/path?x", "/relative/path"), ("not a url", "/"),
            ("http://[::1]:8080/v6", "/v6"), ("https://a.example/", "/"), ("/login?next=https://shop/cart", "/login"),
            ("//cdn.example/x?y", "/x"), ("mailto:someone", "/"), ("/a#https://b/c", "/a"),
        ]
        for (url, path) in cases { #expect(URLPath.of(url) == path, "\(url)") }
    }
}
