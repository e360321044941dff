// swift-tools-version:6.2
import PackageDescription

/// One set of settings for every target, so every module is held to the same rules.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "jarvis-control-plane",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "jarvis", targets: ["jarvis"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: []),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CArgon2", pkgConfig: "libargon2", providers: [.apt(["libargon2-dev"])]),
        .target(
            name: "JarvisCrypto",
            dependencies: ["COpenSSL", "CArgon2"],
            swiftSettings: swiftSettings
        ),
        .target(name: "JarvisJSON", swiftSettings: swiftSettings),
        .target(
            name: "JarvisStore",
            dependencies: [
                "CLibPQ",
                "JarvisCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "JarvisAudit",
            dependencies: [
                "JarvisStore", "JarvisCrypto", "JarvisJSON",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "JarvisAccess",
            dependencies: ["JarvisStore", "JarvisAudit"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "JarvisCache",
            dependencies: [
                "JarvisAccess", "JarvisStore",
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "JarvisTenancy",
            dependencies: ["JarvisStore", "JarvisAudit", "JarvisAccess"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "JarvisIdentity",
            dependencies: [
                "JarvisStore", "JarvisCrypto", "JarvisAudit", "JarvisAccess", "JarvisTenancy", "JarvisCache", "JarvisJSON",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "JarvisQuota",
            dependencies: [
                "JarvisStore", "JarvisAudit", "JarvisCrypto", "JarvisAccess", "JarvisTenancy", "JarvisIdentity", "JarvisCache",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "JarvisReleases",
            dependencies: [
                "JarvisStore", "JarvisCrypto", "JarvisAudit", "JarvisAccess", "JarvisCache", "JarvisQuota", "JarvisJSON",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "JarvisBilling",
            dependencies: ["JarvisStore", "JarvisAudit", "JarvisAccess", "JarvisQuota", "JarvisJSON"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "JarvisConfiguration",
            dependencies: [
                "JarvisStore", "JarvisCrypto", "JarvisIdentity", "JarvisQuota",
                .product(name: "Configuration", package: "swift-configuration"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "JarvisHTTP",
            dependencies: [
                "JarvisStore", "JarvisCrypto", "JarvisAudit", "JarvisAccess", "JarvisTenancy", "JarvisIdentity", "JarvisCache", "JarvisQuota",
                "JarvisConfiguration", "JarvisJSON", "JarvisReleases", "JarvisBilling",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "jarvis",
            dependencies: [
                "JarvisHTTP", "JarvisStore", "JarvisIdentity", "JarvisTenancy", "JarvisAccess", "JarvisAudit", "JarvisCache", "JarvisCrypto",
                "JarvisConfiguration", "JarvisQuota", "JarvisReleases", "JarvisBilling",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "JarvisTests",
            dependencies: [
                "JarvisHTTP", "JarvisStore", "JarvisCrypto", "JarvisAudit", "JarvisAccess", "JarvisTenancy", "JarvisIdentity",
                "JarvisCache", "JarvisQuota", "JarvisConfiguration", "JarvisJSON", "JarvisReleases", "JarvisBilling",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
