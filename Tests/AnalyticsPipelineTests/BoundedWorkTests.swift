import AnalyticsSpec
import Hummingbird
import HummingbirdTesting
import JSONSchemaValidation
import NIOCore
import Testing

/// No request costs more than its size: the attacks that once did (a 50 MB answer, 3.6 s for one request)
/// are each answered with a small 400 that shows the work was cut short. What they cost in CPU a KiB, as a
/// ratio to the largest valid batch, is measured by `scripts/bench` (step 2b), not timed here: the suites
/// run in parallel on two cores, where one request's time says little (a 0.5 s request took 10 s in CI).
@Suite struct BoundedWorkTests {
    /// 174,762 empty objects in 512 KiB: refused as too long a batch before any item is validated.
    @Test(arguments: setups)
    func anOverLongBatchIsRefusedWholeWithOneViolation(_ setup: TestingSetup) async throws {
        let body = "[" + Array(repeating: "{}", count: 174_762).joined(separator: ",") + "]"
        #expect(body.utf8.count <= 512 * 1024)
        let pipeline = Pipeline()
        try await pipeline.ingestion().test(setup) { client in
            try await client.execute(uri: "/events", method: .post, headers: jsonHeaders, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .badRequest)
                // One violation: no item was validated (each would have added its own).
                #expect(response.violations == [" maxItems"])
                #expect(response.body.readableBytes < 1024)
            }
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
            try await client.execute(uri: "/events", method: .post, headers: jsonHeaders, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .badRequest)
                #expect(response.violations.count == ContractViolation.maximumDetails)
                #expect(response.json["omitted"] == .number(65_000 + 4 - 100))
                #expect(response.body.readableBytes < 16 * 1024)
            }
        }
    }

    /// The parser alone finds a repeated key among many. In linear time: the bench's object of 65,000 keys
    /// costs no more a KiB than a valid batch; here only a hang guard, far above the 0.2 s these take alone
    /// in a debug build and far below the many minutes a quadratic check needs for 200,000 keys.
    @Test(.timeLimit(.minutes(1))) func duplicateKeysAreFoundAmongMany() throws {
        let text = "{" + (0..<200_000).map { #""key-\#($0)":\#($0)"# }.joined(separator: ",") + "}"
        #expect(try JSONParser.parse(text).objectValue?.count == 200_000)
        // A repeat far in is still found, and keys equal only by canonical equivalence are not repeats.
        let repeated = "{" + (0..<50_000).map { #""k\#($0)":0"# }.joined(separator: ",") + #","k49999":1}"#
        #expect(throws: JSONParseError.self) { try JSONParser.parse(repeated) }
        #expect(try JSONParser.parse("{\"\u{E9}\":1,\"e\u{301}\":2}").objectValue?.count == 2)
    }
}
