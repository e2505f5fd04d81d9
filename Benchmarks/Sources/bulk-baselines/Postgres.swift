import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import RenkeiCluster
import RenkeiCore
import RenkeiSynth
import Synchronization

/// The peer a municipality would otherwise use: PostgreSQL 15 (Debian's
/// package) started here on loopback with TLS 1.3 and client-certificate
/// authentication, the same residents in one table, the same batches of
/// lookups over the same number of connections.
///
/// Table `residents(municipality text, number text, resident bytea,
/// vaccinations bytea, PRIMARY KEY (municipality, number))`: one row per
/// resident holding exactly the record bytes the node encrypts (the
/// resident's binary record and its vaccination records, each
/// length-prefixed), in plaintext — PostgreSQL has no per-record encryption.
/// Loaded with COPY, then indexed and analyzed. Each batch is one query
/// `… WHERE municipality = $1 AND number = ANY($2)`, and the client decodes
/// every row it gets, as the ceiling does.
struct Postgres: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "PostgreSQL 15 peer over TLS + client certificates: same residents, same batched lookups, same concurrency.")

    @OptionGroup var workload: WorkloadOptions
    @Option(help: "PostgreSQL's bin directory (Debian's postgresql-15).")
    var pgBin: String = "/usr/lib/postgresql/15/bin"
    @Option(help: "Loopback port (0: a free one).")
    var port: Int = 0
    @Option(help: "Throwaway directory for the PostgreSQL cluster and its certificates (default: a fresh one under /tmp); removed at the end.")
    var work: String?
    @Option(help: "shared_buffers.")
    var sharedBuffers: String = "1GB"
    @Option(help: "The OS user that runs PostgreSQL when this runs as root.")
    var pgUser: String = "postgres"

    func run() async throws {
        let logger = Logger(label: "bulk-baselines.postgres")
        let started = Resources.now()
        let load = try Workload.load(path: workload.movers, batchSize: workload.batch)
        let spec = try ClusterState.load(directory: workload.clusterDir).spec
        let port = self.port == 0 ? try await freePort() : self.port
        let dir = work ?? (NSTemporaryDirectory() + "renkei-bench-pg-\(getpid())")
        let server = PGServer(bin: pgBin, root: dir, port: port, user: getuid() == 0 ? pgUser : nil)
        let stopOnSignal = server.stopOnSignals()
        defer {
            server.stop()
            stopOnSignal.forEach { $0.cancel() }
        }
        try server.create(sharedBuffers: sharedBuffers)
        try server.start()
        note("PostgreSQL 15 on 127.0.0.1:\(port) (TLS 1.3, client certificates), data in \(dir)")

        let elg = MultiThreadedEventLoopGroup.singleton
        let config = try server.clientConfiguration()
        // Load the same residents the cluster generated (a pure function of code, count and seed).
        let loadStart = ContinuousClock.now
        var rows = 0
        do {
            let conn = try await PostgresConnection.connect(on: elg.next(), configuration: config, id: 0, logger: logger)
            _ = try await conn.query("CREATE TABLE residents (municipality text NOT NULL, number text NOT NULL, resident bytea NOT NULL, vaccinations bytea NOT NULL)", logger: logger)
            for node in spec.nodes {
                for m in node.municipalities {
                    let code = try MunicipalityCode(m.code)
                    let generator = PopulationGenerator(spec: PopulationSpec(municipality: code, count: m.residents, seed: spec.seed))
                    try await conn.copyFrom(table: "residents", columns: ["municipality", "number", "resident", "vaccinations"], logger: logger) { writer in
                        var buffer = ByteBuffer()
                        buffer.reserveCapacity(1 << 20)
                        for person in generator {
                            Self.appendRow(&buffer, code: m.code, person: person)
                            if buffer.readableBytes > (1 << 20) - 8192 {
                                try await writer.write(buffer)
                                buffer.clear()
                            }
                        }
                        if buffer.readableBytes > 0 { try await writer.write(buffer) }
                    }
                    rows += m.residents
                    note("loaded \(m.code): \(m.residents) residents")
                }
            }
            _ = try await conn.query("ALTER TABLE residents ADD PRIMARY KEY (municipality, number)", logger: logger)
            _ = try await conn.query("VACUUM ANALYZE residents", logger: logger)
            let stored = try await conn.query("SELECT count(*) FROM residents", logger: logger)
            for try await (n) in stored.decode(Int.self) where n != rows {
                throw Failure("PostgreSQL holds \(n) residents, expected \(rows)")
            }
            try await conn.close()
        }
        try server.checkpoint()
        let loadSeconds = (ContinuousClock.now - loadStart) / .seconds(1)
        note("loaded \(rows) residents in \(String(format: "%.1f", loadSeconds)) s; looking up \(load.lookedUp) numbers in \(load.batches.count) batches over \(workload.concurrency) connections")

        // One connection per worker, opened before the clock starts (the
        // bulk requester also keeps its connections open).
        var connections: [PostgresConnection] = []
        for i in 0..<workload.concurrency {
            connections.append(try await PostgresConnection.connect(on: elg.next(), configuration: config, id: i + 1, logger: logger))
        }
        let queue = BatchQueue(load.batches)
        let counters = Counters()
        let serverPIDs0 = server.serverPIDs()
        let serverCPU0 = serverPIDs0.reduce(0.0) { $0 + (Resources.cpuSeconds(pid: $1) ?? 0) }
        let cpu0 = Resources.processCPUSeconds()
        let t0 = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for conn in connections {
                group.addTask {
                    while let i = queue.take() {
                        let batch = queue.batches[i]
                        let start = ContinuousClock.now
                        let code = batch.target.rawValue
                        let numbers = batch.numbers.map(\.digits)
                        do {
                            let result = try await conn.query(
                                "SELECT number, resident, vaccinations FROM residents WHERE municipality = \(code) AND number = ANY(\(numbers))",
                                logger: logger)
                            var returned = Set<String>()
                            for try await (number, resident, vaccinations) in result.decode((String, ByteBuffer, ByteBuffer).self) {
                                let r = try Resident(decoding: Array(resident.readableBytesView))
                                guard r.individualNumber.digits == number else { throw Failure("row under the wrong number") }
                                _ = try Self.decodeVaccinations(vaccinations)
                                returned.insert(number)
                            }
                            // ANY($2) returns a repeated number once; every item gets its answer.
                            let found = numbers.count(where: { returned.contains($0) })
                            counters.matches.wrappingAdd(found, ordering: .relaxed)
                        } catch {
                            queue.fail(String(reflecting: error))
                        }
                        queue.record(millis: millis(since: start))
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = (ContinuousClock.now - t0) / .seconds(1)
        let clientCPU = Resources.processCPUSeconds() - cpu0
        let serverPIDs = Set(serverPIDs0).union(server.serverPIDs())
        let serverCPU = serverPIDs.reduce(0.0) { $0 + (Resources.cpuSeconds(pid: $1) ?? 0) } - serverCPU0
        let backendHWM = server.backendPIDs().reduce(0) { $0 + (Resources.peakRSSBytes(pid: $1) ?? 0) }
        for conn in connections { try? await conn.close() }
        if let error = queue.error { throw Failure("a batch failed: \(error)") }
        let matched = counters.matches.load(ordering: .relaxed)
        let cpu = clientCPU + serverCPU
        var report = RunReport(
            measure: "postgres",
            description: "PostgreSQL 15 on loopback, TLS 1.3 + client certificate, one row per resident (record bytes as bytea, plaintext), primary key (municipality, number), one `number = ANY($2)` query per batch, client decodes every row",
            build: buildKind, items: load.items, lookedUp: load.lookedUp, batches: load.batches.count,
            batchSize: workload.batch, concurrency: workload.concurrency, seconds: seconds,
            itemsPerSecond: Double(load.lookedUp) / seconds, batchLatencyMs: Percentiles(millis: queue.samples),
            cpuSeconds: cpu, cpuSecondsPer1000Items: cpu / Double(load.lookedUp) * 1000,
            peakRSSBytes: (Resources.peakRSSBytes() ?? 0) + backendHWM,
            outcomes: Outcomes(match: matched, noMatch: load.lookedUp - matched, invalid: load.invalid),
            startedAt: started, loadAverage: Resources.loadAverage())
        report.extra = [
            "clientCPUSeconds": clientCPU, "serverCPUSeconds": serverCPU,
            "clientPeakRSSBytes": Double(Resources.peakRSSBytes() ?? 0), "serverBackendsPeakRSSBytesSum": Double(backendHWM),
            "loadSeconds": loadSeconds, "rows": Double(rows),
        ]
        report.notes = [
            "cpuSeconds = this client process + every PostgreSQL server process (postmaster's children) during the lookups",
            "peakRSSBytes = client VmHWM + sum of the backends' VmHWM (shared buffers they touched are counted in each)",
            "load: COPY over TLS, then ADD PRIMARY KEY, VACUUM ANALYZE, CHECKPOINT; not part of the timed lookups",
        ]
        print(String(format: "postgres: %.0f items/s, batch p50 %.2f ms p99 %.2f ms, %.3f CPU s/1000 items (client %.1f s + server %.1f s), %d matches",
                     report.itemsPerSecond, report.batchLatencyMs.p50, report.batchLatencyMs.p99,
                     report.cpuSecondsPer1000Items, clientCPU, serverCPU, matched))
        try writeJSON(report, to: workload.out)
    }

    /// One COPY text-format row: code, number, \\x-hex resident, \\x-hex vaccinations.
    static func appendRow(_ buffer: inout ByteBuffer, code: String, person: GeneratedPerson) {
        buffer.writeString(code)
        buffer.writeInteger(UInt8(ascii: "\t"))
        buffer.writeString(person.resident.individualNumber.digits)
        buffer.writeInteger(UInt8(ascii: "\t"))
        appendHex(&buffer, person.resident.encoded())
        buffer.writeInteger(UInt8(ascii: "\t"))
        var blob: [UInt8] = []
        for v in person.vaccinations {
            let bytes = v.encoded()
            let n = UInt32(bytes.count)
            blob += [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
            blob += bytes
        }
        appendHex(&buffer, blob)
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    static func appendHex(_ buffer: inout ByteBuffer, _ bytes: [UInt8]) {
        buffer.writeBytes([UInt8(ascii: "\\"), UInt8(ascii: "\\"), UInt8(ascii: "x")])
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bytes.count * 2) { out in
            var i = 0
            for b in bytes {
                out[i] = hexDigits[Int(b >> 4)]
                out[i + 1] = hexDigits[Int(b & 0x0F)]
                i += 2
            }
            return i
        }
    }

    static func decodeVaccinations(_ buffer: ByteBuffer) throws -> [VaccinationRecord] {
        var b = buffer
        var out: [VaccinationRecord] = []
        while b.readableBytes >= 4 {
            guard let n = b.readInteger(as: UInt32.self), let bytes = b.readBytes(length: Int(n)) else {
                throw Failure("truncated vaccinations blob")
            }
            out.append(try VaccinationRecord(decoding: bytes))
        }
        return out
    }

    func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port
        try await channel.close().get()
        guard let port else { throw Failure("no free port") }
        return port
    }
}

/// A throwaway PostgreSQL cluster: certificates from a throwaway CA, initdb,
/// TLS-only loopback access by client certificate, start, stop, remove.
final class PGServer: Sendable {
    let bin: String
    let root: String
    let port: Int
    /// Run server commands as this user (when we are root), else as ourselves.
    let user: String?
    private let stopped = Mutex(false)

    var data: String { root + "/data" }
    var tls: String { root + "/tls" }

    init(bin: String, root: String, port: Int, user: String?) {
        self.bin = bin
        self.root = root
        self.port = port
        self.user = user
    }

    func create(sharedBuffers: String) throws {
        guard FileManager.default.isExecutableFile(atPath: bin + "/postgres") else {
            throw Failure("\(bin)/postgres not found: install Debian's PostgreSQL 15 (as root: Ops/deps.sh postgresql-15)")
        }
        if FileManager.default.fileExists(atPath: root) { try FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: tls, withIntermediateDirectories: true)
        try makeCertificates()
        if let user {
            try run(["/bin/chown", "-R", user, root])
            try run(["/bin/chmod", "0755", root])
        }
        try run(asServer([bin + "/initdb", "-D", data, "-U", "postgres", "-E", "UTF8", "--locale=C",
                          "--auth-local=trust", "--auth-host=reject"]))
        let conf = """

        # renkei bulk benchmark (throwaway cluster)
        listen_addresses = '127.0.0.1'
        port = \(port)
        unix_socket_directories = '\(root)'
        ssl = on
        ssl_cert_file = '\(tls)/server.pem'
        ssl_key_file = '\(tls)/server.key'
        ssl_ca_file = '\(tls)/ca.pem'
        ssl_min_protocol_version = 'TLSv1.3'
        shared_buffers = \(sharedBuffers)
        max_connections = 300
        fsync = off
        synchronous_commit = off
        full_page_writes = off
        max_wal_size = '4GB'
        maintenance_work_mem = '512MB'
        log_min_messages = warning

        """
        let hba = """
        # renkei bulk benchmark: the superuser only on the local socket (setup),
        # the benchmark role only over TLS with a client certificate (CN = role).
        local   all      postgres                  trust
        hostssl renkei   renkei    127.0.0.1/32    cert clientcert=verify-full

        """
        let confHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: data + "/postgresql.conf"))
        confHandle.seekToEndOfFile()
        confHandle.write(Data(conf.utf8))
        try confHandle.close()
        try Data(hba.utf8).write(to: URL(fileURLWithPath: data + "/pg_hba.conf"))
        if let user { try run(["/bin/chown", "-R", user, root]) }
    }

    func start() throws {
        // Without -w (pg_ctl's wait did not return under Foundation's
        // Process here); readiness is polled with pg_isready instead.
        try run(["/usr/bin/setsid", "-f"] + asServer([bin + "/pg_ctl", "-D", data, "-l", root + "/postgres.log", "-W", "start"]))
        var ready = false
        for _ in 0..<600 where !ready {
            ready = (try? run([bin + "/pg_isready", "-q", "-h", root, "-p", "\(port)"])) != nil
            if !ready { usleep(100_000) }
        }
        guard ready else { throw Failure("PostgreSQL did not become ready in 60 s; see \(root)/postgres.log") }
        try psql("CREATE ROLE renkei LOGIN")
        try psql("CREATE DATABASE renkei OWNER renkei")
    }

    func checkpoint() throws { try psql("CHECKPOINT;", database: "renkei") }

    /// Stops the server (fast) and removes the directory; idempotent.
    func stop() {
        let first = stopped.withLock { (s: inout Bool) -> Bool in
            let wasRunning = !s
            s = true
            return wasRunning
        }
        guard first else { return }
        if FileManager.default.fileExists(atPath: data + "/postmaster.pid") {
            _ = try? run(asServer([bin + "/pg_ctl", "-D", data, "-m", "fast", "-w", "-t", "30", "stop"]))
        }
        try? FileManager.default.removeItem(atPath: root)
        note("PostgreSQL stopped, \(root) removed")
    }

    /// Stops the server when SIGINT or SIGTERM arrives, then exits.
    func stopOnSignals() -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                stop()
                exit(128 + sig)
            }
            source.resume()
            return source
        }
    }

    func postmasterPID() -> Int32? {
        guard let text = try? String(contentsOfFile: data + "/postmaster.pid", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first.flatMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// The postmaster and all its children.
    func serverPIDs() -> [Int32] {
        guard let pm = postmasterPID() else { return [] }
        return [pm] + Resources.children(of: pm)
    }

    /// Client backends (children whose command line names a connection).
    func backendPIDs() -> [Int32] {
        guard let pm = postmasterPID() else { return [] }
        return Resources.children(of: pm).filter { pid in
            guard let cmd = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8) else { return false }
            return cmd.contains("renkei renkei")
        }
    }

    func clientConfiguration() throws -> PostgresConnection.Configuration {
        var tlsConfig = TLSConfiguration.makeClientConfiguration()
        tlsConfig.minimumTLSVersion = .tlsv13
        tlsConfig.certificateChain = try NIOSSLCertificate.fromPEMFile(tls + "/client.pem").map { .certificate($0) }
        tlsConfig.privateKey = .privateKey(try NIOSSLPrivateKey(file: tls + "/client.key", format: .pem))
        tlsConfig.trustRoots = .file(tls + "/ca.pem")
        // As the renkei requester: chain to the CA, no host name check.
        tlsConfig.certificateVerification = .noHostnameVerification
        return PostgresConnection.Configuration(
            host: "127.0.0.1", port: port, username: "renkei", password: nil, database: "renkei",
            tls: .require(try NIOSSLContext(configuration: tlsConfig)))
    }

    private func makeCertificates() throws {
        let d = tls
        try run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", "\(d)/ca.key", "-out", "\(d)/ca.pem", "-days", "2", "-subj", "/CN=renkei bench PostgreSQL CA",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        for (name, cn, ext) in [("server", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"),
                                ("client", "renkei", "extendedKeyUsage=clientAuth\n")] {
            try run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", "\(d)/\(name).key", "-out", "\(d)/\(name).csr", "-subj", "/CN=\(cn)"])
            try Data(ext.utf8).write(to: URL(fileURLWithPath: "\(d)/\(name).ext"))
            try run(["openssl", "x509", "-req", "-in", "\(d)/\(name).csr", "-CA", "\(d)/ca.pem", "-CAkey", "\(d)/ca.key",
                     "-CAcreateserial", "-out", "\(d)/\(name).pem", "-days", "2", "-extfile", "\(d)/\(name).ext"])
        }
        for key in ["server.key", "client.key", "ca.key"] { chmod("\(d)/\(key)", 0o600) }
    }

    private func psql(_ sql: String, database: String = "postgres") throws {
        try run(asServer([bin + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", root, "-p", "\(port)",
                          "-U", "postgres", "-d", database, "-c", sql]))
    }

    private func asServer(_ args: [String]) -> [String] {
        guard let user else { return args }
        return ["/usr/sbin/runuser", "-u", user, "--"] + args
    }

    /// Runs a command to completion with posix_spawnp + waitpid; output to
    /// a file (Foundation's Process never saw `pg_ctl start` exit here: the
    /// child stayed a zombie, unreaped).
    @discardableResult
    private func run(_ args: [String]) throws -> String {
        let outPath = NSTemporaryDirectory() + "renkei-pg-cmd-\(getpid()).out"
        defer { unlink(outPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, args[0], &actions, nil, argv, environ)
        guard rc == 0 else { throw Failure("cannot start \(args[0]): error \(rc)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let exited = (status & 0x7F) == 0
        let code = (status >> 8) & 0xFF
        guard exited && code == 0 else {
            throw Failure("\(args.joined(separator: " ")) failed (status \(status)): \(out)")
        }
        return out
    }
}
