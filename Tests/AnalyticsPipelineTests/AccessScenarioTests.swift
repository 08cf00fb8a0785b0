import AnalyticsCore
import AnalyticsHTTP
import AnalyticsSpec
import AnalyticsTestSupport
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import JSONSchemaValidation
import Logging
import NIOCore
import Testing

/// Every golden access case of fixtures/access/ on both registries: each request's status, headers and
/// body exactly, and what ingestion queued.
@Suite(.removesServerLeftovers) struct AccessScenarioTests {
    static let cases = AccessScenario.all.flatMap { scenario in RegistryBackend.all.map { (scenario, $0) } }

    @Test(arguments: cases)
    func accessScenario(_ scenario: AccessScenario, _ backend: RegistryBackend) async throws {
        let registry = try await backend.make()
        try await scenario.fill(registry)
        let view = SiteRegistryView(registry: registry)
        try await view.refresh()
        let pipeline = Pipeline()
        _ = try await pipeline.store.insert(scenario.decodedEvents())
        // Trusted for an hour: the suites around may hold the machine longer than the default 5 s.
        let reportingAccess = scenario.reportingAuth == "required" ? ReportingAccess(view: view, maximumAge: .seconds(3600)) : nil
        let ingestionAccess = scenario.ingestSites.map { IngestionAccess(view: view, sites: IngestSites(rawValue: $0)!) }
        var configuration = IngestionConfiguration()
        configuration.rateLimits = RateLimits(
            site: scenario.rateLimitSite.flatMap(RateLimit.init), address: scenario.rateLimitAddress.flatMap(RateLimit.init))
        let exporter = scenario.metricsToken.map { PrometheusExporter(token: $0) }
        let factory = exporter?.factory ?? PrometheusExporter().factory
        let ingestion = Applications.ingestion(
            queue: pipeline.queue, clock: pipeline.clock, configuration: configuration, access: ingestionAccess, metrics: factory,
            exporter: exporter, logger: Logger(label: "test"))
        let reporting = Applications.reporting(
            store: pipeline.store, access: reportingAccess, metrics: factory, exporter: exporter, logger: Logger(label: "test"))
        let requests = scenario.requests
        try await ingestion.test(.router) { client in
            for request in requests where request.isIngestion { try await check(request, on: client) }
        }
        try await reporting.test(.router) { client in
            for request in requests where !request.isIngestion { try await check(request, on: client) }
        }
        if let queued = scenario.queued {
            #expect(try await pipeline.queued().map(\.siteID) == queued)
        }
    }

    private func check(_ request: AccessScenario.Request, on client: some TestClientProtocol) async throws {
        var headers: HTTPFields = request.body == nil ? [:] : jsonHeaders
        for (name, value) in request.headers { headers[HTTPField.Name(name)!] = value }
        let body = request.body.map { ByteBuffer(string: JSONWriter.string($0)) }
        try await client.execute(uri: request.path, method: HTTPRequest.Method(request.method)!, headers: headers, body: body) { response in
            #expect(Int(response.status.code) == request.status, "\(request.description): \(response.text)")
            for (name, value) in request.responseHeaders {
                #expect(response.headers[HTTPField.Name(name)!] == value, "\(request.description): \(name)")
            }
            if let expected = request.response {
                #expect(response.text == JSONWriter.string(expected), "\(request.description)")
            }
            if request.status >= 400 { #expect(Contract.embedded.error.validate(response.json).isEmpty, "\(request.description)") }
        }
    }
}
