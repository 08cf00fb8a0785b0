// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "analytics",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "analytics", targets: ["AnalyticsCLI"]),
        // What a Swift client imports to validate events against the contract.
        .library(name: "AnalyticsSpec", targets: ["AnalyticsSpec"]),
        .library(name: "JSONSchemaValidation", targets: ["JSONSchemaValidation"]),
        // What a Swift program imports to send events: batched, validated, retried.
        .library(name: "AnalyticsClient", targets: ["AnalyticsClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.4"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-openapi-async-http-client", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // Spec and domain.
        .target(name: "JSONSchemaValidation"),
        .target(name: "AnalyticsSpec", dependencies: ["JSONSchemaValidation", .product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "AnalyticsCore",
            dependencies: [
                "AnalyticsSpec", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // C libraries, from Debian's -dev packages.
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CLibpq", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),

        // Queue and store implementations.
        .target(
            name: "AnalyticsBlockingIO",
            dependencies: [.product(name: "NIOPosix", package: "swift-nio")]
        ),
        .target(
            name: "AnalyticsRedis",
            dependencies: [
                "AnalyticsCore", "AnalyticsBlockingIO", "CHiredis",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "AnalyticsPostgres",
            dependencies: [
                "AnalyticsCore", "AnalyticsReadModel", "AnalyticsBlockingIO", "CLibpq",
                .product(name: "Logging", package: "swift-log"), .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(name: "AnalyticsReadModel", dependencies: ["AnalyticsCore"]),
        .target(
            name: "AnalyticsInMemory",
            dependencies: ["AnalyticsCore", .product(name: "DequeModule", package: "swift-collections")]
        ),
        // HTTP and worker.
        .target(
            name: "AnalyticsHTTP",
            dependencies: [
                "AnalyticsCore",
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            // The tracker's source and the dashboard's files, compiled into the binary as bytes
            // (PackageResources.script_js, .app_js, …): one file to deploy.
            resources: [
                .embedInCode("Tracker/script.js"),
                .embedInCode("Dashboard/Assets/index.html"), .embedInCode("Dashboard/Assets/dashboard.css"),
                .embedInCode("Dashboard/Assets/icon.svg"), .embedInCode("Dashboard/Assets/app.js"),
                .embedInCode("Dashboard/Assets/api.js"), .embedInCode("Dashboard/Assets/chart.js"),
                .embedInCode("Dashboard/Assets/format.js"), .embedInCode("Dashboard/Assets/ranges.js"),
                .embedInCode("Dashboard/Assets/tables.js"),
            ]
        ),
        .target(
            name: "AnalyticsWorker",
            dependencies: [
                "AnalyticsCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The Swift client: its transport and types are generated from spec/openapi.yaml (scripts/generate-client).
        .target(
            name: "AnalyticsClient",
            dependencies: [
                "AnalyticsSpec",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "OpenAPIAsyncHTTPClient", package: "swift-openapi-async-http-client"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["Generated/openapi.yaml", "Generated/openapi-generator-config.yaml"]
        ),
        // CLI.
        .executableTarget(
            name: "AnalyticsCLI",
            dependencies: [
                "AnalyticsSpec", "AnalyticsCore", "AnalyticsInMemory", "AnalyticsRedis", "AnalyticsPostgres",
                "AnalyticsHTTP", "AnalyticsWorker",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // Test doubles that inject faults, and the golden scenarios, shared by the suites below.
        .target(
            name: "AnalyticsTestSupport",
            dependencies: [
                "AnalyticsCore", "AnalyticsInMemory", "AnalyticsReadModel", "AnalyticsBlockingIO", "AnalyticsRedis", "AnalyticsPostgres",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/AnalyticsTestSupport"
        ),
        .testTarget(name: "JSONSchemaValidationTests", dependencies: ["JSONSchemaValidation"]),
        .testTarget(name: "AnalyticsSpecTests", dependencies: ["AnalyticsSpec", "AnalyticsCLI", "AnalyticsTestSupport"]),
        .testTarget(
            name: "AnalyticsConformanceTests",
            dependencies: [
                "AnalyticsCore", "AnalyticsInMemory", "AnalyticsReadModel", "AnalyticsBlockingIO", "AnalyticsPostgres", "AnalyticsRedis", "AnalyticsTestSupport",
            ]
        ),
        .testTarget(
            name: "AnalyticsPipelineTests",
            dependencies: [
                "AnalyticsClient", "AnalyticsCore", "AnalyticsInMemory", "AnalyticsHTTP", "AnalyticsWorker", "AnalyticsTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "AnalyticsEndToEndTests",
            dependencies: [
                "AnalyticsClient", "AnalyticsSpec", "AnalyticsCore", "AnalyticsBlockingIO", "AnalyticsRedis", "AnalyticsPostgres",
                "AnalyticsTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
