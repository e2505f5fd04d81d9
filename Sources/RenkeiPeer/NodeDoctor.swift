import Foundation
import Logging
import RenkeiCore
import RenkeiPKI

/// One result of `renkei doctor`: what was checked, how it stands, and what
/// to do about it. Never personal data: paths, codes, dates and counts.
public struct DoctorFinding: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable, Comparable {
        case ok, warn, fail
        public static func < (a: Status, b: Status) -> Bool { a.rank < b.rank }
        var rank: Int { switch self { case .ok: 0; case .warn: 1; case .fail: 2 } }
    }

    public let check: String
    public let status: Status
    public let detail: String
    /// What to do, for warn and fail.
    public let fix: String?

    public init(_ check: String, _ status: Status, _ detail: String, fix: String? = nil) {
        self.check = check
        self.status = status
        self.detail = detail
        self.fix = fix
    }
}

/// Checks a node's setup from its configuration, without opening its store
/// (so it runs beside a running node): file modes, the certificate and its
/// chain, the signed directory and whether it lists this node's key, disk
/// space, the admin socket and the vault's reachability.
public struct NodeDoctor: Sendable {
    public let config: NodeConfig
    public let now: Date
    /// Warn when a certificate or the directory expires within this many days.
    public var warnDays: Double = 30
    /// Fail below this much free space in the data directory's file system.
    public var diskFreeBytesMin: UInt64 = 1 << 30
    /// Warn when a peer's clock is further off than this: audit times,
    /// inquiry timestamps and backup ages disagree between nodes.
    public var clockSkewWarnSeconds: Double = 2
    /// Fail beyond this: one-time codes (30-second steps) and certificate,
    /// directory and revocation-list validity are judged by the clock.
    public var clockSkewFailSeconds: Double = 30
    /// At most this many peer nodes are asked for their time (3 s each at most).
    public static let clockPeersMax = 16

    public init(config: NodeConfig, now: Date = Date()) {
        // Paths as an operator would type them (`a/b/../c` → `a/c`).
        func clean(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }
        var config = config
        config.dataDirectory = clean(config.dataDirectory)
        config.certificatePath = clean(config.certificatePath)
        config.privateKeyPath = clean(config.privateKeyPath)
        config.caCertificatePath = clean(config.caCertificatePath)
        config.directoryPath = clean(config.directoryPath)
        config.revocationListPath = config.revocationListPath.map(clean)
        config.adminSocketPath = clean(config.adminSocket)
        self.config = config
        self.now = now
    }

    public func run(logger: Logger) async -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        findings.append(privateDirectory("data-directory", config.dataDirectory))
        findings.append(masterKey())
        findings.append(privateFile("private-key", config.privateKeyPath, required: true))
        findings.append(contentsOf: await certificates(logger: logger))
        findings.append(diskSpace())
        findings.append(adminSocket())
        if let vault = config.vault {
            findings.append(reachable("vault", host: vault.host, port: vault.port,
                                      fix: "start the vault or open the network path to \(vault.host):\(vault.port); the node keeps changes until it is back"))
        }
        findings.append(await clockSkew(logger: logger))
        return findings
    }

    // MARK: Clock

    /// Asks each other node in the directory (one per endpoint, at most
    /// `clockPeersMax`) for its clock through Health, over mutual TLS.
    func clockSkew(logger: Logger) async -> DoctorFinding {
        let trust: TrustSource
        let directory: Directory
        do throws(PeerError) {
            trust = try TrustSource(config: config, logger: logger, now: now)
            directory = try trust.directory(now: now)
        } catch {
            return DoctorFinding("clock-skew", .warn, "not measured: \(error.message)",
                                 fix: "fix the certificate and directory findings first")
        }
        let ownKey = FileManager.default.contents(atPath: config.certificatePath)
            .flatMap { try? PeerCertificateInfo(bytes: Array($0), source: config.certificatePath) }?.spkiSHA256
        var routes: [PeerRoute] = []
        var endpoints = Set<String>()
        for code in directory.codes {
            guard let entry = directory.entry(for: code), entry.spkiSHA256 != ownKey,
                  endpoints.insert(entry.endpoint).inserted else { continue }
            routes.append(PeerRoute(target: code, entry: entry))
            if routes.count == Self.clockPeersMax { break }
        }
        var readings: [(node: String, reading: ClockReading)] = []
        var unmeasured: [String] = []
        for route in routes {
            do throws(PeerError) {
                if let reading = try await PeerClock.read(route: route, config: config, trust: trust.peerTrust(now: now)) {
                    readings.append((route.entry.nodeName, reading))
                } else {
                    unmeasured.append("\(route.entry.nodeName) (sends no time)")
                }
            } catch {
                unmeasured.append("\(route.entry.nodeName) (\(error.message))")
            }
        }
        return Self.clockFinding(readings: readings, unmeasured: unmeasured,
                                 warnSeconds: clockSkewWarnSeconds, failSeconds: clockSkewFailSeconds)
    }

    /// The verdict on the clock readings: the largest skew that the round
    /// trip cannot explain decides; peers that could not be asked make a
    /// warning, since the clock was not compared with them.
    static func clockFinding(readings: [(node: String, reading: ClockReading)], unmeasured: [String],
                             warnSeconds: Double, failSeconds: Double) -> DoctorFinding {
        if readings.isEmpty && unmeasured.isEmpty {
            return DoctorFinding("clock-skew", .ok, "no other node in the directory to compare with")
        }
        let unmeasuredText = unmeasured.isEmpty ? "" : "; not measured: \(unmeasured.joined(separator: ", "))"
        guard let worst = readings.max(by: { $0.reading.skewSecondsMin < $1.reading.skewSecondsMin }) else {
            return DoctorFinding("clock-skew", .warn, "no peer's clock could be read\(unmeasuredText)",
                                 fix: "check that the peers are up and reachable, then run renkei doctor again")
        }
        let offset = worst.reading.offsetSeconds
        let direction = offset >= 0 ? "ahead of" : "behind"
        let worstText = "\(worst.node) is \(String(format: "%.3f", abs(offset))) s \(direction) this node (round trip \(String(format: "%.3f", worst.reading.roundTripSeconds)) s)"
        let fix = "synchronise the clocks with NTP on both nodes (timedatectl set-ntp true, or chrony)"
        if worst.reading.skewSecondsMin > failSeconds {
            return DoctorFinding("clock-skew", .fail, worstText + unmeasuredText, fix: fix)
        }
        if worst.reading.skewSecondsMin > warnSeconds {
            return DoctorFinding("clock-skew", .warn, worstText + unmeasuredText, fix: fix)
        }
        let detail = "\(readings.count) peer(s) within \(String(format: "%g", warnSeconds)) s; largest: \(worstText)\(unmeasuredText)"
        return unmeasured.isEmpty
            ? DoctorFinding("clock-skew", .ok, detail)
            : DoctorFinding("clock-skew", .warn, detail, fix: "check that the peers not measured are up and reachable")
    }

    // MARK: Files

    static func mode(_ path: String) -> (exists: Bool, isDirectory: Bool, mode: mode_t) {
        var st = stat()
        guard stat(path, &st) == 0 else { return (false, false, 0) }
        return (true, (st.st_mode & S_IFMT) == S_IFDIR, st.st_mode & 0o7777)
    }

    func privateDirectory(_ check: String, _ path: String) -> DoctorFinding {
        let m = Self.mode(path)
        guard m.exists, m.isDirectory else {
            return DoctorFinding(check, .fail, "\(path) does not exist", fix: "create it with renkei init --data \(path)")
        }
        guard m.mode & 0o077 == 0 else {
            return DoctorFinding(check, .fail, "\(path) is mode \(String(m.mode, radix: 8)): other accounts can reach the node's files",
                                 fix: "chmod 700 \(path)")
        }
        return DoctorFinding(check, .ok, "\(path), mode 700")
    }

    func privateFile(_ check: String, _ path: String, required: Bool) -> DoctorFinding {
        let m = Self.mode(path)
        guard m.exists else {
            return DoctorFinding(check, required ? .fail : .ok, "\(path) does not exist",
                                 fix: required ? "restore \(path) from the node's installation" : nil)
        }
        guard m.mode & 0o077 == 0 else {
            return DoctorFinding(check, .fail, "\(path) is mode \(String(m.mode, radix: 8)): readable by other accounts",
                                 fix: "chmod 600 \(path)")
        }
        return DoctorFinding(check, .ok, "\(path), mode \(String(m.mode, radix: 8))")
    }

    func masterKey() -> DoctorFinding {
        let path = config.dataDirectory + "/master.key"
        if Self.mode(path).exists { return privateFile("master-key", path, required: true) }
        if let hex = ProcessInfo.processInfo.environment["RENKEI_MASTER_KEY"], !hex.isEmpty {
            return DoctorFinding("master-key", .ok, "from RENKEI_MASTER_KEY")
        }
        return DoctorFinding("master-key", .fail, "no \(path) and no RENKEI_MASTER_KEY: the node cannot open its store",
                             fix: "put the master key back (0600) or set RENKEI_MASTER_KEY for the node's service")
    }

    // MARK: PKI

    func expiry(_ check: String, _ what: String, notAfter: Date) -> DoctorFinding {
        let days = notAfter.timeIntervalSince(now) / 86_400
        let when = "\(what) valid until \(notAfter) (\(Int(days.rounded(.down))) days)"
        if days < 0 { return DoctorFinding(check, .fail, "\(what) expired at \(notAfter)", fix: "install a renewed one") }
        if days < warnDays { return DoctorFinding(check, .warn, when, fix: "renew it before it expires") }
        return DoctorFinding(check, .ok, when)
    }

    func certificates(logger: Logger) async -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        let trust: TrustSource
        do throws(PeerError) {
            trust = try TrustSource(config: config, logger: logger, now: now)
        } catch {
            return [DoctorFinding("ca-certificate", .fail, error.message,
                                  fix: "check caCertificatePath and revocationListPath in the configuration")]
        }
        findings.append(expiry("ca-certificate", "the federation CA", notAfter: trust.trust.certificate.notValidAfter))
        guard let data = FileManager.default.contents(atPath: config.certificatePath) else {
            return findings + [DoctorFinding("certificate", .fail, "cannot read \(config.certificatePath)",
                                             fix: "install the node certificate the federation CA issued")]
        }
        let info: PeerCertificateInfo
        do throws(PKIError) {
            let verified = try await trust.verifier(now: now).verify(leaf: Array(CertificateCoding.der(
                try CertificateCoding.certificate(from: Array(data), source: config.certificatePath))), role: .node)
            info = verified.info
            findings.append(expiry("certificate", "\(config.certificatePath) (\(info.name), codes \(info.municipalityCodes.map(\.rawValue).joined(separator: ",")))",
                                   notAfter: info.notAfter))
        } catch {
            return findings + [DoctorFinding("certificate", .fail, error.message,
                                             fix: "have the federation CA issue a new node certificate (renkei ca issue node)")]
        }
        do throws(PeerError) {
            let directory = try trust.directory(now: now)
            // Directories are re-signed often (a day's validity is usual), so
            // warn only in the last quarter of the validity, and at most 7 days ahead.
            let left = directory.expiresAt.timeIntervalSince(now)
            let soon = left < min(7 * 86_400, directory.expiresAt.timeIntervalSince(directory.issuedAt) / 4)
            findings.append(DoctorFinding("directory", soon ? .warn : .ok,
                                          "\(directory.entries.count) codes, signed \(directory.issuedAt), expires \(directory.expiresAt) (in \(String(format: "%.1f", left / 3600)) hours)",
                                          fix: soon ? "install a newly signed directory (renkei directory sign)" : nil))
            let wrong = info.municipalityCodes.filter { directory.entry(for: $0)?.spkiSHA256 != info.spkiSHA256 }
            findings.append(wrong.isEmpty
                ? DoctorFinding("directory-entries", .ok, "the directory lists this node's key for \(info.municipalityCodes.map(\.rawValue).joined(separator: ","))")
                : DoctorFinding("directory-entries", .fail,
                                "the directory does not list this node's key for \(wrong.map(\.rawValue).joined(separator: ",")): peers cannot reach it for them",
                                fix: "have the federation sign a directory with this node's entry (renkei directory sign) and install it"))
        } catch {
            findings.append(DoctorFinding("directory", .fail, error.message, fix: "install a valid signed directory at \(config.directoryPath)"))
        }
        return findings
    }

    // MARK: Disk, socket, network

    func diskSpace() -> DoctorFinding {
        var fs = statvfs()
        guard statvfs(config.dataDirectory, &fs) == 0 else {
            return DoctorFinding("disk-space", .fail, "cannot read the file system of \(config.dataDirectory)")
        }
        let free = UInt64(fs.f_bavail) * UInt64(fs.f_frsize)
        let total = UInt64(fs.f_blocks) * UInt64(fs.f_frsize)
        let percent = total == 0 ? 0 : Double(free) / Double(total) * 100
        let detail = "\(free >> 20) MiB free of \(total >> 20) MiB (\(String(format: "%.1f", percent)) %)"
        if free < diskFreeBytesMin || percent < 5 {
            return DoctorFinding("disk-space", .fail, detail, fix: "free space or grow the volume: RocksDB needs room to compact")
        }
        if percent < 10 { return DoctorFinding("disk-space", .warn, detail, fix: "plan more space") }
        return DoctorFinding("disk-space", .ok, detail)
    }

    func adminSocket() -> DoctorFinding {
        let path = config.adminSocket
        guard FileManager.default.fileExists(atPath: path) else {
            return DoctorFinding("admin-socket", .ok, "no node running (no \(path))")
        }
        let m = Self.mode(path)
        guard m.mode & 0o077 == 0 else {
            return DoctorFinding("admin-socket", .fail, "\(path) is mode \(String(m.mode, radix: 8))",
                                 fix: "restart the node: it makes the socket 0600 when it listens")
        }
        return DoctorFinding("admin-socket", .ok, "a node is serving \(path) (mode 600)")
    }

    /// A TCP connection to `host:port` within 3 seconds.
    func reachable(_ check: String, host: String, port: Int, fix: String) -> DoctorFinding {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            return DoctorFinding(check, .fail, "cannot resolve \(host)", fix: fix)
        }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return DoctorFinding(check, .fail, "cannot make a socket", fix: fix) }
        defer { close(fd) }
        if connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 && errno != EINPROGRESS {
            return DoctorFinding(check, .fail, "\(host):\(port): \(String(cString: strerror(errno)))", fix: fix)
        }
        var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&poller, 1, 3_000) == 1 else {
            return DoctorFinding(check, .fail, "\(host):\(port): no answer within 3 s", fix: fix)
        }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        guard error == 0 else {
            return DoctorFinding(check, .fail, "\(host):\(port): \(String(cString: strerror(error)))", fix: fix)
        }
        return DoctorFinding(check, .ok, "\(host):\(port) accepts connections")
    }
}
