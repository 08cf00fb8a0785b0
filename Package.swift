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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(name: "JSONSchemaValidation"),
        .target(name: "AnalyticsSpec", dependencies: ["JSONSchemaValidation"]),
        .executableTarget(
            name: "AnalyticsCLI",
            dependencies: [
                "AnalyticsSpec",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "JSONSchemaValidationTests", dependencies: ["JSONSchemaValidation"]),
        .testTarget(name: "AnalyticsSpecTests", dependencies: ["AnalyticsSpec", "AnalyticsCLI"]),
    ],
    swiftLanguageModes: [.v6]
)
