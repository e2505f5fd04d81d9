import GRPCCore
import GRPCNIOTransportHTTP2
import RenkeiVaultServer
import RenkeiWire

/// The node's connection to its vault: `VaultTransport` (gRPC over TLS 1.3,
/// mutual TLS with the node's certificate, the federation CA as the only
/// trust anchor, the server must have role vault and, if configured, the
/// expected name). The vault names the node's stream by the certificate's
/// common name.
public struct TLSVaultConnector: VaultConnector {
    public let endpoint: VaultEndpoint
    public let credentials: VaultClientCredentials

    public init(endpoint: VaultEndpoint, credentials: VaultClientCredentials) {
        self.endpoint = endpoint
        self.credentials = credentials
    }

    /// From the node configuration's `vault` section and its TLS files.
    public init(settings: VaultSettings, certificatePath: String, privateKeyPath: String,
                caCertificatePath: String, revocationListPath: String?) throws(BackupError) {
        do throws(VaultNetworkError) {
            self.credentials = try VaultClientCredentials(certificatePath: certificatePath, privateKeyPath: privateKeyPath,
                                                          caCertificatePath: caCertificatePath, revocationListPath: revocationListPath)
        } catch {
            throw BackupError(.configuration, "cannot load the TLS material for the vault connection", cause: error)
        }
        self.endpoint = VaultEndpoint(host: settings.host, port: settings.port, serverName: settings.serverName)
    }

    public func withVault<Result: Sendable>(
        _ body: (Renkei_Vault_V1_Vault.Client<HTTP2ClientTransport.Posix>) async throws -> Result
    ) async throws -> Result {
        try await VaultTransport.withClient(endpoint, credentials: credentials, body)
    }
}
