import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import RenkeiVault
import RenkeiVaultServer
import RenkeiWire

/// A vault reached over its gRPC API (Catalog, FetchFile) with a DR
/// operator certificate, over mutual TLS (`VaultTransport`). Each call
/// opens its own connection: a restore makes few, large calls.
///
/// The gRPC catalog does not carry a snapshot's covered commit time; the
/// plan then bounds it conservatively (see `RestorePlan`).
public struct RemoteVaultSource: VaultSource {
    public let endpoint: VaultEndpoint
    public let credentials: VaultClientCredentials

    public init(endpoint: VaultEndpoint, credentials: VaultClientCredentials) {
        self.endpoint = endpoint
        self.credentials = credentials
    }

    public var description: String { "the vault at \(endpoint)" }

    /// The vault API names no way to list nodes: `--node` (or the operator
    /// view's tenant map) names the one to restore.
    public func nodes() async throws(RestoreError) -> [String]? { nil }

    public func catalog(node: String) async throws(RestoreError) -> RestoreCatalog {
        var request = Renkei_Vault_V1_CatalogRequest()
        request.node = node
        var status = Renkei_Vault_V1_StatusRequest()
        status.node = node
        let (response, head) = try await call("Catalog") { vault in
            (try await vault.catalog(request), try await vault.status(status))
        }
        let snapshots = response.snapshots.map { info in
            RestoreCatalog.Snapshot(
                id: info.snapshotID, coversSeq: info.coversSeq, coversCommitTimeMs: info.coversSeq == 0 ? 0 : nil,
                createdTimeMs: info.createdUnixMillis,
                files: info.files.map { SnapshotFileSpec(name: $0.name, size: $0.sizeBytes, sha256: $0.sha256) })
        }
        let segments = response.segments.map { info in
            RestoreCatalog.Segment(name: info.name, firstSeq: info.firstSeq, lastSeq: info.lastSeq,
                                   firstCommitTimeMs: info.firstCommitUnixMillis, lastCommitTimeMs: info.lastCommitUnixMillis,
                                   size: info.sizeBytes, sha256: info.sha256)
        }
        return RestoreCatalog(node: node, snapshots: snapshots, segments: segments.sorted { $0.firstSeq < $1.firstSeq },
                              storedSeq: head.lastSeq)
    }

    public func fetchSegment(node: String, name: String, maxBytes: Int) async throws(RestoreError) -> [UInt8] {
        var request = Renkei_Vault_V1_FetchFileRequest()
        request.node = node
        request.segment = name
        return try await call("FetchFile") { vault in
            try await vault.fetchFile(request) { response in
                var bytes: [UInt8] = []
                for try await chunk in response.messages {
                    guard chunk.offset == UInt64(bytes.count) else {
                        throw RestoreError(.vault, "segment \(name): a chunk at offset \(chunk.offset), expected \(bytes.count)")
                    }
                    guard bytes.count + chunk.data.count <= maxBytes else {
                        throw RestoreError(.limit, "segment \(name) is larger than the \(maxBytes) bytes the catalog states")
                    }
                    bytes.append(contentsOf: chunk.data)
                }
                return bytes
            }
        }
    }

    public func fetchSnapshotFile(node: String, snapshotID: String, name: String, maxBytes: UInt64, to path: String) async throws(RestoreError) -> FetchedFile {
        var request = Renkei_Vault_V1_FetchFileRequest()
        request.node = node
        var ref = Renkei_Vault_V1_SnapshotFileRef()
        ref.snapshotID = snapshotID
        ref.name = name
        request.snapshotFile = ref
        return try await call("FetchFile") { vault in
            try await vault.fetchFile(request) { response in
                let writer = try HashingFileWriter(path: path, maxBytes: maxBytes)
                do {
                    for try await chunk in response.messages {
                        try writer.write(Array(chunk.data), at: chunk.offset)
                    }
                } catch {
                    writer.abandon()
                    throw error
                }
                return try writer.finish()
            }
        }
    }

    private func call<R: Sendable>(
        _ rpc: String, _ body: (Renkei_Vault_V1_Vault.Client<HTTP2ClientTransport.Posix>) async throws -> R
    ) async throws(RestoreError) -> R {
        let outcome: Result<R, RestoreError>
        do {
            // The transport wraps foreign errors; a restore's own (a failed
            // check, a limit) travel back as a value to keep their meaning.
            outcome = try await VaultTransport.withClient(endpoint, credentials: credentials) { vault in
                do {
                    return .success(try await body(vault))
                } catch let error as RestoreError {
                    return .failure(error)
                }
            }
        } catch {
            if let rpcError = error.cause as? RPCError {
                let code: RestoreError.Code = switch rpcError.code {
                case .notFound: .notFound
                case .dataLoss: .corrupt
                case .resourceExhausted: .limit
                default: .vault
                }
                throw RestoreError(code, "\(rpc) at \(endpoint): \(rpcError.message)", cause: error)
            }
            throw RestoreError(.vault, "\(rpc): \(error.message)", cause: error)
        }
        return try outcome.get()
    }
}
