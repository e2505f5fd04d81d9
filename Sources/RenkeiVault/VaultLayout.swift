/// Where a node's data lives under the vault root:
///
/// ```
/// ROOT/vault.lock                       one vault process per root (flock)
/// ROOT/nodes/<node>/head.json           last stored change (survives retention)
/// ROOT/nodes/<node>/segments/<first>-<last>.seg.lz4        one LZ4 frame
/// ROOT/nodes/<node>/segments/<first>-<last>.seg.lz4.meta   its SegmentInfo
/// ROOT/nodes/<node>/snapshots/<id>/manifest.json
/// ROOT/nodes/<node>/snapshots/<id>/files/<name>
/// ```
///
/// Hidden names are the vault's own work in progress and never data:
/// `.tmp-…` files, `.incoming-<id>` snapshot uploads, `.trash-…` snapshots
/// being deleted. A start removes them.
struct NodeLayout: Sendable {
    let root: String
    let node: String

    static func nodesDir(root: String) -> String { root + "/nodes" }

    var dir: String { NodeLayout.nodesDir(root: root) + "/" + node }
    var headPath: String { dir + "/head.json" }
    var segmentsDir: String { dir + "/segments" }
    var snapshotsDir: String { dir + "/snapshots" }

    func segmentPath(_ fileName: String) -> String { segmentsDir + "/" + fileName }
    func metaPath(_ fileName: String) -> String { segmentsDir + "/" + SegmentName.metaName(for: fileName) }

    func snapshotDir(_ id: String) -> String { snapshotsDir + "/" + id }
    func manifestPath(_ id: String) -> String { snapshotDir(id) + "/manifest.json" }
    func snapshotFilePath(_ id: String, _ name: String) -> String { snapshotDir(id) + "/files/" + name }
    func incomingDir(_ id: String) -> String { snapshotsDir + "/.incoming-" + id }

    /// A path relative to the root, for reports.
    func relative(_ path: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }
}

/// The node's last stored change, written after each appended segment so
/// that it outlives the segments retention deletes.
struct NodeHead: Codable, Sendable, Equatable {
    var lastSeq: UInt64
    var lastCommitTimeMs: UInt64
}

/// What a node's segments directory holds, by name only.
struct SegmentListing: Sendable {
    /// Segment files in sequence order, with the ranges their names state.
    var segments: [(name: String, first: UInt64, last: UInt64)] = []
    /// Sidecar names present.
    var metas: Set<String> = []
    /// Temporary files left by a crash.
    var temporaries: [String] = []
    /// Anything else.
    var unexpected: [String] = []

    static func scan(_ layout: NodeLayout) throws(VaultError) -> SegmentListing {
        var listing = SegmentListing()
        for name in try VaultFiles.list(layout.segmentsDir) {
            if name.hasPrefix(VaultFiles.temporaryPrefix) {
                listing.temporaries.append(name)
            } else if let range = SegmentName.parse(name) {
                listing.segments.append((name, range.first, range.last))
            } else if name.hasSuffix(SegmentName.metaSuffix), SegmentName.parse(String(name.dropLast(5))) != nil {
                listing.metas.insert(name)
            } else {
                listing.unexpected.append(name)
            }
        }
        listing.segments.sort { ($0.first, $0.last) < ($1.first, $1.last) }
        return listing
    }

    /// Sidecars whose segment is missing: a crash between the sidecar's
    /// rename and the segment's.
    var orphanMetas: [String] {
        let names = Set(segments.map { SegmentName.metaName(for: $0.name) })
        return metas.filter { !names.contains($0) }.sorted()
    }
}

enum NodeDisk {
    static func readHead(_ layout: NodeLayout) throws(VaultError) -> NodeHead? {
        guard VaultFiles.exists(layout.headPath) else { return nil }
        let bytes = try VaultFiles.readFile(layout.headPath, maxBytes: VaultJSON.maxFileBytes)
        return try VaultJSON.decode(NodeHead.self, bytes, what: layout.relative(layout.headPath))
    }

    static func readMeta(_ layout: NodeLayout, _ fileName: String) throws(VaultError) -> SegmentInfo {
        let path = layout.metaPath(fileName)
        guard VaultFiles.exists(path) else {
            throw VaultError(.corrupt, "\(layout.relative(layout.segmentPath(fileName))) has no metadata file")
        }
        let bytes = try VaultFiles.readFile(path, maxBytes: VaultJSON.maxFileBytes)
        let info = try VaultJSON.decode(SegmentInfo.self, bytes, what: layout.relative(path))
        guard let range = SegmentName.parse(fileName), info.fileName == fileName, info.firstSeq == range.first,
              info.lastSeq == range.last, info.recordCount == Int(range.last - range.first + 1)
        else {
            throw VaultError(.corrupt, "\(layout.relative(path)) does not match its segment's name")
        }
        return info
    }

    /// Reads a segment file, checks its size and SHA-256 against `info`,
    /// decompresses it (LZ4 checksums) and checks every record and the
    /// metadata against the content.
    static func readSegment(_ layout: NodeLayout, _ info: SegmentInfo, limits: VaultLimits) throws(VaultError) -> [VaultRecord] {
        let path = layout.segmentPath(info.fileName)
        let name = layout.relative(path)
        let compressedLimit = limits.maxSegmentBytes + limits.maxSegmentBytes / 255 + (1 << 16)
        let frame = try VaultFiles.readFile(path, maxBytes: compressedLimit)
        guard UInt64(frame.count) == info.byteSize else {
            throw VaultError(.corrupt, "\(name) has \(frame.count) bytes, its metadata says \(info.byteSize)")
        }
        guard VaultFiles.sha256Hex(frame) == info.sha256 else {
            throw VaultError(.corrupt, "\(name) fails its SHA-256 check (changes \(info.firstSeq)–\(info.lastSeq))")
        }
        let records = try SegmentReader.records(frame: frame, name: name, limits: limits)
        guard let first = records.first, let last = records.last, first.seq == info.firstSeq, last.seq == info.lastSeq,
              records.count == info.recordCount, first.commitTimeMs == info.firstCommitTimeMs,
              last.commitTimeMs == info.lastCommitTimeMs,
              records.map(\.commitTimeMs).max() == info.maxCommitTimeMs
        else {
            throw VaultError(.corrupt, "\(name)'s content does not match its metadata (changes \(info.firstSeq)–\(info.lastSeq))")
        }
        return records
    }

    /// Committed snapshot ids (hidden work-in-progress names excluded).
    static func snapshotIDs(_ layout: NodeLayout) throws(VaultError) -> [String] {
        try VaultFiles.list(layout.snapshotsDir).filter { !$0.hasPrefix(".") }
    }

    static func readManifest(_ layout: NodeLayout, _ id: String) throws(VaultError) -> SnapshotManifest {
        let path = layout.manifestPath(id)
        guard VaultFiles.isDirectory(layout.snapshotDir(id)) else {
            throw VaultError(.notFound, "node \(layout.node) has no snapshot \(id)")
        }
        guard VaultFiles.exists(path) else {
            throw VaultError(.corrupt, "snapshot \(layout.relative(layout.snapshotDir(id))) has no manifest.json")
        }
        let bytes = try VaultFiles.readFile(path, maxBytes: VaultJSON.maxFileBytes)
        let manifest = try VaultJSON.decode(SnapshotManifest.self, bytes, what: layout.relative(path))
        guard manifest.id == id, manifest.node == layout.node else {
            throw VaultError(.corrupt, "\(layout.relative(path)) names another snapshot or node")
        }
        return manifest
    }

    /// Committed snapshots, oldest first (by covered sequence, then creation).
    static func manifests(_ layout: NodeLayout) throws(VaultError) -> [SnapshotManifest] {
        var out: [SnapshotManifest] = []
        for id in try snapshotIDs(layout) { out.append(try readManifest(layout, id)) }
        return out.sorted(by: SnapshotManifest.olderFirst)
    }
}
