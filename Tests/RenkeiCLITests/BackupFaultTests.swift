#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// Issue 5's faults with real processes: the vault down under writes, the
/// node or the vault killed while shipping, damaged vault files,
/// synchronous mode, and a full vault disk.
extension BackupProcessTests {
    @Suite struct Faults {
        /// After a restore from the vault and `cluster down`, the restored
        /// 322016 equals the live one: counts, every vaccination record
        /// (export), and the residents written by the test.
        static func expectRestoreMatchesLive(_ cluster: BackupCluster, restored: String, restoreOutput: String,
                                             written: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
            let live = cluster.dir + "/nodes/matsue/data"
            let liveCounts = try cluster.tenantCounts(data: live)
            let restoredCounts = try cluster.tenantCounts(data: restored)
            #expect(!liveCounts.isEmpty && liveCounts == restoredCounts,
                    "tenant counts: live \(liveCounts), restored \(restoredCounts)", sourceLocation: sourceLocation)
            let printed = BackupCluster.restoredCounts(restoreOutput).map { Array($0.prefix(2)) }
            #expect(printed == liveCounts, "restore printed \(printed ?? []), the live node holds \(liveCounts)", sourceLocation: sourceLocation)
            let liveExport = try cluster.exportVaccinations(data: live)
            let restoredExport = try cluster.exportVaccinations(data: restored)
            #expect(!liveExport.isEmpty && liveExport == restoredExport,
                    "the vaccination exports differ (\(liveExport.count) vs \(restoredExport.count) characters)", sourceLocation: sourceLocation)
            // The first was written for sure; a later one may be missing from
            // both (a bulk run cut short by a kill): then it is missing from both.
            if let first = written.first {
                let a = try cluster.show(data: live, first)
                #expect(a.exitCode == 0, "\(a.stdout)\(a.stderr)", sourceLocation: sourceLocation)
            }
            for number in written {
                let a = try cluster.show(data: live, number), b = try cluster.show(data: restored, number)
                #expect(a.exitCode == b.exitCode && a.stdout == b.stdout && a.stderr == b.stderr,
                        "resident differs after restore:\n--- live\n\(a.stdout)\(a.stderr)\n--- restored\n\(b.stdout)\(b.stderr)",
                        sourceLocation: sourceLocation)
            }
        }

        /// The vault is killed; writes keep succeeding (async), the node says
        /// the vault is unreachable and what it holds back; the vault comes
        /// back (`cluster restart`), the node catches up, and a restore
        /// matches the live node exactly.
        @Test func vaultDownUnderWritesThenBack() throws {
            let cluster = try BackupCluster()
            defer { cluster.down() }
            try cluster.waitUntilShipped()
            try cluster.kill9("vault")

            let received = try cluster.numbers("322032", Array(0..<6))
            let moved = try cluster.numbers("322016", Array(0..<6))
            for (r, m) in zip(received, moved) {
                try cluster.inquire(r)
                try cluster.markMovedOut(m)
            }
            let (down, seen) = try cluster.poll { s in
                (s["vaultReachable"] as? Bool) == false && BackupCluster.uint(s["lagBytes"]) > 0
                    && BackupCluster.uint(s["lastChangeSeq"]) > BackupCluster.uint(s["lastAckedSeq"])
            }
            #expect(seen, "backup status while the vault is down: \(down)")
            #expect(down["unreachableSinceUnixMillis"] != nil, "\(down)")
            let text = try Renkei.run(["backup", "status", "--node", cluster.matsue])
            #expect(text.stdout.contains("reachable:        no since"), "\(text.stdout)")
            #expect(text.stdout.contains("bytes held back"), "\(text.stdout)")
            print("vault down: \(down)")

            let restarted = try cluster.restart("vault")
            #expect(restarted.stdout.contains("vault: was not running"), "\(restarted.stdout)")
            let caughtUp = try cluster.waitUntilShipped()
            #expect(BackupCluster.uint(caughtUp["lagBytes"]) == 0, "\(caughtUp)")

            let verify = try cluster.verify()
            #expect(verify.exitCode == 0, "backup verify: \(verify.stdout)\(verify.stderr)")
            let restored = cluster.scratch.path + "/restored"
            let restore = try cluster.restore(code: nil, node: "matsue", to: restored)
            try #require(restore.exitCode == 0, "restore: \(restore.stdout)\(restore.stderr)")
            let stop = try Renkei.run(["cluster", "down", "--dir", cluster.dir])
            #expect(stop.exitCode == 0, "\(stop.stdout)")
            try Self.expectRestoreMatchesLive(cluster, restored: restored, restoreOutput: restore.stdout, written: received + moved)
        }

        /// `kill -9` of the node while a bulk inquiry writes through it and
        /// its shipper sends; after `cluster restart` it catches up with no
        /// gap (`backup verify`), and a restore matches it.
        @Test func nodeKilledWhileShipping() throws {
            let cluster = try BackupCluster(izumoResidents: 1_500)
            defer { cluster.down() }
            let base = BackupCluster.uint(try cluster.waitUntilShipped()["lastChangeSeq"])
            let bulk = try cluster.startBulk(Array(0..<1_500), batchSize: 10)
            let (during, writing) = try cluster.poll(seconds: 60) { BackupCluster.uint($0["lastChangeSeq"]) >= base + 20 }
            #expect(writing, "the bulk run wrote nothing: \(during)")
            try cluster.kill9("matsue")
            let interrupted = bulk.wait()
            print("killed matsue at about change \(BackupCluster.uint(during["lastChangeSeq"])) "
                  + "(acknowledged \(BackupCluster.uint(during["lastAckedSeq"]))); the bulk run exited \(interrupted.exitCode)")

            try cluster.restart("matsue")
            let after = try cluster.waitUntilShipped()
            #expect(BackupCluster.uint(after["lastChangeSeq"]) >= BackupCluster.uint(during["lastChangeSeq"]), "\(after)")
            let verify = try cluster.verify()
            #expect(verify.exitCode == 0, "backup verify after the node's crash: \(verify.stdout)\(verify.stderr)")
            #expect(verify.stdout.contains("node matsue: intact"), "\(verify.stdout)")

            let restored = cluster.scratch.path + "/restored"
            let restore = try cluster.restore(code: nil, node: "matsue", to: restored)
            try #require(restore.exitCode == 0, "restore: \(restore.stdout)\(restore.stderr)")
            _ = try Renkei.run(["cluster", "down", "--dir", cluster.dir])
            try Self.expectRestoreMatchesLive(cluster, restored: restored, restoreOutput: restore.stdout,
                                              written: try cluster.numbers("322032", [0, 1, 2, 100, 1_499]))
        }

        /// `kill -9` of the vault while it receives segments during a large
        /// bulk run (and a torn temporary segment left in its directory):
        /// verify passes on what it left, the node keeps writing, and after
        /// `cluster restart` the torn file is gone, the node catches up,
        /// every segment is a complete LZ4 frame and a restore matches.
        @Test func vaultKilledInTheMiddleOfASegment() throws {
            let cluster = try BackupCluster(izumoResidents: 1_500)
            defer { cluster.down() }
            let acked = BackupCluster.uint(try cluster.waitUntilShipped()["lastAckedSeq"])
            let bulk = try cluster.startBulk(Array(0..<1_500), batchSize: 10)
            let (during, shipping) = try cluster.poll(seconds: 60) { BackupCluster.uint($0["lastAckedSeq"]) >= acked + 10 }
            #expect(shipping, "nothing was shipped during the bulk run: \(during)")
            try cluster.kill9("vault")

            // What a crash mid-write leaves: half a segment under a temporary name.
            let segments = cluster.vaultData + "/nodes/matsue/segments"
            let newest = try #require(BackupCluster.files(under: segments).filter { $0.hasSuffix(".seg.lz4") }.last)
            let bytes = try #require(FileManager.default.contents(atPath: segments + "/" + newest))
            let torn = segments + "/.tmp-torn-by-test"
            try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: torn))
            let verifyDown = try cluster.verify()
            #expect(verifyDown.exitCode == 0, "backup verify of the killed vault: \(verifyDown.stdout)\(verifyDown.stderr)")

            let finished = bulk.wait()
            #expect(finished.exitCode == 0, "the bulk run failed while the vault was down: \(finished.output.suffix(2000))")

            try cluster.restart("vault")
            try cluster.waitUntilShipped()
            #expect(!FileManager.default.fileExists(atPath: torn), "the torn temporary segment is still there after the restart")
            let verify = try cluster.verify()
            #expect(verify.exitCode == 0, "backup verify: \(verify.stdout)\(verify.stderr)")
            for segment in BackupCluster.files(under: segments).filter({ $0.hasSuffix(".seg.lz4") }) {
                let test = try runTool("/usr/bin/lz4", ["-t", "-q", segments + "/" + segment])
                #expect(test.exitCode == 0, "lz4 -t \(segment): \(test.stderr)")
            }

            let restored = cluster.scratch.path + "/restored"
            let restore = try cluster.restore(code: nil, node: "matsue", to: restored)
            try #require(restore.exitCode == 0, "restore: \(restore.stdout)\(restore.stderr)")
            _ = try Renkei.run(["cluster", "down", "--dir", cluster.dir])
            try Self.expectRestoreMatchesLive(cluster, restored: restored, restoreOutput: restore.stdout,
                                              written: try cluster.numbers("322032", [0, 1, 700, 1_499]))
        }

        /// A byte flipped in a stored segment, then in a base snapshot file:
        /// `backup verify` and `restore` (through the vault, and offline)
        /// fail naming the file, and the restore leaves no directory behind.
        @Test func flippedByteInASegmentAndInASnapshotFile() throws {
            let cluster = try BackupCluster()
            defer { cluster.down() }
            for number in try cluster.numbers("322032", [0, 1, 2, 3]) { try cluster.inquire(number) }
            let shipped = try cluster.waitUntilShipped()
            let node = cluster.vaultData + "/nodes/matsue"

            // The newest segment: after the snapshot, so a restore reads it.
            let segment = try #require(BackupCluster.files(under: node + "/segments").filter { $0.hasSuffix(".seg.lz4") }.last)
            var undo = try flipByte(node + "/segments/" + segment)
            try expectDetected(cluster, file: segment, what: "segment")
            try undo()
            let clean = try cluster.verify()
            #expect(clean.exitCode == 0, "verify after putting the byte back: \(clean.stdout)\(clean.stderr)")

            // The largest file of the node's last snapshot (the one a restore starts from).
            let snapshotID = try #require(shipped["lastSnapshotID"] as? String, "\(shipped)")
            let snapshots = BackupCluster.files(under: node + "/snapshots").filter { $0.contains("/files/") }
            let largest = try #require(snapshots.filter { $0.hasPrefix(snapshotID + "/") }.max { a, b in
                let size = { (p: String) in (try? FileManager.default.attributesOfItem(atPath: node + "/snapshots/" + p)[.size] as? Int) ?? 0 }
                return size(a) < size(b)
            })
            undo = try flipByte(node + "/snapshots/" + largest)
            try expectDetected(cluster, file: String(largest.split(separator: "/").last!), what: "snapshot file")
            try undo()
            let after = cluster.scratch.path + "/after"
            let restore = try cluster.restore(to: after)
            #expect(restore.exitCode == 0, "restore once the files are whole again: \(restore.stdout)\(restore.stderr)")
        }

        func expectDetected(_ cluster: BackupCluster, file: String, what: String,
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
            let verify = try cluster.verify()
            #expect(verify.exitCode == 1, "verify of a damaged \(what): \(verify.stdout)\(verify.stderr)", sourceLocation: sourceLocation)
            #expect(verify.stderr.contains(file), "verify does not name the damaged \(what) \(file): \(verify.stderr)", sourceLocation: sourceLocation)
            for offline in [false, true] {
                let target = cluster.scratch.path + "/damaged-\(offline ? "offline" : "remote")-\(UUID().uuidString.prefix(8))"
                let restore = try cluster.restore(to: target, offline: offline)
                #expect(restore.exitCode == 1, "restore (\(offline ? "offline" : "through the vault")) of a damaged \(what): exit \(restore.exitCode) \(restore.stdout)\(restore.stderr)",
                        sourceLocation: sourceLocation)
                #expect(restore.stderr.contains(file), "restore (\(offline ? "offline" : "through the vault")) does not name the damaged \(what) \(file): \(restore.stderr)",
                        sourceLocation: sourceLocation)
                #expect(BackupCluster.isAbsentOrEmpty(target), "a failed restore left files in \(target): \(BackupCluster.files(under: target))",
                        sourceLocation: sourceLocation)
            }
        }

        /// Sync mode: a write that returned is in the vault (kill -9 of the
        /// node right after it, restore: it is there). With the vault down a
        /// write fails with a clear timeout, and the node keeps serving.
        @Test func synchronousModeAcknowledgedWriteIsInTheVault() throws {
            let cluster = try BackupCluster(mode: "sync")
            defer { cluster.down() }
            try cluster.waitUntilShipped()
            let numbers = try cluster.numbers("322016", [4, 5])
            try cluster.markMovedOut(numbers[0], on: "2026-11-20")
            try cluster.kill9("matsue")
            let restored = cluster.scratch.path + "/restored"
            let restore = try cluster.restore(to: restored)
            try #require(restore.exitCode == 0, "restore: \(restore.stdout)\(restore.stderr)")
            #expect(try cluster.show(data: restored, numbers[0]).stdout.contains("転出          2026-11-20 to 322032"),
                    "the acknowledged write is not in the vault")

            try cluster.restart("matsue")
            try cluster.waitUntilShipped()
            try cluster.kill9("vault")
            let failed = try cluster.markMovedOut(numbers[1], on: "2026-11-21", expectSuccess: false)
            #expect(failed.exitCode == 1, "a sync write with the vault down: exit \(failed.exitCode) \(failed.stdout)\(failed.stderr)")
            #expect(failed.stderr.contains("the vault has not confirmed it") && failed.stderr.contains("within"),
                    "unclear error: \(failed.stderr)")

            // The node keeps serving: its health check, its backup status,
            // and a peer's transfer inquiry that Matsue answers.
            let status = try Renkei.run(["cluster", "status", "--dir", cluster.dir])
            #expect(status.stdout.split(separator: "\n").contains { $0.hasPrefix("matsue") && $0.contains("SERVING") }, "\(status.stdout)")
            let backup = try cluster.backupStatus()
            #expect((backup["vaultReachable"] as? Bool) == false, "\(backup)")
            // Izumo (also synchronous) asks without its node, so that its own
            // store of the answer does not wait for the vault.
            try cluster.kill9("izumo")
            unlink(cluster.dir + "/nodes/izumo/admin.sock")
            let asked = try Renkei.run(["inquire", "transfer", "--config", cluster.dir + "/nodes/izumo/node.json", "--as", "322032",
                                        "--from", "322016", "--number", numbers[0]])
            #expect(asked.exitCode == 0 && asked.stdout.hasPrefix("MATCH"), "Matsue did not answer: \(asked.stdout)\(asked.stderr)")
        }

        /// The vault's disk is full (a small tmpfs as its data directory, with
        /// a filler file): writes on the node keep succeeding, backup status
        /// shows the vault's disk-full error; once the filler is gone the
        /// node catches up and nothing is lost.
        @Test func vaultDiskFull() throws {
            let cluster = try BackupCluster(izumoResidents: 400)
            // Both nodes' base snapshots in the vault first: Izumo's must not
            // be what fills the disk.
            try cluster.waitUntilShipped()
            try cluster.waitUntilShipped("322032")
            let data = cluster.vaultData
            let probe = cluster.scratch.path + "/mount-probe"
            try FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
            let probeMount = try runTool("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", probe])
            guard probeMount.exitCode == 0 else {
                cluster.down()
                print("vaultDiskFull: SKIPPED: cannot mount a tmpfs (needs root): \(probeMount.stderr)")
                return
            }
            try runTool("/usr/bin/umount", [probe])

            try cluster.kill9("vault")
            let original = data + ".orig"
            try FileManager.default.moveItem(atPath: data, toPath: original)
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: false)
            let mount = try runTool("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=32m", "tmpfs", data])
            try #require(mount.exitCode == 0, "mount: \(mount.stderr)")
            defer {
                cluster.down()
                let result = try? runTool("/usr/bin/umount", [data])
                if result?.exitCode != 0 { _ = try? runTool("/usr/bin/umount", ["-l", data]) }
            }
            let copy = try runTool("/bin/cp", ["-a", original + "/.", data + "/"])
            try #require(copy.exitCode == 0, "cp: \(copy.stderr)")
            // Leave 16 KiB: less than the bulk run's changes.
            var fs = statvfs()
            #expect(statvfs(data, &fs) == 0)
            let free = Int(fs.f_bavail) * Int(fs.f_frsize)
            let filler = data + "/filler"
            try Data(count: max(0, free - 16 * 1024)).write(to: URL(fileURLWithPath: filler))
            try cluster.restart("vault")

            let bulk = try cluster.startBulk(Array(0..<400), batchSize: 50)
            let finished = bulk.wait()
            #expect(finished.exitCode == 0, "writes failed while the vault's disk is full: \(finished.output.suffix(2000))")
            let (full, seen) = try cluster.poll { s in
                ((s["lastError"] as? String) ?? "").contains("disk is full") && BackupCluster.uint(s["lagBytes"]) > 0
            }
            #expect(seen, "backup status does not show the vault's disk-full error: \(full)\(cluster.logs)")
            print("vault disk full: \(full)")
            let text = try Renkei.run(["backup", "status", "--node", cluster.matsue])
            print(text.stdout)

            try FileManager.default.removeItem(atPath: filler)
            try cluster.waitUntilShipped()
            let verify = try cluster.verify()
            #expect(verify.exitCode == 0, "backup verify: \(verify.stdout)\(verify.stderr)")
            let restored = cluster.scratch.path + "/restored"
            let restore = try cluster.restore(code: nil, node: "matsue", to: restored)
            try #require(restore.exitCode == 0, "restore: \(restore.stdout)\(restore.stderr)")
            _ = try Renkei.run(["cluster", "down", "--dir", cluster.dir])
            try Self.expectRestoreMatchesLive(cluster, restored: restored, restoreOutput: restore.stdout,
                                              written: try cluster.numbers("322032", [0, 1, 200, 399]))
        }
    }
}
