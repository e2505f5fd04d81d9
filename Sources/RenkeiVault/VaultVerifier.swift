/// One thing wrong in the vault, named by file (relative to the vault root)
/// and, where it concerns changes, by sequence range.
public struct VaultProblem: Sendable, Equatable, CustomStringConvertible {
    public let node: String
    /// Path relative to the vault root, e.g.
    /// `nodes/n1/segments/00000000000000000001-00000000000000000010.seg.lz4`.
    public let file: String
    /// The changes concerned (damaged or missing), if any.
    public let seqRange: ClosedRange<UInt64>?
    public let message: String

    public init(node: String, file: String, seqRange: ClosedRange<UInt64>? = nil, message: String) {
        self.node = node
        self.file = file
        self.seqRange = seqRange
        self.message = message
    }

    public var description: String {
        let range = seqRange.map { " [changes \($0.lowerBound)–\($0.upperBound)]" } ?? ""
        return "\(file)\(range): \(message)"
    }
}

/// What verifying one node found.
public struct VaultNodeReport: Sendable, Equatable {
    public let node: String
    public internal(set) var segmentsChecked = 0
    public internal(set) var recordsChecked = 0
    public internal(set) var snapshotsChecked = 0
    public internal(set) var snapshotFilesChecked = 0
    /// Bytes read and hashed (segment files and snapshot files).
    public internal(set) var bytesChecked: UInt64 = 0
    /// The node's last stored change (head file or newest segment).
    public internal(set) var lastSeq: UInt64 = 0
    /// The first change a restore needs: one past the oldest kept
    /// snapshot's `coversSeq`, or 1 without a snapshot.
    public internal(set) var neededFromSeq: UInt64 = 1
    public internal(set) var problems: [VaultProblem] = []

    public var isIntact: Bool { problems.isEmpty }
}

/// What verifying the vault (or one node of it) found. Intact only if no
/// check failed; every failure is listed, none is skipped.
public struct VaultVerifyReport: Sendable, Equatable, CustomStringConvertible {
    public let nodes: [VaultNodeReport]
    /// Problems outside any one node (unexpected entries under `nodes/`).
    public let vaultProblems: [VaultProblem]

    public var problems: [VaultProblem] { vaultProblems + nodes.flatMap(\.problems) }
    public var isIntact: Bool { problems.isEmpty }

    public var description: String {
        var lines = nodes.map {
            "node \($0.node): \($0.segmentsChecked) segments, \($0.recordsChecked) changes (last \($0.lastSeq)), \($0.snapshotsChecked) snapshots with \($0.snapshotFilesChecked) files, \($0.bytesChecked) bytes checked: \($0.isIntact ? "intact" : "\($0.problems.count) problems")"
        }
        lines += problems.map { "PROBLEM \($0)" }
        lines.append(isIntact ? "vault intact (\(nodes.count) nodes)" : "vault NOT intact: \(problems.count) problems")
        return lines.joined(separator: "\n")
    }
}

/// Reads and checks everything the vault holds: every segment (size,
/// SHA-256, LZ4 checksums, framing, metadata), the sequence contiguity a
/// restore needs (from the oldest kept snapshot to the last stored change),
/// and every snapshot file's size and SHA-256.
///
/// Read-only and lock-free: it can run beside a running vault, whose
/// work-in-progress files (hidden names) it ignores.
public struct VaultVerifier: Sendable {
    public let root: String
    public let limits: VaultLimits

    public init(root: String, limits: VaultLimits = VaultLimits()) {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        self.limits = limits
    }

    /// Verifies every node.
    /// - Throws: `.notFound` if `root` holds no vault.
    public func verifyAll() throws(VaultError) -> VaultVerifyReport {
        let nodesDir = NodeLayout.nodesDir(root: root)
        guard VaultFiles.isDirectory(nodesDir) else {
            throw VaultError(.notFound, "no vault at \(root) (no nodes directory)")
        }
        var reports: [VaultNodeReport] = []
        var vaultProblems: [VaultProblem] = []
        for name in try VaultFiles.list(nodesDir) {
            guard VaultNames.isSafeComponent(name), VaultFiles.isDirectory(nodesDir + "/" + name) else {
                vaultProblems.append(VaultProblem(node: "", file: "nodes/" + name, message: "an unexpected entry under nodes/"))
                continue
            }
            reports.append(try verify(node: name))
        }
        return VaultVerifyReport(nodes: reports, vaultProblems: vaultProblems)
    }

    /// Verifies one node.
    /// - Throws: `.notFound` if the vault holds nothing for it.
    public func verify(node: String) throws(VaultError) -> VaultNodeReport {
        try VaultNames.validateNode(node)
        let layout = NodeLayout(root: root, node: node)
        guard VaultFiles.isDirectory(layout.dir) else {
            throw VaultError(.notFound, "the vault at \(root) holds nothing for node \(node)")
        }
        var report = VaultNodeReport(node: node)
        func problem(_ path: String, _ range: ClosedRange<UInt64>? = nil, _ message: String) {
            report.problems.append(VaultProblem(node: node, file: layout.relative(path), seqRange: range, message: message))
        }

        // Snapshots first: the oldest one sets where the changes must start.
        var manifests: [SnapshotManifest] = []
        do throws(VaultError) {
            for id in try NodeDisk.snapshotIDs(layout) {
                let manifest: SnapshotManifest
                do throws(VaultError) {
                    manifest = try NodeDisk.readManifest(layout, id)
                } catch {
                    problem(layout.manifestPath(id), nil, error.message)
                    continue
                }
                manifests.append(manifest)
                report.snapshotsChecked += 1
                let declared = Set(manifest.files.map(\.name))
                for file in manifest.files {
                    let path = layout.snapshotFilePath(id, file.name)
                    do throws(VaultError) {
                        let actual = try VaultFiles.hashFile(path)
                        report.snapshotFilesChecked += 1
                        report.bytesChecked += actual.size
                        if actual.size != file.size {
                            problem(path, nil, "snapshot \(id): \(actual.size) bytes, the manifest says \(file.size)")
                        } else if actual.sha256 != file.sha256 {
                            problem(path, nil, "snapshot \(id): fails its SHA-256 check")
                        }
                    } catch {
                        problem(path, nil, "snapshot \(id): \(error.code == .notFound ? "missing" : error.description)")
                    }
                }
                for rel in try VaultFiles.walkFiles(layout.snapshotDir(id) + "/files") where !declared.contains(rel) {
                    problem(layout.snapshotFilePath(id, rel), nil, "snapshot \(id): a file its manifest does not list")
                }
            }
        } catch {
            problem(layout.snapshotsDir, nil, error.description)
        }
        manifests.sort(by: SnapshotManifest.olderFirst)
        report.neededFromSeq = (manifests.first?.coversSeq ?? 0) + 1

        // Segments: each read whole and checked.
        let listing: SegmentListing
        do throws(VaultError) {
            listing = try SegmentListing.scan(layout)
        } catch {
            problem(layout.segmentsDir, nil, error.description)
            return report
        }
        for name in listing.unexpected {
            problem(layout.segmentsDir + "/" + name, nil, "an unexpected file among the segments")
        }
        for segment in listing.segments {
            let path = layout.segmentPath(segment.name)
            let range = segment.first...segment.last
            do throws(VaultError) {
                let info = try NodeDisk.readMeta(layout, segment.name)
                let records = try NodeDisk.readSegment(layout, info, limits: limits)
                report.segmentsChecked += 1
                report.recordsChecked += records.count
                report.bytesChecked += info.byteSize
            } catch {
                problem(path, range, error.message)
            }
        }

        // Contiguity from the first needed change to the last stored one.
        var head: NodeHead?
        do throws(VaultError) {
            head = try NodeDisk.readHead(layout)
        } catch {
            problem(layout.headPath, nil, error.message)
        }
        let segmentsLast = listing.segments.map(\.last).max() ?? 0
        report.lastSeq = max(head?.lastSeq ?? 0, segmentsLast, manifests.last?.coversSeq ?? 0)
        let needed = report.neededFromSeq
        var covered = needed - 1   // every change up to here is accounted for
        var previous: (name: String, first: UInt64, last: UInt64)?
        for segment in listing.segments {
            if let previous, segment.first <= previous.last {
                problem(layout.segmentPath(segment.name), segment.first...segment.last,
                        "overlaps \(previous.name)")
            }
            previous = segment
            guard segment.last > covered else { continue }
            // A snapshot covering up to just before this segment bridges
            // missing changes (a node that dropped its backlog and sent a
            // fresh snapshot): a restore starts from that snapshot.
            covered = max(covered, manifests.map(\.coversSeq).filter { $0 < segment.first }.max() ?? 0)
            if segment.first > covered + 1 {
                problem(layout.segmentPath(segment.name), (covered + 1)...(segment.first - 1),
                        "changes \(covered + 1)–\(segment.first - 1) are missing before this segment")
            }
            covered = segment.last
        }
        covered = max(covered, manifests.last?.coversSeq ?? 0)
        if report.lastSeq > covered {
            problem(layout.headPath, (covered + 1)...report.lastSeq,
                    "the node's last stored change is \(report.lastSeq), but changes \(covered + 1)–\(report.lastSeq) are missing")
        }
        return report
    }
}
