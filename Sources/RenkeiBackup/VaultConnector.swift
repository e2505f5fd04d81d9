import GRPCCore
import RenkeiWire

/// Opens a connection to the vault for the shipper and the snapshotter.
///
/// The node process uses one backed by `VaultTransport` (mutual TLS, the
/// server must have role vault); tests may use an in-process transport. A
/// connection failure is thrown from `withVault`; the shipper retries with
/// backoff.
public protocol VaultConnector: Sendable {
    associatedtype Transport: ClientTransport

    /// Runs `body` with a client connected to the vault, and closes the
    /// connection when `body` returns or throws.
    func withVault<Result: Sendable>(
        _ body: (Renkei_Vault_V1_Vault.Client<Transport>) async throws -> Result
    ) async throws -> Result
}
