import Crypto
import Foundation
import GRPCCore
import GRPCInProcessTransport
import RenkeiBackup
import RenkeiWire
import Synchronization

/// An in-memory vault speaking the vault protocol, for the shipper's
/// protocol loop until the real vault server (RenkeiVaultServer) is on
/// main. It follows the contract: empty first ShipRequest → ShipAck(last),
/// duplicates skipped, gaps refused, unchanged snapshot files linked, and a
/// committed snapshot's covers_seq becomes the node's last sequence.
final class FakeVault: Renkei_Vault_V1_Vault.SimpleServiceProtocol, Sendable {
    struct Snapshot: Sendable {
        var id: String
        var coversSeq: UInt64
        var createdMs: UInt64
        var files: [String: (size: UInt64, sha256: String, data: [UInt8])]
    }
    struct Upload: Sendable {
        var snapshot: Snapshot
        var needed: Set<String>
    }
    struct State: Sendable {
        var records: [UInt64: (time: UInt64, payload: [UInt8])] = [:]
        var lastSeq: UInt64 = 0
        var duplicates = 0
        var snapshots: [Snapshot] = []
        var upload: Upload?
        var down = false
    }
    let state = Mutex(State())

    var isDown: Bool { state.withLock { $0.down } }
    func setDown(_ down: Bool) { state.withLock { $0.down = down } }
    var lastSeq: UInt64 { state.withLock { $0.lastSeq } }

    private func checkUp() throws {
        if isDown { throw RPCError(code: .unavailable, message: "test vault is down") }
    }

    func ship(request: RPCAsyncSequence<Renkei_Vault_V1_ShipRequest, any Error>,
              response: RPCWriter<Renkei_Vault_V1_ShipAck>, context: ServerContext) async throws {
        for try await message in request {
            try checkUp()
            let last = try state.withLock { s throws -> UInt64 in
                for r in message.records {
                    if r.seq <= s.lastSeq { s.duplicates += 1; continue }
                    guard r.seq == s.lastSeq + 1 else {
                        throw RPCError(code: .failedPrecondition, message: "gap: expected \(s.lastSeq + 1), got \(r.seq)")
                    }
                    s.records[r.seq] = (r.commitTimeUnixMillis, Array(r.payload))
                    s.lastSeq = r.seq
                }
                return s.lastSeq
            }
            var ack = Renkei_Vault_V1_ShipAck()
            ack.lastSeq = last
            try await response.write(ack)
        }
    }

    func beginSnapshot(request: Renkei_Vault_V1_BeginSnapshotRequest, context: ServerContext) async throws -> Renkei_Vault_V1_BeginSnapshotResponse {
        try checkUp()
        return state.withLock { s in
            let previous = s.snapshots.last
            var snap = Snapshot(id: request.snapshotID, coversSeq: request.coversSeq, createdMs: request.createdUnixMillis, files: [:])
            var needed = Set<String>()
            var order: [String] = []
            for f in request.files {
                if let old = previous?.files[f.name], old.size == f.sizeBytes, old.sha256 == f.sha256 {
                    snap.files[f.name] = old
                } else {
                    snap.files[f.name] = (f.sizeBytes, f.sha256, [])
                    needed.insert(f.name)
                    order.append(f.name)
                }
            }
            s.upload = Upload(snapshot: snap, needed: needed)
            var response = Renkei_Vault_V1_BeginSnapshotResponse()
            response.needed = order
            return response
        }
    }

    func putSnapshotFile(request: RPCAsyncSequence<Renkei_Vault_V1_FileChunk, any Error>, context: ServerContext) async throws -> Renkei_Vault_V1_PutSnapshotFileResponse {
        try checkUp()
        var name = "", data: [UInt8] = []
        for try await chunk in request {
            if data.isEmpty && name.isEmpty { name = chunk.name }
            guard chunk.offset == UInt64(data.count), chunk.data.count <= 1 << 20 else {
                throw RPCError(code: .invalidArgument, message: "bad chunk")
            }
            data += chunk.data
        }
        let size = UInt64(data.count)
        try state.withLock { s throws in
            guard var upload = s.upload, upload.needed.contains(name), let spec = upload.snapshot.files[name] else {
                throw RPCError(code: .failedPrecondition, message: "not needed: \(name)")
            }
            upload.snapshot.files[name] = (spec.size, spec.sha256, data)
            s.upload = upload
        }
        var response = Renkei_Vault_V1_PutSnapshotFileResponse()
        response.sizeBytes = size
        return response
    }

    func commitSnapshot(request: Renkei_Vault_V1_CommitSnapshotRequest, context: ServerContext) async throws -> Renkei_Vault_V1_CommitSnapshotResponse {
        try checkUp()
        return try state.withLock { s throws in
            guard let upload = s.upload, upload.snapshot.id == request.snapshotID else {
                throw RPCError(code: .notFound, message: "no upload")
            }
            for (name, f) in upload.snapshot.files {
                let hex = SHA256.hash(data: f.data).map { String(format: "%02x", $0) }.joined()
                guard UInt64(f.data.count) == f.size, hex == f.sha256 else {
                    throw RPCError(code: .dataLoss, message: "file \(name) does not match")
                }
            }
            s.snapshots.append(upload.snapshot)
            s.upload = nil
            s.lastSeq = max(s.lastSeq, upload.snapshot.coversSeq)
            var response = Renkei_Vault_V1_CommitSnapshotResponse()
            response.files = UInt64(upload.snapshot.files.count)
            response.linkedFiles = UInt64(upload.snapshot.files.count - upload.needed.count)
            return response
        }
    }

    func status(request: Renkei_Vault_V1_StatusRequest, context: ServerContext) async throws -> Renkei_Vault_V1_StatusResponse {
        try checkUp()
        return state.withLock { s in
            var response = Renkei_Vault_V1_StatusResponse()
            response.lastSeq = s.lastSeq
            if let latest = s.snapshots.last {
                response.latestSnapshotID = latest.id
                response.latestSnapshotCoversSeq = latest.coversSeq
                response.latestSnapshotCreatedUnixMillis = latest.createdMs
            }
            return response
        }
    }

    func catalog(request: Renkei_Vault_V1_CatalogRequest, context: ServerContext) async throws -> Renkei_Vault_V1_CatalogResponse {
        throw RPCError(code: .unimplemented, message: "not in the fake")
    }

    func fetchFile(request: Renkei_Vault_V1_FetchFileRequest, response: RPCWriter<Renkei_Vault_V1_FileChunk>, context: ServerContext) async throws {
        throw RPCError(code: .unimplemented, message: "not in the fake")
    }
}

/// Connects to the fake vault over an in-process transport; refuses to
/// connect while the vault is down.
struct FakeConnector: VaultConnector {
    let client: GRPCClient<InProcessTransport.Client>
    let vault: FakeVault

    func withVault<Result: Sendable>(
        _ body: (Renkei_Vault_V1_Vault.Client<InProcessTransport.Client>) async throws -> Result
    ) async throws -> Result {
        if vault.isDown { throw BackupError(.vaultUnavailable, "test vault is down") }
        return try await body(Renkei_Vault_V1_Vault.Client(wrapping: client))
    }
}

/// Runs `body` with a fake vault served in-process.
func withFakeVault(_ body: @Sendable (FakeVault, FakeConnector) async throws -> Void) async throws {
    let vault = FakeVault()
    let transport = InProcessTransport()
    try await withGRPCServer(transport: transport.server, services: [vault]) { _ in
        try await withGRPCClient(transport: transport.client) { client in
            try await body(vault, FakeConnector(client: client, vault: vault))
        }
    }
}
