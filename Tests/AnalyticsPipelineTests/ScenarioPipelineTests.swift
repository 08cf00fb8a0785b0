import AnalyticsSpec
import AnalyticsTestSupport
import Hummingbird
import HummingbirdTesting
import JSONSchemaValidation
import NIOCore
import Testing

extension Scenario: CustomTestStringConvertible {}

/// Every golden scenario end to end: its events through `POST /event` and `POST /events`, the worker,
/// and its queries through `GET /stats`, answered byte for byte.
@Suite struct ScenarioPipelineTests {
    @Test(arguments: Scenario.all)
    func scenario(_ scenario: Scenario) async throws {
        let pipeline = Pipeline()
        try await pipeline.ingestion().test(.router) { client in
            for event in scenario.events {
                try await client.execute(uri: "/event", method: .post, headers: jsonHeaders, body: ByteBuffer(string: JSONWriter.string(event))) {
                    #expect($0.status == .ok, "\(JSONWriter.string(event))")
                }
            }
            for batch in scenario.batches {
                try await client.execute(uri: "/events", method: .post, headers: jsonHeaders, body: ByteBuffer(string: JSONWriter.string(.array(batch)))) {
                    #expect($0.status == .ok)
                }
            }
        }
        try await pipeline.drain()
        try await pipeline.reporting().test(.router) { client in
            for expected in scenario.queries {
                try await client.execute(uri: expected.uri, method: .get) { response in
                    #expect(Int(response.status.code) == expected.status, "\(expected.uri)")
                    #expect(expected.matches(response.json), "\(expected.uri): \(response.text)")
                    #expect(expected.responseSchema.validate(response.json).isEmpty, "\(expected.uri)")
                }
            }
        }
    }
}
