import Foundation
import GRPCNIOTransportHTTP2
import NIOCertificateReloading
import NIOSSL
import RenkeiPKI
import Synchronization

/// Hands NIOSSL the node's current certificate and key at every TLS
/// handshake (`TLSConfiguration.sslContextCallback`, through
/// grpc-swift-nio-transport's `certificateReloader`): a renewed certificate
/// is served to the next connection, while open connections keep theirs.
/// ADR 0010.
final class NodeCertificateReloader: CertificateReloader {
    private let current: @Sendable () -> OwnCredentials?
    /// The NIOSSL form of the credentials last handed out, by leaf serial and
    /// key, so that a handshake does not re-parse unchanged material.
    private let cache = Mutex<(key: CacheKey, override: NIOSSLContextConfigurationOverride)?>(nil)

    private struct CacheKey: Equatable {
        let serial: SerialNumber
        let notAfter: Date
        let keyDER: [UInt8]
    }

    init(current: @escaping @Sendable () -> OwnCredentials?) {
        self.current = current
    }

    var sslContextConfigurationOverride: NIOSSLContextConfigurationOverride {
        guard let credentials = current() else { return .noChanges }
        let key = CacheKey(serial: credentials.serial, notAfter: credentials.notAfter, keyDER: credentials.privateKeyDER)
        if let cached = cache.withLock({ $0?.key == key ? $0?.override : nil }) { return cached }
        guard let override = try? credentials.nioSSLOverride() else { return .noChanges }
        cache.withLock { $0 = (key, override) }
        return override
    }
}

extension OwnCredentials {
    /// The chain and key as NIOSSL takes them.
    func nioSSLOverride() throws -> NIOSSLContextConfigurationOverride {
        var override = NIOSSLContextConfigurationOverride()
        override.certificateChain = try chainDER().map { .certificate(try NIOSSLCertificate(bytes: $0, format: .der)) }
        override.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: privateKeyPEM, format: .pem))
        return override
    }

    /// The chain as grpc-swift-nio-transport certificate sources.
    func chainSources() throws(PeerError) -> [TLSConfig.CertificateSource] {
        do throws(PKIError) {
            return try chainDER().map { der -> TLSConfig.CertificateSource in .bytes(der, format: .der) }
        } catch {
            throw PeerError(.tlsMaterial, error.message, cause: error)
        }
    }

    /// The key as a grpc-swift-nio-transport key source.
    var keySource: TLSConfig.PrivateKeySource { .bytes(privateKeyPEM, format: .pem) }
}

extension FederationTrust {
    /// The CA bundle as trust roots for NIOSSL. Peer chains are checked by
    /// `PeerVerifier` in the custom verification callback; these roots only
    /// keep NIOSSL from loading the system's.
    func trustRootsSource() throws(PeerError) -> TLSConfig.TrustRootsSource {
        do throws(PKIError) {
            return .certificates(try certificates.map { certificate throws(PKIError) -> TLSConfig.CertificateSource in
                .bytes(try CertificateCoding.der(certificate), format: .der)
            })
        } catch {
            throw PeerError(.tlsMaterial, error.message, cause: error)
        }
    }
}

extension PeerTrust {
    /// The client's certificate chain, key and trust roots for a new
    /// connection: the node's current (reloaded, checked) material when this
    /// trust carries it, else the files named by `config` (the CLI's
    /// one-shot inquiries).
    func clientMaterial(config: NodeConfig) throws(PeerError)
        -> (chain: [TLSConfig.CertificateSource], key: TLSConfig.PrivateKeySource, roots: TLSConfig.TrustRootsSource) {
        let roots = try trust.trustRootsSource()
        if let credentials {
            return (try credentials.chainSources(), credentials.keySource, roots)
        }
        return ([.file(path: config.certificatePath, format: .pem)], .file(path: config.privateKeyPath, format: .pem), roots)
    }
}
