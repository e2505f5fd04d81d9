#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// Issue 5 with real processes: `renkei cluster up` with a vault, writes
/// through the running node, `kill -9`, `renkei restore` from the vault.
/// Every backup suite runs one cluster at a time (they share this parent).
@Suite(.serialized) enum BackupProcessTests {}

extension BackupProcessTests {
    @Suite struct Scenario {
        /// The acceptance scenario of issue 5, as the README gives it.
        @Test func acceptanceScenarioKillTheNodeAndRestoreTheSentinel() throws {
            let cluster = try BackupCluster()
            defer { cluster.down() }
            let d = cluster.dir

            // Write into 322016 through its running node: a 転出 mark (the
            // sentinel) and a file received from Izumo.
            let sentinel = try cluster.numbers("322016", [7])[0]
            let received = try cluster.numbers("322032", [3])[0]
            try cluster.markMovedOut(sentinel, on: "2026-11-27")
            try cluster.inquire(received)
            let shipped = try cluster.waitUntilShipped()
            print("shipped: \(shipped)")

            // kill -9 the 322016 node.
            try cluster.kill9("matsue")

            // DR: restore 322016 from the vault with its recovery kit.
            let restored = d + "/restored"
            let restore = try cluster.restore(code: "322016", to: restored)
            try #require(restore.exitCode == 0, "restore: \(restore.stdout)\(restore.stderr)\(cluster.logs)")
            print(restore.stdout)
            #expect(restore.stdout.contains("restored municipality 322016 of node matsue"), "\(restore.stdout)")
            // The restored node's operation log starts with the restore (the logs are not in the vault).
            let oplog = try Renkei.run(["audit", "show", "--data", restored, "--code", "322016"])
            #expect(oplog.exitCode == 0 && oplog.stdout.contains("restore-performed") && oplog.stdout.contains("node=matsue"),
                    "\(oplog.stdout)\(oplog.stderr)")

            // The sentinel is there.
            let show = try cluster.show(data: restored, sentinel)
            #expect(show.exitCode == 0, "\(show.stdout)\(show.stderr)")
            #expect(show.stdout.contains("転出          2026-11-27 to 322032"), "\(show.stdout)")
            let file = try cluster.show(data: restored, received)
            #expect(file.exitCode == 0, "\(file.stdout)\(file.stderr)")
            #expect(file.stdout.contains("received files  1") && file.stdout.contains("322032"), "\(file.stdout)")

            // And nothing less than the dead node held: the counts restore
            // printed are those of the killed node's own data directory.
            let printed = try #require(BackupCluster.restoredCounts(restore.stdout), "\(restore.stdout)")
            let live = try cluster.tenantCounts(data: d + "/nodes/matsue/data")
            #expect(Array(printed.prefix(2)) == live, "restore printed \(printed), the killed node holds \(live)")
            #expect(printed.count == 3 && printed[2] == "1", "received files: \(printed)")

            let down = try Renkei.run(["cluster", "down", "--dir", d])
            #expect(down.exitCode == 0, "\(down.stdout)\(down.stderr)")
        }

        /// `grep -r` of the vault's whole site, LZ4 segments decompressed
        /// with the stock `lz4` tool, for every generated name, kana name,
        /// address and Individual Number of the cluster finds nothing.
        @Test func noPlaintextInTheVault() throws {
            let cluster = try BackupCluster()
            defer { cluster.down() }
            // Changes with personal data in them: files received, 転出 marks.
            for number in try cluster.numbers("322032", [0, 1, 2]) { try cluster.inquire(number) }
            for number in try cluster.numbers("322016", [0, 1]) { try cluster.markMovedOut(number) }
            try cluster.waitUntilShipped()
            let stopped = try Renkei.run(["cluster", "down", "--dir", cluster.dir])
            #expect(stopped.exitCode == 0, "\(stopped.stdout)\(stopped.stderr)")

            var needles: [String] = []
            for code in ["322016", "322032"] {
                for person in try cluster.population(code) {
                    let r = person.resident
                    needles += [r.individualNumber.digits, r.name, r.nameKana, r.address]
                }
            }
            needles = Array(Set(needles.filter { $0.utf8.count >= 6 })).sorted()
            #expect(needles.count >= 3 * (cluster.matsueResidents + cluster.izumoResidents), "\(needles.count) needles")
            let needlesPath = cluster.scratch.path + "/needles.txt"
            try needles.joined(separator: "\n").appending("\n").write(toFile: needlesPath, atomically: true, encoding: .utf8)

            // Decompress every segment with the stock lz4 tool (outside the vault).
            let site = cluster.dir + "/vault-site"
            let decompressed = cluster.scratch.path + "/decompressed"
            try FileManager.default.createDirectory(atPath: decompressed, withIntermediateDirectories: true)
            let segments = BackupCluster.files(under: site).filter { $0.hasSuffix(".seg.lz4") }
            #expect(!segments.isEmpty, "no segment in \(site)")
            let lz4 = "/usr/bin/lz4"
            if FileManager.default.isExecutableFile(atPath: lz4) {
                for (i, segment) in segments.enumerated() {
                    let out = "\(decompressed)/\(i).seg"
                    let result = try runTool(lz4, ["-d", "-q", "-f", site + "/" + segment, out])
                    #expect(result.exitCode == 0, "lz4 -d \(segment): \(result.stderr)")
                    let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
                    #expect(size > 0, "lz4 -d \(segment) gave nothing")
                }
            } else {
                print("noPlaintextInTheVault: \(lz4) is not installed; segments were searched compressed only")
            }

            // The search works: it finds the needles where they are.
            let control = try runTool("/usr/bin/grep", ["-a", "-F", "-c", "-f", needlesPath, needlesPath])
            #expect(control.exitCode == 0 && (Int(control.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) == needles.count,
                    "control search: \(control.stdout)\(control.stderr)")
            // And finds nothing in the vault's site (data, config, logs) or its DR view.
            for root in [site, cluster.dir + "/vault", decompressed] {
                let hits = try runTool("/usr/bin/grep", ["-r", "-a", "-F", "-l", "-f", needlesPath, root])
                #expect(hits.exitCode == 1 && hits.stdout.isEmpty,
                        "plaintext personal data in \(root): \(hits.stdout)\(hits.stderr)")
            }
            let searched = BackupCluster.files(under: site).count + segments.count
            print("searched \(searched) files (\(segments.count) segments also decompressed) for \(needles.count) values: no hit")
        }

        /// Write A, note T, write B: `restore --at T` has A and not B; the
        /// latest restore has both.
        @Test func pointInTimeRestoreBetweenTwoWrites() throws {
            let cluster = try BackupCluster()
            defer { cluster.down() }
            let numbers = try cluster.numbers("322016", [1, 2])
            let (a, b) = (numbers[0], numbers[1])
            try cluster.markMovedOut(a, on: "2026-11-02")
            try cluster.waitUntilShipped()
            // A second either side of T: commit times are wall-clock milliseconds.
            usleep(1_200_000)
            let t = UInt64(Date().timeIntervalSince1970 * 1000)
            usleep(1_200_000)
            try cluster.markMovedOut(b, on: "2026-11-03")
            try cluster.waitUntilShipped()

            let atT = cluster.scratch.path + "/at-t"
            let restore = try cluster.restore(to: atT, at: String(t))
            try #require(restore.exitCode == 0, "restore --at \(t): \(restore.stdout)\(restore.stderr)")
            #expect(restore.stdout.contains("point in time:"), "\(restore.stdout)")
            let showA = try cluster.show(data: atT, a)
            #expect(showA.stdout.contains("転出          2026-11-02 to 322032"), "A missing at T: \(showA.stdout)")
            let showB = try cluster.show(data: atT, b)
            #expect(showB.exitCode == 0, "\(showB.stderr)")
            // (B's generated record may carry an older 転出; T must not have B's.)
            #expect(showB.stdout.contains("個人番号") && !showB.stdout.contains("2026-11-03"), "B is already there at T: \(showB.stdout)")

            // The latest state has both.
            let latest = cluster.scratch.path + "/latest"
            let all = try cluster.restore(to: latest)
            try #require(all.exitCode == 0, "restore: \(all.stdout)\(all.stderr)")
            #expect(try cluster.show(data: latest, a).stdout.contains("転出          2026-11-02 to 322032"))
            #expect(try cluster.show(data: latest, b).stdout.contains("転出          2026-11-03 to 322032"))
        }
    }
}
