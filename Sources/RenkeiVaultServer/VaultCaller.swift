import GRPCCore
import GRPCNIOTransportHTTP2
import RenkeiPKI
import RenkeiVault

/// Who is calling the vault, from the client certificate verified in the
/// handshake — never from a request field.
public enum VaultCaller: Sendable, Equatable {
    /// A node: its stream is named by its certificate's common name.
    case node(stream: String)
    /// A disaster-recovery operator (the certificate's common name, for logs).
    case drOperator(name: String)

    /// The caller of the call in `context`.
    /// - Throws: PERMISSION_DENIED for a call without a verified certificate,
    ///   with another role, or a node whose common name is not a valid stream name.
    static func of(_ context: ServerContext) throws(RPCError) -> VaultCaller {
        guard let certificate = (context.transportSpecific as? HTTP2ServerTransport.Posix.Context)?.peerCertificate,
              let info = try? PeerCertificateInfo(certificate) else {
            throw RPCError(code: .permissionDenied, message: "the vault requires a verified client certificate")
        }
        return try of(info)
    }

    /// The caller a verified certificate names.
    public static func of(_ info: PeerCertificateInfo) throws(RPCError) -> VaultCaller {
        switch info.role {
        case .node?:
            do throws(VaultError) {
                try VaultNames.validateNode(info.name)
            } catch {
                throw RPCError(code: .permissionDenied,
                               message: "the node certificate's common name cannot name a backup stream: \(error.message)")
            }
            return .node(stream: info.name)
        case .drOperator?:
            return .drOperator(name: info.name)
        default:
            throw RPCError(code: .permissionDenied,
                           message: "a certificate with role \(info.role?.uri ?? "none") may not use the vault")
        }
    }

    /// The stream a writing call addresses: the node's own.
    /// - Throws: PERMISSION_DENIED for a DR operator (read-only).
    func writableStream(_ action: String) throws(RPCError) -> String {
        switch self {
        case .node(let stream): return stream
        case .drOperator:
            throw RPCError(code: .permissionDenied, message: "\(action): a DR operator certificate may read the vault but not write to it")
        }
    }

    /// The stream a reading call addresses: a node's own (the request's name
    /// is ignored), or for a DR operator the one it names.
    func readableStream(requested: String, field: String) throws(RPCError) -> String {
        switch self {
        case .node(let stream): return stream
        case .drOperator:
            do throws(VaultError) {
                try VaultNames.validateNode(requested)
            } catch {
                throw RPCError(code: .invalidArgument, message: "\(field): \(error.message)")
            }
            return requested
        }
    }

    /// A DR-operator-only read.
    /// - Throws: PERMISSION_DENIED for a node certificate.
    func requireOperator(_ action: String) throws(RPCError) {
        guard case .drOperator = self else {
            throw RPCError(code: .permissionDenied, message: "\(action): only a DR operator certificate may read the vault's catalog and files")
        }
    }

    /// For logs.
    var label: String {
        switch self {
        case .node(let stream): "node:\(stream)"
        case .drOperator(let name): "dr-operator:\(name)"
        }
    }
}
