import Foundation
import GRPCNIOTransportHTTP2
import Logging
import NIOCertificateReloading
import NIOSSL
import RenkeiPKI
import Synchronization

/// Hands NIOSSL the vault's (or a vault client's) current certificate and key
/// at every TLS handshake, so a renewed certificate is used by the next
/// connection while open ones keep theirs (ADR 0010). A copy of RenkeiPeer's
/// `NodeCertificateReloader` (this module cannot depend on RenkeiPeer).
final class VaultCertificateReloader: CertificateReloader {
    private let source: OwnCredentialsReloader
    private let cache = Mutex<(serial: SerialNumber, keyDER: [UInt8], override: NIOSSLContextConfigurationOverride)?>(nil)

    init(_ source: OwnCredentialsReloader) {
        self.source = source
    }

    var sslContextConfigurationOverride: NIOSSLContextConfigurationOverride {
        let credentials = source.current()
        let keyDER = credentials.privateKeyDER
        if let cached = cache.withLock({ $0.flatMap { $0.serial == credentials.serial && $0.keyDER == keyDER ? $0.override : nil } }) {
            return cached
        }
        do {
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = try credentials.chainDER().map { .certificate(try NIOSSLCertificate(bytes: $0, format: .der)) }
            override.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: credentials.privateKeyPEM, format: .pem))
            cache.withLock { $0 = (credentials.serial, keyDER, override) }
            return override
        } catch {
            return .noChanges
        }
    }
}

/// The certificate, key and trust roots for a vault TLS configuration.
struct VaultTLSSources {
    var chain: [TLSConfig.CertificateSource]
    var key: TLSConfig.PrivateKeySource
    var roots: TLSConfig.TrustRootsSource

    /// From checked credentials and the CA bundle in force. Peer chains are
    /// checked by `VaultHandshake`; the roots only keep NIOSSL from loading
    /// the system's.
    init(credentials: OwnCredentials, trust: FederationTrust) throws(VaultNetworkError) {
        do throws(PKIError) {
            chain = try credentials.chainDER().map { der -> TLSConfig.CertificateSource in .bytes(der, format: .der) }
            key = .bytes(credentials.privateKeyPEM, format: .pem)
            roots = .certificates(try trust.certificates.map { certificate throws(PKIError) -> TLSConfig.CertificateSource in
                .bytes(try CertificateCoding.der(certificate), format: .der)
            })
        } catch {
            throw VaultNetworkError(.tlsMaterial, error.message, cause: error)
        }
    }
}

extension OwnCredentialsReloader {
    /// A reloader for a vault process's own certificate (role vault) or a
    /// vault client's (any role: the vault checks it), checked against `trust`.
    public static func vault(certificatePath: String, privateKeyPath: String, role: PKIRole?, trust: VaultTrust,
                             logger: Logger) throws(VaultNetworkError) -> OwnCredentialsReloader {
        do throws(PKIError) {
            return try OwnCredentialsReloader(certificatePath: certificatePath, privateKeyPath: privateKeyPath, role: role,
                                              what: role == .vault ? "vault certificate" : "client certificate",
                                              trust: { trust.current(now: $0) }, logger: logger)
        } catch {
            throw VaultNetworkError(.tlsMaterial, error.message, cause: error)
        }
    }
}
