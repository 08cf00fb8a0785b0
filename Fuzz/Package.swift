// swift-tools-version: 6.1
// libFuzzer targets for the project's own parsers (issue 19). Build and run them with scripts/fuzz;
// docs/fuzzing.md says what each one checks. Every target is built with
//   swift build -c release --product <Target> -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
// so that libFuzzer supplies `main` and calls the target's `LLVMFuzzerTestOneInput`.
import PackageDescription

let fuzzTargets = ["FuzzJSONParser", "FuzzEventReader", "FuzzRegex", "FuzzRFC3339", "FuzzEventCodec"]

let package = Package(
    name: "analytics-fuzz",
    platforms: [.macOS(.v15)],
    products: fuzzTargets.map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        // The main package, by path: only the two libraries below (and what they depend on, nothing)
        // are built, but SwiftPM still resolves the main package's whole dependency graph.
        .package(name: "analytics", path: ".."),
    ],
    targets: [
        // Reporting helpers shared by the targets: printing inputs as literals and failing loudly.
        .target(
            name: "FuzzSupport",
            dependencies: [
                .product(name: "AnalyticsSpec", package: "analytics"),
                .product(name: "JSONSchemaValidation", package: "analytics"),
            ]
        ),
    ] + fuzzTargets.map { name in
        .executableTarget(
            name: name,
            dependencies: [
                "FuzzSupport",
                .product(name: "AnalyticsSpec", package: "analytics"),
                .product(name: "JSONSchemaValidation", package: "analytics"),
            ]
        )
    },
    swiftLanguageModes: [.v6]
)
