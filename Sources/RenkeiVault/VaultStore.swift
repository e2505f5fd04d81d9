#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import Synchronization

/// The vault's storage: under one root directory, each node's change
/// segments and base snapshots (see `NodeLayout` for the file layout).
///
/// Payloads and snapshot files are opaque bytes; the vault holds no key.
///
/// Every write is crash-safe: a new file is written under a temporary name,
/// fsynced, renamed into place, and its directory fsynced. A crash leaves
/// the previous state plus, at worst, temporary files, which are never read
/// as data and are removed when the node is next touched. A full disk
/// (`.diskFull`) leaves the previous state intact.
///
/// Thread-safe. Calls for one node are serialized (a lock per node); calls
/// for different nodes run in parallel. All calls do blocking file I/O, so
/// an async caller should run them off the cooperative pool. One process
/// owns a root at a time (an exclusive `flock` on `ROOT/vault.lock`);
/// `VaultVerifier` reads without it.
public final class VaultStore: Sendable {
    /// The root directory.
    public let root: String
    public let limits: VaultLimits
    let logger: Logger
    private let lockFD: Int32
    private let slots = Mutex<[String: NodeSlot]>([:])

    final class NodeSlot: Sendable {
        let state = Mutex(NodeState())
    }

    struct NodeState: Sendable {
        var loaded = false
        var lastSeq: UInt64 = 0
        var lastCommitTimeMs: UInt64 = 0
        /// The node's snapshot upload in progress; at most one per node.
        var upload: PendingSnapshot?
    }

    private init(root: String, limits: VaultLimits, logger: Logger, lockFD: Int32) {
        self.root = root
        self.limits = limits
        self.logger = logger
        self.lockFD = lockFD
    }

    deinit {
        _ = close(lockFD)
    }

    /// Opens (creating if needed) the vault at `root`.
    ///
    /// - Throws: `.io` if another process has this root open, or a
    ///   directory cannot be created.
    public static func open(root: String, limits: VaultLimits = VaultLimits(), logger: Logger = Logger(label: "renkei.vault")) throws(VaultError) -> VaultStore {
        let root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        try VaultFiles.makeDirectory(root)
        try VaultFiles.makeDirectory(NodeLayout.nodesDir(root: root))
        let lockPath = root + "/vault.lock"
        let fd = try VaultFiles.openFile(lockPath, flags: O_RDWR | O_CREAT, mode: 0o600)
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let err = errno
            _ = close(fd)
            if err == EWOULDBLOCK {
                throw VaultError(.io, "the vault at \(root) is open in another process (or another VaultStore of this one)")
            }
            throw VaultError.system("flock", "cannot lock", lockPath, errno: err)
        }
        return VaultStore(root: root, limits: limits, logger: logger, lockFD: fd)
    }

    func layout(_ node: String) -> NodeLayout { NodeLayout(root: root, node: node) }

    /// Runs `body` with the node's state locked, loading it first. With
    /// `create`, the node's directories are made; without, a node the vault
    /// has never seen reads as empty.
    func withNode<R: Sendable>(
        _ node: String, create: Bool, _ body: (NodeLayout, inout NodeState) throws(VaultError) -> R
    ) throws(VaultError) -> R {
        try VaultNames.validateNode(node)
        let slot = slots.withLock { slots in
            if let slot = slots[node] { return slot }
            let slot = NodeSlot()
            slots[node] = slot
            return slot
        }
        let layout = layout(node)
        return try slot.state.withLock { (state: inout NodeState) throws(VaultError) -> R in
            if !state.loaded {
                guard create || VaultFiles.isDirectory(layout.dir) else {
                    return try body(layout, &state)
                }
                try load(layout, into: &state)
            }
            return try body(layout, &state)
        }
    }

    /// Makes the node's directories, removes a crash's leftovers, and reads
    /// the last stored change.
    private func load(_ layout: NodeLayout, into state: inout NodeState) throws(VaultError) {
        try VaultFiles.makeDirectory(layout.dir)
        try VaultFiles.makeDirectory(layout.segmentsDir)
        try VaultFiles.makeDirectory(layout.snapshotsDir)
        var removed: [String] = []
        let listing = try SegmentListing.scan(layout)
        for name in listing.temporaries + listing.orphanMetas {
            try VaultFiles.remove(layout.segmentsDir + "/" + name)
            removed.append("segments/" + name)
        }
        for name in try VaultFiles.list(layout.dir) where name.hasPrefix(VaultFiles.temporaryPrefix) {
            try VaultFiles.remove(layout.dir + "/" + name)
            removed.append(name)
        }
        for name in try VaultFiles.list(layout.snapshotsDir) where name.hasPrefix(".") {
            try VaultFiles.removeTree(layout.snapshotsDir + "/" + name)
            removed.append("snapshots/" + name)
        }
        if !removed.isEmpty {
            try VaultFiles.syncDirectory(layout.segmentsDir)
            try VaultFiles.syncDirectory(layout.snapshotsDir)
            try VaultFiles.syncDirectory(layout.dir)
            logger.notice("vault: removed leftovers of an interrupted write", metadata: [
                "node": "\(layout.node)", "files": "\(removed.joined(separator: ", "))",
            ])
        }
        let head = try NodeDisk.readHead(layout) ?? NodeHead(lastSeq: 0, lastCommitTimeMs: 0)
        state.lastSeq = head.lastSeq
        state.lastCommitTimeMs = head.lastCommitTimeMs
        // The head is written after the segment, so a crash can leave it
        // one segment behind.
        if let newest = listing.segments.last, newest.last > head.lastSeq {
            let info = try NodeDisk.readMeta(layout, newest.name)
            state.lastSeq = info.lastSeq
            state.lastCommitTimeMs = info.lastCommitTimeMs
        }
        // A committed snapshot covering more than the stored changes moved
        // the node on (see `commitSnapshot`); the head may lag it likewise.
        if let newest = try NodeDisk.manifests(layout).last, newest.coversSeq > state.lastSeq {
            state.lastSeq = newest.coversSeq
            state.lastCommitTimeMs = newest.coversCommitTimeMs
        }
        state.loaded = true
    }

    // MARK: Changes

    /// Names of the nodes the vault holds anything for, sorted.
    public func nodes() throws(VaultError) -> [String] {
        try VaultFiles.list(NodeLayout.nodesDir(root: root)).filter {
            VaultNames.isSafeComponent($0) && VaultFiles.isDirectory(NodeLayout.nodesDir(root: root) + "/" + $0)
        }
    }

    /// The sequence number of the node's last stored change; 0 if none.
    /// Retention never lowers it.
    public func lastSequence(node: String) throws(VaultError) -> UInt64 {
        try withNode(node, create: false) { _, state in state.lastSeq }
    }

    /// Stores a batch of the node's changes as one segment.
    ///
    /// Records with `seq` at or below the last stored one are duplicates (a
    /// resend after a lost acknowledgement) and are skipped; the first new
    /// one must be the last stored plus one, and the rest must follow it by
    /// one each. A batch of only duplicates writes nothing.
    ///
    /// - Returns: the node's last stored sequence number afterwards.
    /// - Throws: `.gap` naming the expected and the offered number,
    ///   `.limit`, `.diskFull` (nothing of the batch stored; resend it once
    ///   there is room), `.invalidName`, `.io`.
    @discardableResult
    public func append(node: String, records: [VaultRecord]) throws(VaultError) -> UInt64 {
        guard records.count <= limits.maxRecordsPerSegment else {
            throw VaultError(.limit, "a batch holds at most \(limits.maxRecordsPerSegment) changes; got \(records.count)")
        }
        return try withNode(node, create: true) { (layout, state) throws(VaultError) -> UInt64 in
            let last = state.lastSeq
            let fresh = records.drop(while: { $0.seq <= last })
            guard let first = fresh.first else { return last }
            guard first.seq == last + 1 else {
                throw VaultError(.gap, "node \(layout.node): the vault's last change is \(last), so the next must be \(last + 1), but the batch continues with \(first.seq)")
            }
            var writer = SegmentWriter(limits: limits)
            for record in fresh { try writer.append(record) }
            let frame = try writer.finish()
            // Assert the bytes right before they are written: they must read
            // back to exactly the content built.
            let check = try LZ4Frame.decompress(frame, maxBytes: limits.maxSegmentBytes, what: "the new segment")
            guard check == writer.content else {
                throw VaultError(.io, "node \(layout.node): the new segment for changes \(writer.firstSeq)–\(writer.lastSeq) does not read back as written")
            }
            let name = SegmentName.fileName(first: writer.firstSeq, last: writer.lastSeq)
            let info = SegmentInfo(
                fileName: name, firstSeq: writer.firstSeq, lastSeq: writer.lastSeq,
                firstCommitTimeMs: writer.firstCommitTimeMs, lastCommitTimeMs: writer.lastCommitTimeMs,
                maxCommitTimeMs: writer.maxCommitTimeMs, recordCount: writer.recordCount,
                byteSize: UInt64(frame.count), sha256: VaultFiles.sha256Hex(frame)
            )
            try writeSegment(layout, info: info, frame: frame)
            state.lastSeq = info.lastSeq
            state.lastCommitTimeMs = info.lastCommitTimeMs
            // The segment is stored. A head left behind (disk full right
            // now) is harmless: loading takes the newest segment over it,
            // and retention rewrites it before deleting anything.
            do throws(VaultError) {
                try writeHead(layout, state)
            } catch {
                logger.warning("vault: the node head lags the newest segment", metadata: ["node": "\(layout.node)", "error": "\(error)"])
            }
            return info.lastSeq
        }
    }

    func writeHead(_ layout: NodeLayout, _ state: NodeState) throws(VaultError) {
        let head = NodeHead(lastSeq: state.lastSeq, lastCommitTimeMs: state.lastCommitTimeMs)
        try VaultFiles.writeAtomically(layout.headPath, VaultJSON.encode(head, what: "the node head"))
    }

    /// Sidecar first, then the segment: a visible segment always has its
    /// sidecar, and a sidecar without a segment is a crash's leftover.
    private func writeSegment(_ layout: NodeLayout, info: SegmentInfo, frame: [UInt8]) throws(VaultError) {
        let segmentPath = layout.segmentPath(info.fileName)
        let metaPath = layout.metaPath(info.fileName)
        guard !VaultFiles.exists(segmentPath) else {
            throw VaultError(.io, "\(layout.relative(segmentPath)) already exists although the node's last change is below \(info.firstSeq)")
        }
        let metaTemp = try VaultFiles.writeTemporary(for: metaPath, VaultJSON.encode(info, what: "segment metadata"))
        var segmentTemp: String?
        var metaPlaced = false
        do throws(VaultError) {
            segmentTemp = try VaultFiles.writeTemporary(for: segmentPath, frame)
            try VaultFiles.renameFile(metaTemp, metaPath)
            metaPlaced = true
            try VaultFiles.syncDirectory(layout.segmentsDir)
            try VaultFiles.renameFile(segmentTemp!, segmentPath)
        } catch {
            _ = unlink(metaTemp)
            if let segmentTemp { _ = unlink(segmentTemp) }
            if metaPlaced { _ = unlink(metaPath) }
            throw error
        }
        try VaultFiles.syncDirectory(layout.segmentsDir)
    }

    /// The node's stored segments in sequence order.
    public func segments(node: String) throws(VaultError) -> [SegmentInfo] {
        try withNode(node, create: false) { (layout, _) throws(VaultError) -> [SegmentInfo] in
            var out: [SegmentInfo] = []
            for segment in try SegmentListing.scan(layout).segments {
                out.append(try NodeDisk.readMeta(layout, segment.name))
            }
            return out
        }
    }

    /// Up to `maxBytes` (at most `limits.maxChunkBytes`) of a stored segment
    /// file from `offset`, byte for byte as stored (the LZ4 frame); empty at
    /// the end of the file. The caller checks the SHA-256 from the segment's
    /// `SegmentInfo` once it has all of it.
    ///
    /// - Throws: `.notFound` for a name that is not one of the node's
    ///   segments (so no other file can be read through it), `.io`.
    public func readSegmentFile(node: String, name: String, offset: UInt64, maxBytes: Int) throws(VaultError) -> [UInt8] {
        try VaultNames.validateNode(node)
        guard SegmentName.parse(name) != nil else {
            throw VaultError(.notFound, "node \(node) has no segment \(name)")
        }
        let layout = layout(node)
        let path = layout.segmentPath(name)
        guard VaultFiles.exists(path) else {
            throw VaultError(.notFound, "node \(node) has no segment \(name)")
        }
        let fd = try VaultFiles.openFile(path, flags: O_RDONLY)
        defer { _ = close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw VaultError.system("fstat", "cannot stat", layout.relative(path), errno: errno) }
        let size = UInt64(st.st_size)
        let count = Int(min(UInt64(max(0, min(maxBytes, limits.maxChunkBytes))), size - min(offset, size)))
        return try VaultFiles.readAt(fd, at: offset, count: count, path: layout.relative(path))
    }

    /// Streams the node's changes after sequence number `after`, in order,
    /// one segment in memory at a time; each segment is hash-checked and
    /// its LZ4 checksums verified as it is read.
    ///
    /// With `upToCommitTimeMs`, the stream ends before the first change
    /// committed later than that (point-in-time restore). It stops there
    /// rather than skipping: applying a later change without an earlier one
    /// would build a state that never existed.
    ///
    /// - Throws: `.gap` if the vault no longer (or never) held the change
    ///   after `after` while holding later ones.
    public func records(node: String, after: UInt64, upToCommitTimeMs: UInt64? = nil) throws(VaultError) -> VaultRecordCursor {
        let (segments, lastSeq) = try withNode(node, create: false) { (layout, state) throws(VaultError) -> ([SegmentInfo], UInt64) in
            var out: [SegmentInfo] = []
            for segment in try SegmentListing.scan(layout).segments where segment.last > after {
                out.append(try NodeDisk.readMeta(layout, segment.name))
            }
            return (out, state.lastSeq)
        }
        if let first = segments.first, first.firstSeq > after + 1 {
            throw VaultError(.gap, "node \(node): changes after \(after) were asked for, but the vault's oldest kept change after it is \(first.firstSeq)")
        }
        if segments.isEmpty, lastSeq > after {
            throw VaultError(.gap, "node \(node): changes after \(after) were asked for, but the vault no longer holds changes up to \(lastSeq)")
        }
        return VaultRecordCursor(layout: layout(node), segments: segments, after: after, upToCommitTimeMs: upToCommitTimeMs, limits: limits)
    }
}

/// The changes of one node in sequence order, read one segment at a time.
/// Obtained from `VaultStore.records(node:after:upToCommitTimeMs:)`.
public struct VaultRecordCursor: Sendable {
    let layout: NodeLayout
    private var segments: [SegmentInfo]
    private var nextSegment = 0
    private var buffer: [VaultRecord] = []
    private var index = 0
    private var expected: UInt64
    private let upTo: UInt64?
    private let limits: VaultLimits
    private var finished = false

    init(layout: NodeLayout, segments: [SegmentInfo], after: UInt64, upToCommitTimeMs: UInt64?, limits: VaultLimits) {
        self.layout = layout
        self.segments = segments
        self.expected = after + 1
        self.upTo = upToCommitTimeMs
        self.limits = limits
    }

    /// The sequence number of the last change returned; the `after` given
    /// if none was.
    public var lastReturnedSeq: UInt64 { expected - 1 }

    /// The next change, or `nil` at the end (of the stored changes, or of
    /// the point in time).
    /// - Throws: `.corrupt` naming the segment file, `.gap`, `.notFound` if
    ///   retention removed a segment while it was being read.
    public mutating func next() throws(VaultError) -> VaultRecord? {
        if finished { return nil }
        while index == buffer.count {
            guard nextSegment < segments.count else {
                finished = true
                return nil
            }
            let info = segments[nextSegment]
            nextSegment += 1
            guard info.firstSeq <= expected else {
                finished = true
                throw VaultError(.gap, "node \(layout.node): change \(expected) is missing; the next stored segment \(info.fileName) starts at \(info.firstSeq)")
            }
            buffer = try NodeDisk.readSegment(layout, info, limits: limits)
            index = buffer.firstIndex(where: { $0.seq >= expected }) ?? buffer.count
        }
        let record = buffer[index]
        guard record.seq == expected else {
            finished = true
            throw VaultError(.corrupt, "node \(layout.node): expected change \(expected), the stored segment holds \(record.seq)")
        }
        if let upTo, record.commitTimeMs > upTo {
            finished = true
            buffer = []
            return nil
        }
        index += 1
        expected += 1
        if index == buffer.count {
            buffer = []
            index = 0
        }
        return record
    }

    /// Up to `max` next changes; empty at the end.
    public mutating func next(max: Int) throws(VaultError) -> [VaultRecord] {
        var out: [VaultRecord] = []
        while out.count < max, let record = try next() { out.append(record) }
        return out
    }
}
