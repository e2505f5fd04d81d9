import Foundation
import GRPCCore
import Logging
import NIOPosix
import RenkeiVault
import RenkeiWire
import ServiceLifecycle
import SwiftProtobuf
import Synchronization

/// `renkei.vault.v1.Vault` over a `VaultStore`.
///
/// Who may do what comes from the verified client certificate alone (see
/// `VaultCaller`): a node writes and reads the status of its own stream, a
/// DR operator reads any stream and writes nothing. Every store call does
/// blocking file I/O (fsync), so it runs on NIO's thread pool, never on the
/// cooperative pool. Logs carry node names, sequence ranges and counts,
/// never payload bytes.
///
/// Graceful shutdown: a Ship stream stays open while its node has nothing
/// to send, which would keep the server from stopping. So when the vault
/// drains (`ShipStreamDrain.begin()`, or the graceful shutdown of the
/// swift-service-lifecycle service the server runs in), each open Ship
/// stream finishes the request it is storing, acknowledges it, and ends
/// with status OK; one waiting for its next request ends at once. Nothing is
/// half-written; the node reconnects later and resumes from the vault's
/// last sequence.
public struct VaultService: Renkei_Vault_V1_Vault.SimpleServiceProtocol {
    let store: VaultStore
    let logger: Logger
    let limits: VaultConfig.Limits
    /// Files linked (not sent) per node's upload in progress, for
    /// CommitSnapshotResponse.linked_files; one entry per node.
    private let uploads = UploadLedger()
    /// Ends open Ship streams on graceful shutdown.
    let drain: ShipStreamDrain

    /// - Parameter drain: ends this service's open Ship streams when begun
    ///   (see `VaultServerService`); a private one if not given.
    public init(store: VaultStore, logger: Logger, limits: VaultConfig.Limits = VaultConfig.Limits(),
                drain: ShipStreamDrain = ShipStreamDrain()) {
        self.store = store
        self.logger = logger
        self.limits = limits
        self.drain = drain
    }

    // MARK: Ship

    public func ship(
        request: RPCAsyncSequence<Renkei_Vault_V1_ShipRequest, any Error>,
        response: RPCWriter<Renkei_Vault_V1_ShipAck>,
        context: ServerContext
    ) async throws {
        let node = try VaultCaller.of(context).writableStream("Ship")
        let gate = ShipStreamGate()
        guard drain.register(gate) else {
            throw RPCError(code: .unavailable, message: "the vault is shutting down; try again later")
        }
        defer { drain.unregister(gate) }
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.receiveShip(request, response: response, node: node, gate: gate) }
                // Returns when draining begins while no request is being
                // stored; cancelling the receiver then ends its wait for
                // the next request.
                group.addTask { await gate.drainedWhileIdle() }
                _ = try await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            gate.drain()
        }
    }

    /// The Ship stream's requests, one at a time: store, then acknowledge.
    /// Returns when the node closes its side, or after the request in hand
    /// when the stream drains.
    private func receiveShip(
        _ request: RPCAsyncSequence<Renkei_Vault_V1_ShipRequest, any Error>,
        response: RPCWriter<Renkei_Vault_V1_ShipAck>, node: String, gate: ShipStreamGate
    ) async throws {
        var shipped = 0
        defer { logger.info("ship stream closed", metadata: ["node": "\(node)", "records": "\(shipped)", "drained": "\(gate.isDraining)"]) }
        for try await message in request {
            // A request that arrives once draining began is not stored (and
            // not acknowledged): the node sends it again after reconnecting.
            guard gate.beginStoring() else { return }
            try checkSize(message, field: "ShipRequest")
            guard message.records.count <= limits.maxRecordsPerShip else {
                throw RPCError(code: .resourceExhausted,
                               message: "ShipRequest.records: holds \(message.records.count) records, over the limit of \(limits.maxRecordsPerShip)")
            }
            let last: UInt64
            if message.records.isEmpty {
                last = try await blocking("Ship", node: node) { store in try store.lastSequence(node: node) }
                logger.info("ship stream opened", metadata: ["node": "\(node)", "last-seq": "\(last)"])
            } else {
                let records = message.records.map {
                    VaultRecord(seq: $0.seq, commitTimeMs: $0.commitTimeUnixMillis, payload: Array($0.payload))
                }
                last = try await blocking("Ship", node: node) { store in try store.append(node: node, records: records) }
                shipped += records.count
                logger.debug("changes stored", metadata: [
                    "node": "\(node)", "first-seq": "\(records.first!.seq)", "last-seq": "\(records.last!.seq)",
                    "records": "\(records.count)", "vault-last-seq": "\(last)",
                ])
            }
            var ack = Renkei_Vault_V1_ShipAck()
            ack.lastSeq = last
            try await response.write(ack)
            guard gate.endStoring() else { return }
        }
    }

    // MARK: Snapshots

    public func beginSnapshot(request: Renkei_Vault_V1_BeginSnapshotRequest, context: ServerContext) async throws -> Renkei_Vault_V1_BeginSnapshotResponse {
        let node = try VaultCaller.of(context).writableStream("BeginSnapshot")
        try checkSize(request, field: "BeginSnapshotRequest")
        guard !request.files.isEmpty, request.files.count <= limits.maxSnapshotFiles else {
            throw RPCError(code: request.files.isEmpty ? .invalidArgument : .resourceExhausted,
                           message: "BeginSnapshotRequest.files: a snapshot has 1 to \(limits.maxSnapshotFiles) files; got \(request.files.count)")
        }
        let files = request.files.map { SnapshotFileSpec(name: $0.name, size: $0.sizeBytes, sha256: $0.sha256) }
        // The proto carries no commit time of change covers_seq; the
        // snapshot's creation time bounds it (every change it holds was
        // committed before it was taken), which is what choosing a base for a
        // point-in-time restore needs.
        let coversTime = request.createdUnixMillis > 0 ? request.createdUnixMillis : VaultClock.nowMs()
        let id = request.snapshotID
        let needed = try await blocking("BeginSnapshot", node: node) { store in
            try store.beginSnapshot(node: node, id: id, coversSeq: request.coversSeq, coversCommitTimeMs: coversTime, files: files)
        }
        let linked = files.filter { $0.size > 0 }.count - needed.count
        uploads.begin(node: node, id: id, linked: linked)
        logger.info("snapshot upload begun", metadata: [
            "node": "\(node)", "snapshot": "\(id)", "covers-seq": "\(request.coversSeq)",
            "files": "\(files.count)", "to-send": "\(needed.count)", "linked": "\(linked)",
        ])
        var response = Renkei_Vault_V1_BeginSnapshotResponse()
        response.needed = needed
        return response
    }

    public func putSnapshotFile(
        request: RPCAsyncSequence<Renkei_Vault_V1_FileChunk, any Error>, context: ServerContext
    ) async throws -> Renkei_Vault_V1_PutSnapshotFileResponse {
        let node = try VaultCaller.of(context).writableStream("PutSnapshotFile")
        var target: (id: String, name: String)?
        var size: UInt64 = 0
        for try await chunk in request {
            try checkSize(chunk, field: "FileChunk")
            guard chunk.data.count <= limits.maxChunkBytes else {
                throw RPCError(code: .resourceExhausted,
                               message: "FileChunk.data: \(chunk.data.count) bytes, over the limit of \(limits.maxChunkBytes)")
            }
            if target == nil {
                guard !chunk.snapshotID.isEmpty, !chunk.name.isEmpty else {
                    throw RPCError(code: .invalidArgument, message: "FileChunk: the first chunk must name snapshot_id and name")
                }
                target = (chunk.snapshotID, chunk.name)
            } else if (!chunk.snapshotID.isEmpty && chunk.snapshotID != target!.id) || (!chunk.name.isEmpty && chunk.name != target!.name) {
                throw RPCError(code: .invalidArgument, message: "FileChunk: one PutSnapshotFile call carries one file")
            }
            let (id, name) = target!
            let bytes = Array(chunk.data)
            let offset = chunk.offset
            size = try await blocking("PutSnapshotFile", node: node) { store in
                try store.writeSnapshotFile(node: node, id: id, name: name, offset: offset, bytes: bytes)
            }
        }
        guard let target else {
            throw RPCError(code: .invalidArgument, message: "PutSnapshotFile: no chunk was sent")
        }
        logger.debug("snapshot file received", metadata: ["node": "\(node)", "snapshot": "\(target.id)", "file": "\(target.name)", "bytes": "\(size)"])
        var response = Renkei_Vault_V1_PutSnapshotFileResponse()
        response.sizeBytes = size
        return response
    }

    public func commitSnapshot(request: Renkei_Vault_V1_CommitSnapshotRequest, context: ServerContext) async throws -> Renkei_Vault_V1_CommitSnapshotResponse {
        let node = try VaultCaller.of(context).writableStream("CommitSnapshot")
        let id = request.snapshotID
        let manifest = try await blocking("CommitSnapshot", node: node) { store in try store.commitSnapshot(node: node, id: id) }
        let linked = uploads.finish(node: node, id: id)
        logger.notice("snapshot committed", metadata: [
            "node": "\(node)", "snapshot": "\(id)", "covers-seq": "\(manifest.coversSeq)",
            "files": "\(manifest.files.count)", "bytes": "\(manifest.totalBytes)",
        ])
        var response = Renkei_Vault_V1_CommitSnapshotResponse()
        response.files = UInt64(manifest.files.count)
        response.linkedFiles = UInt64(linked)
        return response
    }

    // MARK: Reads

    public func status(request: Renkei_Vault_V1_StatusRequest, context: ServerContext) async throws -> Renkei_Vault_V1_StatusResponse {
        let caller = try VaultCaller.of(context)
        let node = try caller.readableStream(requested: request.node, field: "StatusRequest.node")
        let (usage, latest) = try await blocking("Status", node: node) { store in
            if case .drOperator = caller, try !store.nodes().contains(node) {
                throw VaultError(.notFound, "the vault holds nothing for node \(node)")
            }
            return (try store.usage(node: node), try store.latestSnapshot(node: node))
        }
        var response = Renkei_Vault_V1_StatusResponse()
        response.node = node
        response.lastSeq = usage.lastSeq
        response.lastCommitUnixMillis = usage.lastCommitTimeMs
        response.segments = UInt64(usage.segmentCount)
        response.storedBytes = usage.bytes
        if let latest {
            response.latestSnapshotID = latest.id
            response.latestSnapshotCoversSeq = latest.coversSeq
            response.latestSnapshotCreatedUnixMillis = latest.createdTimeMs
        }
        return response
    }

    public func catalog(request: Renkei_Vault_V1_CatalogRequest, context: ServerContext) async throws -> Renkei_Vault_V1_CatalogResponse {
        let caller = try VaultCaller.of(context)
        try caller.requireOperator("Catalog")
        let node = try caller.readableStream(requested: request.node, field: "CatalogRequest.node")
        let (snapshots, segments) = try await blocking("Catalog", node: node) { store in
            guard try store.nodes().contains(node) else { throw VaultError(.notFound, "the vault holds nothing for node \(node)") }
            return (try store.snapshots(node: node), try store.segments(node: node))
        }
        var response = Renkei_Vault_V1_CatalogResponse()
        response.node = node
        response.snapshots = snapshots.map { manifest in
            var info = Renkei_Vault_V1_SnapshotInfo()
            info.snapshotID = manifest.id
            info.coversSeq = manifest.coversSeq
            info.createdUnixMillis = manifest.createdTimeMs
            info.files = manifest.files.map { file in
                var f = Renkei_Vault_V1_SnapshotFile()
                f.name = file.name
                f.sizeBytes = file.size
                f.sha256 = file.sha256
                return f
            }
            return info
        }
        response.segments = segments.map { segment in
            var info = Renkei_Vault_V1_SegmentInfo()
            info.name = segment.fileName
            info.firstSeq = segment.firstSeq
            info.lastSeq = segment.lastSeq
            info.firstCommitUnixMillis = segment.firstCommitTimeMs
            info.lastCommitUnixMillis = segment.lastCommitTimeMs
            info.sizeBytes = segment.byteSize
            info.sha256 = segment.sha256
            return info
        }
        // A catalog past the message limit cannot be sent; say so rather
        // than let the transport reset the stream.
        let size = (try? response.serializedBytes() as [UInt8])?.count ?? Int.max
        guard size <= limits.maxMessageBytes else {
            throw RPCError(code: .resourceExhausted,
                           message: "the catalog of node \(node) is \(size) bytes, over the message limit of \(limits.maxMessageBytes); shorten keepChangeDays or take a snapshot so retention can drop segments")
        }
        logger.info("catalog read", metadata: [
            "node": "\(node)", "caller": "\(caller.label)", "snapshots": "\(snapshots.count)", "segments": "\(segments.count)",
        ])
        return response
    }

    public func fetchFile(
        request: Renkei_Vault_V1_FetchFileRequest, response: RPCWriter<Renkei_Vault_V1_FileChunk>, context: ServerContext
    ) async throws {
        let caller = try VaultCaller.of(context)
        try caller.requireOperator("FetchFile")
        let node = try caller.readableStream(requested: request.node, field: "FetchFileRequest.node")
        let chunkBytes = limits.maxChunkBytes
        let read: @Sendable (VaultStore, UInt64) throws(VaultError) -> [UInt8]
        var first = Renkei_Vault_V1_FileChunk()
        switch request.file {
        case .segment(let name)?:
            first.name = name
            read = { store, offset throws(VaultError) in try store.readSegmentFile(node: node, name: name, offset: offset, maxBytes: chunkBytes) }
        case .snapshotFile(let ref)?:
            first.snapshotID = ref.snapshotID
            first.name = ref.name
            read = { store, offset throws(VaultError) in
                try store.readSnapshotFile(node: node, id: ref.snapshotID, name: ref.name, offset: offset, maxBytes: chunkBytes)
            }
        case nil:
            throw RPCError(code: .invalidArgument, message: "FetchFileRequest.file: name a segment or a snapshot file")
        }
        var offset: UInt64 = 0
        var chunk = first
        while true {
            let at = offset
            let bytes = try await blocking("FetchFile", node: node) { store in try read(store, at) }
            // Always one chunk, even for an empty file, so the client sees the name.
            if bytes.isEmpty && offset > 0 { break }
            chunk.data = Data(bytes)
            chunk.offset = offset
            try await response.write(chunk)
            chunk = Renkei_Vault_V1_FileChunk()
            offset += UInt64(bytes.count)
            if bytes.isEmpty { break }
        }
        logger.info("file fetched", metadata: [
            "node": "\(node)", "caller": "\(caller.label)", "snapshot": "\(first.snapshotID)", "file": "\(first.name)", "bytes": "\(offset)",
        ])
    }

    // MARK: Helpers

    /// RESOURCE_EXHAUSTED for a message over the contract's limit that the
    /// transport (whose ceiling is twice as high) let through.
    func checkSize(_ message: some SwiftProtobuf.Message, field: String) throws(RPCError) {
        let size = (try? message.serializedBytes() as [UInt8])?.count ?? Int.max
        guard size <= limits.maxMessageBytes else {
            logger.notice("request refused: over the message limit", metadata: ["message": "\(field)", "bytes": "\(size)"])
            throw RPCError(code: .resourceExhausted, message: "\(field): is \(size) bytes, over the limit of \(limits.maxMessageBytes) bytes")
        }
    }

    /// Runs a blocking store call on NIO's thread pool and maps its error to a status.
    func blocking<R: Sendable>(
        _ rpc: String, node: String, _ body: @escaping @Sendable (VaultStore) throws -> R
    ) async throws(RPCError) -> R {
        let store = store
        do {
            return try await NIOThreadPool.singleton.runIfActive { () throws -> R in try body(store) }
        } catch let error as VaultError {
            let status = Self.status(for: error, dataRoot: store.root)
            let level: Logger.Level = status.code == .internalError || status.code == .dataLoss ? .error : .notice
            logger.log(level: level, "\(rpc) failed", metadata: ["node": "\(node)", "code": "\(error.code.rawValue)", "reason": "\(error.message)"])
            throw status
        } catch {
            logger.error("\(rpc) failed", metadata: ["node": "\(node)", "reason": "\(error)"])
            throw RPCError(code: .unavailable, message: "\(rpc): the vault is shutting down or cannot serve the call")
        }
    }

    /// The status a store error is answered with; its message names the
    /// node, sequence numbers and files, never payload bytes. Paths are
    /// relative to the vault's data directory: a client learns nothing of
    /// the vault machine's disk layout.
    static func status(for storeError: VaultError, dataRoot: String) -> RPCError {
        let root = dataRoot.hasSuffix("/") ? dataRoot : dataRoot + "/"
        let error = VaultError(storeError.code, storeError.message.replacingOccurrences(of: root, with: ""), cause: storeError.cause)
        return switch error.code {
        case .gap: RPCError(code: .failedPrecondition, message: error.message)
        case .diskFull: RPCError(code: .resourceExhausted,
                                 message: "the vault's disk is full; nothing of this request was stored — send it again later (\(error.message))")
        case .limit: RPCError(code: .resourceExhausted, message: error.message)
        case .invalidName: RPCError(code: .invalidArgument, message: error.message)
        case .notFound: RPCError(code: .notFound, message: error.message)
        case .corrupt: RPCError(code: .dataLoss, message: error.message)
        case .io: RPCError(code: .internalError, message: error.message)
        }
    }
}

/// The number of linked files of each node's snapshot upload in progress.
/// At most one entry per node (a new upload replaces the earlier one).
final class UploadLedger: Sendable {
    private let entries = Mutex<[String: (id: String, linked: Int)]>([:])

    func begin(node: String, id: String, linked: Int) {
        entries.withLock { $0[node] = (id, linked) }
    }

    /// The linked count of `id`, forgetting it; 0 if unknown (a retried commit).
    func finish(node: String, id: String) -> Int {
        entries.withLock { entries in
            guard let entry = entries[node], entry.id == id else { return 0 }
            entries[node] = nil
            return entry.linked
        }
    }
}

/// Ends the open Ship streams of a vault service when the vault shuts down
/// gracefully, and refuses new ones from then on (UNAVAILABLE: the node
/// retries later). Holds one entry per open Ship stream, so it is bounded
/// by the transport's concurrent-stream limit per connection.
public final class ShipStreamDrain: Sendable {
    private struct State {
        var draining = false
        var streams: [ObjectIdentifier: ShipStreamGate] = [:]
    }
    private let state = Mutex(State())

    public init() {}

    /// Whether draining has begun.
    public var isDraining: Bool { state.withLock { $0.draining } }

    /// Begins draining: every open Ship stream ends after the request it is
    /// storing (at once if it is waiting for one). Idempotent.
    public func begin() {
        let gates = state.withLock { s in
            s.draining = true
            return Array(s.streams.values)
        }
        gates.forEach { $0.drain() }
    }

    /// Adds an open stream; false if draining has begun (refuse the stream).
    func register(_ gate: ShipStreamGate) -> Bool {
        state.withLock { s in
            guard !s.draining else { return false }
            s.streams[ObjectIdentifier(gate)] = gate
            return true
        }
    }

    func unregister(_ gate: ShipStreamGate) {
        _ = state.withLock { $0.streams.removeValue(forKey: ObjectIdentifier(gate)) }
    }
}

/// One Ship stream's state for draining: whether a request is being stored
/// (it finishes, however long its fsync takes) and whether draining began.
final class ShipStreamGate: Sendable {
    private struct State {
        var storing = false
        var draining = false
    }
    private let state = Mutex(State())
    // One element at most: the single "drained while idle" event.
    private let events: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init() {
        (events, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    var isDraining: Bool { state.withLock { $0.draining } }

    /// Begins draining this stream.
    func drain() {
        let idle = state.withLock { s in
            s.draining = true
            return !s.storing
        }
        if idle { wake.yield() }
    }

    /// Marks a request in hand as being stored; false if draining began
    /// (the request is not stored).
    func beginStoring() -> Bool {
        state.withLock { s in
            guard !s.draining else { return false }
            s.storing = true
            return true
        }
    }

    /// Marks the request stored and acknowledged; false if draining began
    /// meanwhile (end the stream now).
    func endStoring() -> Bool {
        state.withLock { s in
            s.storing = false
            return !s.draining
        }
    }

    /// Returns once draining began while no request was being stored, or
    /// when the task is cancelled.
    func drainedWhileIdle() async {
        for await _ in events { return }
    }
}
