#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A snapshot upload between `beginSnapshot` and `commitSnapshot`, kept in
/// memory; its files live in `snapshots/.incoming-<id>/`, which a restart
/// of the vault removes (the node then starts the snapshot again).
struct PendingSnapshot: Sendable {
    let id: String
    let coversSeq: UInt64
    let coversCommitTimeMs: UInt64
    let files: [SnapshotFileSpec]
    /// Files the node must send, with the bytes received so far.
    var received: [String: UInt64]
}

/// Wall-clock time in Unix milliseconds.
public enum VaultClock {
    public static func nowMs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }
}

extension VaultStore {
    // MARK: Snapshot upload

    /// Starts a base snapshot upload and says which files must be sent.
    ///
    /// A file identical (same size and SHA-256, checked on disk now) to one
    /// of the node's latest committed snapshot is hard-linked from there and
    /// not sent again: RocksDB's table files never change, so a new
    /// checkpoint mostly repeats the last one. Empty files are created here.
    /// A node has at most one upload in progress; beginning another discards
    /// the earlier one. Beginning an id that is already committed with the
    /// same content returns no names (a retry after a lost answer), and
    /// `commitSnapshot` then returns the committed manifest.
    ///
    /// - Parameters:
    ///   - coversSeq: the last change the snapshot contains.
    ///   - coversCommitTimeMs: that change's commit time (0 for none).
    ///   - files: every file of the snapshot.
    /// - Returns: the names the node must send with `writeSnapshotFile`, in
    ///   the order given.
    public func beginSnapshot(
        node: String, id: String, coversSeq: UInt64, coversCommitTimeMs: UInt64, files: [SnapshotFileSpec]
    ) throws(VaultError) -> [String] {
        try VaultNames.validateSnapshotID(id)
        guard !files.isEmpty, files.count <= limits.maxSnapshotFiles else {
            throw VaultError(.limit, "a snapshot has 1 to \(limits.maxSnapshotFiles) files; got \(files.count)")
        }
        var seen = Set<String>()
        for file in files {
            try VaultNames.validateFileName(file.name)
            guard seen.insert(file.name).inserted else {
                throw VaultError(.invalidName, "snapshot \(id) lists the file \(file.name) twice")
            }
            guard file.size <= limits.maxSnapshotFileBytes else {
                throw VaultError(.limit, "snapshot file \(file.name) has \(file.size) bytes, more than the limit of \(limits.maxSnapshotFileBytes)")
            }
            guard VaultNames.isSHA256Hex(file.sha256) else {
                throw VaultError(.invalidName, "snapshot file \(file.name): the SHA-256 must be 64 lowercase hex digits")
            }
        }
        // A directory and a file of the same name cannot both exist.
        for name in seen {
            var prefix = Substring(name)
            while let slash = prefix.lastIndex(of: "/") {
                prefix = prefix[..<slash]
                if seen.contains(String(prefix)) {
                    throw VaultError(.invalidName, "snapshot \(id) lists \(prefix) both as a file and as a directory")
                }
            }
        }
        return try withNode(node, create: true) { (layout, state) throws(VaultError) -> [String] in
            if VaultFiles.exists(layout.snapshotDir(id)) {
                let existing = try NodeDisk.readManifest(layout, id)
                guard existing.coversSeq == coversSeq, existing.files == files else {
                    throw VaultError(.io, "node \(layout.node) already has a snapshot \(id) with other content")
                }
                return []
            }
            if let earlier = state.upload {
                state.upload = nil
                try VaultFiles.removeTree(layout.incomingDir(earlier.id))
                logger.notice("vault: a new snapshot upload replaces an unfinished one", metadata: [
                    "node": "\(layout.node)", "replaced": "\(earlier.id)", "snapshot": "\(id)",
                ])
            }
            let incoming = layout.incomingDir(id)
            try VaultFiles.removeTree(incoming)
            try VaultFiles.makeDirectory(incoming)
            try VaultFiles.makeDirectory(incoming + "/files")

            var reusable: [SnapshotFileSpec: String] = [:]
            if let previous = try NodeDisk.manifests(layout).last {
                for file in previous.files where reusable[SnapshotFileSpec(name: "", size: file.size, sha256: file.sha256)] == nil {
                    reusable[SnapshotFileSpec(name: "", size: file.size, sha256: file.sha256)] = layout.snapshotFilePath(previous.id, file.name)
                }
            }
            var toSend: [String] = []
            var received: [String: UInt64] = [:]
            do throws(VaultError) {
                for file in files {
                    let path = incoming + "/files/" + file.name
                    try VaultFiles.makeDirectories(VaultFiles.parent(of: path), below: incoming + "/files")
                    if file.size > 0, let source = reusable[SnapshotFileSpec(name: "", size: file.size, sha256: file.sha256)],
                       try linkIfIntact(source, to: path, expecting: file, layout: layout)
                    {
                        continue
                    }
                    let fd = try VaultFiles.openFile(path, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
                    _ = close(fd)
                    if file.size > 0 {
                        toSend.append(file.name)
                        received[file.name] = 0
                    }
                }
            } catch {
                try? VaultFiles.removeTree(incoming)
                throw error
            }
            state.upload = PendingSnapshot(id: id, coversSeq: coversSeq, coversCommitTimeMs: coversCommitTimeMs, files: files, received: received)
            return toSend
        }
    }

    /// Hard-links `source` to `path` if it still has the expected hash; a
    /// damaged earlier copy is not carried forward (the node sends it anew).
    private func linkIfIntact(_ source: String, to path: String, expecting file: SnapshotFileSpec, layout: NodeLayout) throws(VaultError) -> Bool {
        let actual: (sha256: String, size: UInt64)
        do throws(VaultError) {
            actual = try VaultFiles.hashFile(source)
        } catch {
            logger.warning("vault: cannot read an earlier snapshot file; it will be sent again", metadata: [
                "node": "\(layout.node)", "file": "\(layout.relative(source))", "error": "\(error)",
            ])
            return false
        }
        guard actual.sha256 == file.sha256, actual.size == file.size else {
            logger.warning("vault: an earlier snapshot file fails its hash; it will be sent again (run renkei backup verify)", metadata: [
                "node": "\(layout.node)", "file": "\(layout.relative(source))",
            ])
            return false
        }
        if link(source, path) == 0 { return true }
        let err = errno
        if err == EXDEV || err == EMLINK || err == EPERM { return false }
        throw VaultError.system("link", "cannot link \(layout.relative(source)) to", path, errno: err)
    }

    /// Writes one chunk of a file `beginSnapshot` asked for.
    ///
    /// Chunks arrive in order: `offset` must be the number of bytes already
    /// received (the error names it, so a node can resume), and the file
    /// cannot grow past its declared size.
    ///
    /// - Returns: bytes of the file received so far.
    @discardableResult
    public func writeSnapshotFile(node: String, id: String, name: String, offset: UInt64, bytes: [UInt8]) throws(VaultError) -> UInt64 {
        guard bytes.count <= limits.maxChunkBytes else {
            throw VaultError(.limit, "a snapshot chunk has at most \(limits.maxChunkBytes) bytes; got \(bytes.count)")
        }
        return try withNode(node, create: true) { (layout, state) throws(VaultError) -> UInt64 in
            guard var upload = state.upload, upload.id == id else {
                throw VaultError(.notFound, "node \(layout.node) has no upload of snapshot \(id) in progress")
            }
            guard let received = upload.received[name], let spec = upload.files.first(where: { $0.name == name }) else {
                throw VaultError(.notFound, "snapshot \(id) of node \(layout.node) does not expect the file \(name)")
            }
            guard offset == received else {
                throw VaultError(.io, "snapshot \(id) file \(name): a chunk at offset \(offset), but \(received) bytes are received; send from \(received)")
            }
            guard received + UInt64(bytes.count) <= spec.size else {
                throw VaultError(.limit, "snapshot \(id) file \(name) would grow past its declared \(spec.size) bytes")
            }
            let path = layout.incomingDir(id) + "/files/" + name
            let fd = try VaultFiles.openFile(path, flags: O_WRONLY)
            defer { _ = close(fd) }
            do throws(VaultError) {
                try VaultFiles.writeAll(fd, bytes, at: offset, path: layout.relative(path))
            } catch {
                // A partial write must not count; cut the file back.
                _ = ftruncate(fd, off_t(received))
                throw error
            }
            upload.received[name] = received + UInt64(bytes.count)
            state.upload = upload
            return received + UInt64(bytes.count)
        }
    }

    /// Finishes an upload: every file (sent or linked) is read back and its
    /// size and SHA-256 checked, the manifest written, everything fsynced,
    /// and the snapshot renamed into place in one step.
    ///
    /// A snapshot whose `coversSeq` is beyond the node's last stored change
    /// advances it to `coversSeq`: the node continues from `coversSeq + 1`.
    ///
    /// A file that fails its check discards the upload (`.corrupt` naming
    /// the file); the node begins again.
    @discardableResult
    public func commitSnapshot(node: String, id: String) throws(VaultError) -> SnapshotManifest {
        try VaultNames.validateSnapshotID(id)
        return try withNode(node, create: true) { (layout, state) throws(VaultError) -> SnapshotManifest in
            guard let upload = state.upload, upload.id == id else {
                if VaultFiles.exists(layout.snapshotDir(id)) {
                    return try NodeDisk.readManifest(layout, id)
                }
                throw VaultError(.notFound, "node \(layout.node) has no upload of snapshot \(id) in progress")
            }
            for (name, received) in upload.received.sorted(by: { $0.key < $1.key }) {
                let size = upload.files.first { $0.name == name }!.size
                guard received == size else {
                    throw VaultError(.io, "snapshot \(id) file \(name) has \(received) of its \(size) bytes")
                }
            }
            let incoming = layout.incomingDir(id)
            do throws(VaultError) {
                var directories = Set<String>()
                for file in upload.files {
                    let path = incoming + "/files/" + file.name
                    let actual = try VaultFiles.hashFile(path)
                    guard actual.size == file.size, actual.sha256 == file.sha256 else {
                        throw VaultError(.corrupt, "snapshot \(id) of node \(layout.node): file \(file.name) does not match its declared size and SHA-256")
                    }
                    if upload.received[file.name] != nil || file.size == 0 { try VaultFiles.syncPath(path) }
                    directories.insert(VaultFiles.parent(of: path))
                }
                let manifest = SnapshotManifest(
                    node: layout.node, id: id, coversSeq: upload.coversSeq, coversCommitTimeMs: upload.coversCommitTimeMs,
                    createdTimeMs: VaultClock.nowMs(), files: upload.files
                )
                try VaultFiles.writeAtomically(incoming + "/manifest.json", VaultJSON.encode(manifest, what: "the snapshot manifest"))
                for dir in directories.sorted(by: >) { try VaultFiles.syncDirectory(dir) }
                try VaultFiles.syncDirectory(incoming)
                try VaultFiles.renameFile(incoming, layout.snapshotDir(id))
                state.upload = nil
                try VaultFiles.syncDirectory(layout.snapshotsDir)
                // A snapshot covering more than the stored changes moves the
                // node on: a node that had to drop its backlog sends a fresh
                // snapshot and continues from coversSeq + 1. Changes between
                // are then restorable only from this snapshot on.
                if manifest.coversSeq > state.lastSeq {
                    logger.notice("vault: a snapshot moves the node past its stored changes", metadata: [
                        "node": "\(layout.node)", "snapshot": "\(id)",
                        "last-stored": "\(state.lastSeq)", "covers": "\(manifest.coversSeq)",
                    ])
                    state.lastSeq = manifest.coversSeq
                    state.lastCommitTimeMs = manifest.coversCommitTimeMs
                    // Loading takes the newest manifest over a lagging head.
                    try? writeHead(layout, state)
                }
                return manifest
            } catch {
                // Not yet renamed into place: the upload is discarded whole.
                if state.upload != nil {
                    state.upload = nil
                    try? VaultFiles.removeTree(incoming)
                }
                throw error
            }
        }
    }

    /// Discards an upload in progress (nothing if there is none).
    public func abortSnapshot(node: String, id: String) throws(VaultError) {
        try withNode(node, create: false) { (layout, state) throws(VaultError) in
            guard let upload = state.upload, upload.id == id else { return }
            state.upload = nil
            try VaultFiles.removeTree(layout.incomingDir(id))
        }
    }

    // MARK: Reading snapshots

    /// The node's committed snapshots, oldest first (by covered sequence).
    public func snapshots(node: String) throws(VaultError) -> [SnapshotManifest] {
        try withNode(node, create: false) { (layout, _) throws(VaultError) -> [SnapshotManifest] in
            try NodeDisk.manifests(layout)
        }
    }

    /// The snapshot covering the most changes, `nil` if there is none.
    public func latestSnapshot(node: String) throws(VaultError) -> SnapshotManifest? {
        try snapshots(node: node).last
    }

    /// The newest snapshot that can be the base of a restore to
    /// `commitTimeMs`: every change it holds was committed at or before that
    /// time (its `coversCommitTimeMs` is not later). `nil` if none can.
    public func snapshot(node: String, before commitTimeMs: UInt64) throws(VaultError) -> SnapshotManifest? {
        try snapshots(node: node).last { $0.coversCommitTimeMs <= commitTimeMs }
    }

    /// Up to `maxBytes` (at most `limits.maxChunkBytes`) of a committed
    /// snapshot's file from `offset`; empty at the end of the file. The
    /// caller checks the file's SHA-256 from the manifest once it has all
    /// of it.
    public func readSnapshotFile(node: String, id: String, name: String, offset: UInt64, maxBytes: Int) throws(VaultError) -> [UInt8] {
        try VaultNames.validateNode(node)
        try VaultNames.validateSnapshotID(id)
        try VaultNames.validateFileName(name)
        let layout = layout(node)
        let manifest = try NodeDisk.readManifest(layout, id)
        guard let spec = manifest.files.first(where: { $0.name == name }) else {
            throw VaultError(.notFound, "snapshot \(id) of node \(node) has no file \(name)")
        }
        let count = Int(min(UInt64(min(maxBytes, limits.maxChunkBytes)), spec.size - min(offset, spec.size)))
        let path = layout.snapshotFilePath(id, name)
        let fd = try VaultFiles.openFile(path, flags: O_RDONLY)
        defer { _ = close(fd) }
        return try VaultFiles.readAt(fd, at: offset, count: max(0, count), path: layout.relative(path))
    }
}
