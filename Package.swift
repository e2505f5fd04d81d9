// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Renkei",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "renkei", targets: ["renkei"]),
        .library(name: "RenkeiKit", targets: ["RenkeiCore", "RenkeiStore", "RenkeiCrypto", "RenkeiCSV", "RenkeiSynth", "RenkeiTenantStore", "RenkeiPKI", "RenkeiWire", "RenkeiPeer", "RenkeiCluster", "RenkeiVault", "RenkeiVaultServer", "RenkeiAccess"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.1.0"),
    ],
    targets: [
        // Debian's librocksdb-dev 7.8.3, through its C API.
        .systemLibrary(
            name: "CRocksDB",
            pkgConfig: "rocksdb",
            providers: [.apt(["librocksdb-dev"])]
        ),
        // Debian's liblz4-dev, through its frame API (backup segments).
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        // Pure domain: codes, numbers, residents, vaccination records. No I/O.
        .target(name: "RenkeiCore"),
        // Thin, safe RocksDB wrapper. No domain logic.
        .target(name: "RenkeiStore", dependencies: ["CRocksDB"]),
        // Key hierarchy, AEAD envelopes, blind indexes, recovery kits
        // (scrypt comes from _CryptoExtras).
        .target(
            name: "RenkeiCrypto",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        // Federation CA, node certificates, revocation list, signed directory.
        .target(
            name: "RenkeiPKI",
            dependencies: [
                "RenkeiCore", "RenkeiCrypto",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // RFC 4180 CSV reading and writing, UTF-8 and CP932.
        .target(name: "RenkeiCSV"),
        // Deterministic synthetic populations.
        .target(name: "RenkeiSynth", dependencies: ["RenkeiCore"]),
        // Append-only, hash-chained audit logs, one file per tenant, outside RocksDB.
        .target(
            name: "RenkeiAudit",
            dependencies: [
                "RenkeiCore", "RenkeiCrypto",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Operator accounts (scrypt passwords, RFC 6238 TOTP), roles and
        // their permission matrix, sessions with idle and absolute expiry.
        .target(
            name: "RenkeiAccess",
            dependencies: [
                "RenkeiCore", "RenkeiCrypto",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        // The node's encrypted, tenant-partitioned record store.
        .target(
            name: "RenkeiTenantStore",
            dependencies: [
                "RenkeiCore", "RenkeiStore", "RenkeiCrypto", "RenkeiAudit", "RenkeiAccess",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // CSV import into and export out of a tenant.
        .target(
            name: "RenkeiImport",
            dependencies: [
                "RenkeiCore", "RenkeiCSV", "RenkeiTenantStore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The peer protocol contract (package renkei.v1): the .proto files
        // under Protos/ and the Swift generated from them by
        // Ops/generate-protos.sh (committed under Generated/).
        .target(
            name: "RenkeiWire",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["Protos"]
        ),
        // The peer layer: the node's gRPC server over mutual TLS, the
        // provider's decision logic and the requester's client.
        .target(
            name: "RenkeiPeer",
            dependencies: [
                "RenkeiCore", "RenkeiPKI", "RenkeiTenantStore", "RenkeiWire", "RenkeiAudit", "RenkeiBackup", "RenkeiAccess", "RenkeiImport", "RenkeiCSV", "RenkeiCrypto", "RenkeiObservability",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCertificateReloading", package: "swift-nio-extras"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        // Local clusters: a declarative spec, the layout plan, loading
        // generated residents, and the node processes (`renkei cluster`).
        .target(
            name: "RenkeiCluster",
            dependencies: [
                "RenkeiBackup", "RenkeiCore", "RenkeiCrypto", "RenkeiPKI", "RenkeiPeer", "RenkeiRestore", "RenkeiSynth", "RenkeiTenantStore",
                "RenkeiVaultServer", "RenkeiWire", "RenkeiAccess", "RenkeiObservability",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The vault's local storage: LZ4-framed change segments and base
        // snapshots per node, verification, retention. No networking.
        .target(
            name: "RenkeiVault",
            dependencies: [
                "CLZ4",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The vault process's gRPC service over mutual TLS, and the client
        // transport nodes and DR staff use to reach a vault. Deliberately
        // not on RenkeiPeer, so the node-side shipper there can use the
        // client transport without a dependency cycle.
        .target(
            name: "RenkeiVaultServer",
            dependencies: [
                "RenkeiVault", "RenkeiWire", "RenkeiPKI", "RenkeiCore",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCertificateReloading", package: "swift-nio-extras"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        // The node side of backup: ships the change log to a vault, takes
        // base snapshots, reports their state. The vault connection comes in
        // through `VaultConnector` (mutual TLS: `VaultTransport`, RenkeiVaultServer).
        .target(
            name: "RenkeiBackup",
            dependencies: [
                "RenkeiStore", "RenkeiTenantStore", "RenkeiWire", "RenkeiVaultServer", "RenkeiVault",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Disaster-recovery restore: a plan from the vault's catalog, vault
        // sources (a vault directory, or the vault's gRPC API), and the
        // restorer that rebuilds a node data directory from them.
        .target(
            name: "RenkeiRestore",
            dependencies: [
                "RenkeiCore", "RenkeiStore", "RenkeiVault", "RenkeiTenantStore", "RenkeiCrypto", "RenkeiWire", "RenkeiVaultServer",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The node's metrics (Prometheus text format), health and readiness
        // over plain HTTP/1.1 on their own port. Wired into the node by
        // RenkeiPeer/the CLI; this module knows nothing about records.
        .target(
            name: "RenkeiObservability",
            dependencies: [
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "renkei",
            dependencies: [
                "RenkeiCore", "RenkeiStore", "RenkeiCrypto", "RenkeiCSV", "RenkeiSynth", "RenkeiTenantStore", "RenkeiImport", "RenkeiPKI", "RenkeiPeer", "RenkeiWire", "RenkeiAudit", "RenkeiCluster", "RenkeiVault", "RenkeiVaultServer", "RenkeiRestore", "RenkeiBackup", "RenkeiAccess", "RenkeiObservability",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "RenkeiCoreTests", dependencies: ["RenkeiCore"]),
        .testTarget(name: "RenkeiStoreTests", dependencies: ["RenkeiStore"]),
        .testTarget(name: "RenkeiCryptoTests", dependencies: ["RenkeiCrypto"]),
        .testTarget(
            name: "RenkeiPKITests",
            dependencies: [
                "RenkeiPKI", "RenkeiCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        .testTarget(name: "RenkeiCSVTests", dependencies: ["RenkeiCSV"]),
        .testTarget(
            name: "RenkeiAuditTests",
            dependencies: [
                "RenkeiAudit", "RenkeiCore", "RenkeiCrypto",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "RenkeiSynthTests", dependencies: ["RenkeiSynth"]),
        .testTarget(
            name: "RenkeiAccessTests",
            dependencies: [
                "RenkeiAccess", "RenkeiCrypto",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "RenkeiTenantStoreTests",
            dependencies: ["RenkeiTenantStore", "RenkeiSynth", "RenkeiStore"]
        ),
        .testTarget(
            name: "RenkeiImportTests",
            dependencies: ["RenkeiImport", "RenkeiTenantStore", "RenkeiSynth", "RenkeiCSV"]
        ),
        .testTarget(name: "RenkeiWireTests", dependencies: [
            "RenkeiWire",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        .testTarget(
            name: "RenkeiPeerTests",
            dependencies: [
                "RenkeiPeer", "RenkeiCore", "RenkeiPKI", "RenkeiTenantStore", "RenkeiWire", "RenkeiSynth", "RenkeiAudit", "RenkeiCrypto", "RenkeiAccess",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        .testTarget(
            name: "RenkeiVaultTests",
            dependencies: [
                "RenkeiVault",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "RenkeiVaultServerTests",
            dependencies: [
                "RenkeiVaultServer", "RenkeiVault", "RenkeiPKI", "RenkeiCore", "RenkeiWire",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        .testTarget(name: "RenkeiClusterTests", dependencies: ["RenkeiCluster", "RenkeiCore", "RenkeiCrypto", "RenkeiPeer", "RenkeiTenantStore"]),
        .testTarget(
            name: "RenkeiBackupTests",
            dependencies: [
                "RenkeiBackup", "RenkeiStore", "RenkeiTenantStore", "RenkeiWire", "RenkeiVault", "RenkeiCore",
                "RenkeiVaultServer", "RenkeiPKI",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "RenkeiRestoreTests",
            dependencies: [
                "RenkeiRestore", "RenkeiCore", "RenkeiStore", "RenkeiVault", "RenkeiTenantStore", "RenkeiCrypto", "RenkeiSynth",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "RenkeiObservabilityTests",
            dependencies: [
                "RenkeiObservability",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "RenkeiCLITests",
            dependencies: ["RenkeiCore", "RenkeiCSV", "RenkeiTenantStore", "RenkeiSynth"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
