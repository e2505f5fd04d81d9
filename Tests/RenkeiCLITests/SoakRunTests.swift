import Foundation
import Testing

/// `Cluster/soak.sh` (issue 7, item 7): a short soak of a real cluster with
/// its vault, and the judge of its report on made-up runs (a clean one, one
/// with a loss and a descriptor leak).
@Suite(.serialized) struct SoakRunTests {
    /// The package root: this file is Tests/RenkeiCLITests/SoakRunTests.swift.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static let kinds = ["import-residents", "import-vaccinations", "inquire-transfer", "inquire-bulk", "backup-now", "backup-status"]

    /// Forty seconds of mixed load on Cluster/local.json (small populations),
    /// then the restore comparison: exit 0, verdict pass, every operation
    /// kind succeeded at least once, every municipality equal to its restore.
    @Test(.timeLimit(.minutes(15)))
    func shortSoakLosesNothingAndStaysSteady() throws {
        let scratch = try Scratch()
        let report = scratch.path + "/soak.json"
        let started = Date()
        let run = try runTool("/bin/bash", [Self.root + "/Cluster/soak.sh", "--duration", "40", "--residents", "30",
                                            "--show-sample", "2", "--bulk-rows", "60",
                                            "--renkei", Renkei.executable, "--out", report])
        print("soak.sh --duration 40: exit \(run.exitCode) in \(Int(Date().timeIntervalSince(started))) s\n\(run.stdout)")
        #expect(run.exitCode == 0, "soak.sh: \(run.stdout)\(run.stderr.suffix(4000))")
        let data = try #require(FileManager.default.contents(atPath: report), "no report at \(report): \(run.stderr.suffix(3000))")
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["verdict"] as? String == "pass", "\(json["problems"] ?? "")")
        #expect(json["nothingLost"] as? Bool == true && json["steady"] as? Bool == true)

        let operations = try #require(json["operations"] as? [String: [String: Any]])
        for kind in Self.kinds {
            let ok = (operations[kind]?["ok"] as? Int) ?? 0
            #expect(ok >= 1, "\(kind) never succeeded: \(operations[kind] ?? [:])")
        }

        let tenants = try #require(json["tenants"] as? [String: [String: Any]])
        #expect(Set(tenants.keys) == ["322016", "322032", "322024", "322067"])
        var imported = 0
        for (code, tenant) in tenants {
            let checks = try #require(tenant["checks"] as? [String: Bool], "\(code)")
            #expect(checks.count == 6 && checks.values.allSatisfy { $0 }, "\(code): \(checks)")
            let live = try #require(tenant["live"] as? [String: Any])
            let counts = try #require(live["counts"] as? [String: Int], "\(code)")
            #expect(counts["residents"].map { $0 >= 30 } == true, "\(code): \(counts)")
            #expect((live["vaccinationExportSha256"] as? String)?.count == 64)
            let expected = try #require(tenant["expected"] as? [String: Any], "\(code)")
            let initial = try #require(expected["initial"] as? [String: Int])
            imported += (counts["residents"] ?? 0) - (initial["residents"] ?? 0)
        }
        #expect(imported > 0, "the soak imported no resident")

        let processes = try #require(json["processes"] as? [String: [String: Any]])
        #expect(Set(processes.keys) == ["vault", "matsue", "izumo", "hamada-yasugi"])
        for (name, process) in processes {
            #expect((process["samples"] as? Int ?? 0) >= 8, "\(name): \(process)")
            #expect((process["problems"] as? [String])?.isEmpty == true, "\(name): \(process)")
        }
        // Each ran as one process throughout, and soak.sh stopped them all on its way out.
        for (name, process) in processes {
            let pids = process["pidList"] as? [Int] ?? []
            #expect(pids.count == 1, "\(name): \(pids)")
            for pid in pids {
                let cmdline = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
                #expect(!cmdline.contains("renkei"), "\(name) (pid \(pid)) still runs after soak.sh: \(cmdline)")
            }
        }
    }

    /// The judge alone, on a made-up work directory: the clean run passes;
    /// a restored export that differs and descriptors that climb fail it,
    /// each named.
    @Test func reportNamesALossAndALeak() throws {
        let clean = try Self.fakeRun(restoredSha: String(repeating: "a", count: 64), fdStep: 0)
        let pass = try runTool("/usr/bin/env", ["python3", Self.root + "/Cluster/soak.py", "report", "--work", clean.path,
                                                "--out", clean.path + "/report.json"])
        #expect(pass.exitCode == 0, "\(pass.stdout)\(pass.stderr)")
        #expect(pass.stdout.contains("verdict PASS"), "\(pass.stdout)")

        let broken = try Self.fakeRun(restoredSha: String(repeating: "b", count: 64), fdStep: 3)
        let fail = try runTool("/usr/bin/env", ["python3", Self.root + "/Cluster/soak.py", "report", "--work", broken.path,
                                                "--out", broken.path + "/report.json"])
        #expect(fail.exitCode == 1, "\(fail.stdout)\(fail.stderr)")
        #expect(fail.stdout.contains("322016: check vaccinationExportEqual failed"), "\(fail.stdout)")
        #expect(fail.stdout.contains("node-a: file descriptors rose to"), "\(fail.stdout)")
        let data = try #require(FileManager.default.contents(atPath: broken.path + "/report.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["verdict"] as? String == "fail" && json["nothingLost"] as? Bool == false && json["steady"] as? Bool == false)
    }

    /// What soak.sh leaves in its work directory, for one municipality
    /// (322016) on one node (node-a): 40 samples (fds climbing by `fdStep`
    /// each), one successful operation of each kind, the live capture with
    /// export digest "a…" and the restored one with `restoredSha`.
    static func fakeRun(restoredSha: String, fdStep: Int) throws -> Scratch {
        let scratch = try Scratch()
        func write(_ name: String, _ text: String) throws {
            try text.write(toFile: scratch.path + "/" + name, atomically: true, encoding: .utf8)
        }
        let t0 = 1_800_000_000
        try write("tenants.txt", "322016 node-a\n")
        try write("times.log", "loadStart\t\(t0)\nloadEnd\t\(t0 + 80)\n")
        try write("initial-322016.json", #"{"residents":"100","vaccinations":"300"}"#)
        try write("ops.log", kinds.enumerated().map { i, kind in
            let detail = kind == "import-residents" ? "rows=10 new=10" : kind == "import-vaccinations" ? "rows=20 new=20" : ""
            return "\(t0 + i)\t\(kind)\t322016\tok\t1.000\t0\t\(detail)"
        }.joined(separator: "\n") + "\n")
        try write("samples.log", (0..<40).map { i in
            "\(t0 + 2 * i).000\tnode-a\t4242\t\(120_000 + (i % 3) * 100)\t\(30 + (i % 2) + fdStep * i)"
        }.joined(separator: "\n") + "\n")
        try write("catchup.log", "node-a\t1\t2\t50\t50\t50\n")
        let counts = #"{"residents": 110, "vaccinations": 320, "receivedFiles": 4}"#
        let sample = #"{"numbers": 6, "found": 6, "sha256": "cc"}"#
        try write("capture-live-322016.json", """
            {"mode": "live", "code": "322016", "errors": [], "counts": \(counts),
             "vaccinationExportSha256": "\(String(repeating: "a", count: 64))", "vaccinationExportRows": 320, "residentSample": \(sample)}
            """)
        try write("capture-restored-322016.json", """
            {"mode": "restored", "code": "322016", "errors": [], "tenantList": {"residents": 110, "vaccinations": 320},
             "vaccinationExportSha256": "\(restoredSha)", "vaccinationExportRows": 320, "residentSample": \(sample)}
            """)
        try write("restore-node-a.txt", """
            restored node node-a into /x in 3.5 s
            CODE    NAME    RESIDENTS  VACCINATIONS  RECEIVED FILES  KEYRING
            322016  松江市  110        320           4               0123456789abcdef

            """)
        return scratch
    }
}
