import AnalyticsSpec
import Hummingbird
import HummingbirdTesting
import JSONSchemaValidation
import NIOCore
import Testing

/// No request costs more than its size: the attacks that once did, each answered with a small 400 in a
/// time far below what they took before (the limits are generous; the old behaviour exceeded them many
/// times over: a 50 MB answer, 3.6 s for one request).
@Suite struct BoundedWorkTests {
    /// 174,762 empty objects in 512 KiB: refused as too long a batch before any item is validated.
    @Test(arguments: setups)
    func anOverLongBatchIsRefusedWholeWithOneViolation(_ setup: TestingSetup) async throws {
        let body = "[" + Array(repeating: "{}", count: 174_762).joined(separator: ",") + "]"
        #expect(body.utf8.count <= 512 * 1024)
        let pipeline = Pipeline()
        try await pipeline.ingestion().test(setup) { client in
            let took = try await ContinuousClock().measure {
                try await client.execute(uri: "/events", method: .post, headers: jsonHeaders, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .badRequest)
                    #expect(response.violations == [" maxItems"])
                    #expect(response.body.readableBytes < 1024)
                }
            }
            #expect(took < .seconds(10))
        }
        #expect(try await pipeline.queued().isEmpty)
    }

    /// A batch within the limit whose items are all wrong lists the first 100 violations and counts the rest.
    @Test(arguments: setups)
    func violationsAreCappedAndTheRestCounted(_ setup: TestingSetup) async throws {
        let body = "[" + Array(repeating: "{}", count: 1000).joined(separator: ",") + "]"
        try await Pipeline().ingestion().test(setup) { client in
            try await client.execute(uri: "/events", method: .post, headers: jsonHeaders, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .badRequest)
                #expect(response.violations.count == ContractViolation.maximumDetails)
                #expect(response.violations.first == "/0/site_id required")
                #expect(response.json["omitted"] == .number(4000 - 100))
                #expect(response.body.readableBytes < 16 * 1024)
                #expect(Contract.embedded.error.validate(response.json).isEmpty)
            }
        }
    }

    /// An object of 65,000 keys (520 KB): its keys are checked for repeats in linear time, and its
    /// 65,000 unexpected members make a capped answer.
    @Test(arguments: setups)
    func anObjectOfManyKeysIsCheapToRefuse(_ setup: TestingSetup) async throws {
        // Keys of three letters and digits: 8 bytes a member, as in the attack.
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        let members = (0..<65_000).map { index in
            "\"" + String([alphabet[index / 3844], alphabet[index / 62 % 62], alphabet[index % 62]]) + "\":0"
        }.joined(separator: ",")
        let body = "[{" + members + "}]"
        #expect(body.utf8.count <= 512 * 1024)
        try await Pipeline().ingestion().test(setup) { client in
            let took = try await ContinuousClock().measure {
                try await client.execute(uri: "/events", method: .post, headers: jsonHeaders, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .badRequest)
                    #expect(response.violations.count == ContractViolation.maximumDetails)
                    #expect(response.json["omitted"] == .number(65_000 + 4 - 100))
                }
            }
            // About 0.1 s in a debug build; the quadratic check took 3.6 s in a release build.
            #expect(took < .seconds(10))
        }
    }

    /// The parser alone: twice the keys take about twice the time, not four times.
    @Test func duplicateKeysAreFoundInLinearTime() throws {
        func parseTime(_ count: Int) throws -> Duration {
            let text = "{" + (0..<count).map { #""key-\#($0)":\#($0)"# }.joined(separator: ",") + "}"
            let clock = ContinuousClock()
            let started = clock.now
            #expect(try JSONParser.parse(text).objectValue?.count == count)
            return clock.now - started
        }
        _ = try parseTime(1000)
        // About 0.2 s in a debug build; the quadratic check needed minutes for this many keys.
        #expect(try parseTime(200_000) < .seconds(10))
        // A repeat far in is still found, and keys equal only by canonical equivalence are not repeats.
        let repeated = "{" + (0..<50_000).map { #""k\#($0)":0"# }.joined(separator: ",") + #","k49999":1}"#
        #expect(throws: JSONParseError.self) { try JSONParser.parse(repeated) }
        #expect(try JSONParser.parse("{\"\u{E9}\":1,\"e\u{301}\":2}").objectValue?.count == 2)
    }
}
