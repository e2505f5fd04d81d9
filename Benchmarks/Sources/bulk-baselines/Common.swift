import Foundation
import RenkeiCSV
import RenkeiCore
import Synchronization

// MARK: Measurements

/// Per-batch latency percentiles, nearest rank, in milliseconds.
struct Percentiles: Codable, Sendable {
    var p50: Double
    var p95: Double
    var p99: Double
    var max: Double
    var count: Int

    init(millis samples: [Double]) {
        let s = samples.sorted()
        func rank(_ q: Double) -> Double {
            guard !s.isEmpty else { return 0 }
            let i = Int((q * Double(s.count)).rounded(.up)) - 1
            return s[Swift.max(0, Swift.min(s.count - 1, i))]
        }
        p50 = rank(0.50)
        p95 = rank(0.95)
        p99 = rank(0.99)
        max = s.last ?? 0
        count = s.count
    }
}

/// How the answers came out.
struct Outcomes: Codable, Sendable {
    var match = 0
    var noMatch = 0
    /// Rows whose code or number broke its rule: never looked up (the bulk
    /// requester validates locally and never sends them).
    var invalid = 0
}

/// One measured run: the JSON every baseline writes (keys documented in
/// Benchmarks/README.md).
struct RunReport: Codable, Sendable {
    var measure: String
    var description: String
    var build: String
    var items: Int
    var lookedUp: Int
    var batches: Int
    var batchSize: Int
    var concurrency: Int
    var seconds: Double
    var itemsPerSecond: Double
    var batchLatencyMs: Percentiles
    var cpuSeconds: Double
    var cpuSecondsPer1000Items: Double
    var peakRSSBytes: Int
    var outcomes: Outcomes
    var extra: [String: Double] = [:]
    var notes: [String] = []
    var startedAt: String
    var loadAverage: String
}

#if DEBUG
let buildKind = "debug"
#else
let buildKind = "release"
#endif

enum Resources {
    /// User + system CPU seconds of this process so far (all threads).
    static func processCPUSeconds() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6
            + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
    }

    /// VmHWM (peak resident set) of a process, in bytes; `self` by default.
    static func peakRSSBytes(pid: Int32? = nil) -> Int? {
        let path = pid.map { "/proc/\($0)/status" } ?? "/proc/self/status"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }
            return kb.map { $0 * 1024 }
        }
        return nil
    }

    /// utime + stime of a process from /proc/PID/stat, in seconds.
    static func cpuSeconds(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); utime is field 14, stime 15.
        guard fields.count > 12, let u = Double(fields[11]), let s = Double(fields[12]) else { return nil }
        return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Processes whose parent is `parent`.
    static func children(of parent: Int32) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var out: [Int32] = []
        for e in entries {
            guard let pid = Int32(e),
                  let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = text.lastIndex(of: ")") else { continue }
            let fields = text[text.index(after: close)...].split(separator: " ")
            if fields.count > 1, Int32(fields[1]) == parent { out.append(pid) }
        }
        return out
    }

    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
            .split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }

    static func now() -> String { ISO8601DateFormatter().string(from: Date()) }
}

func note(_ text: String) {
    FileHandle.standardError.write(Data("bulk-baselines: \(text)\n".utf8))
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try encoder.encode(value).write(to: URL(fileURLWithPath: path))
    note("wrote \(path)")
}

// MARK: The inquiries

/// One batch of lookups in one target municipality, as the bulk requester
/// groups them: same target, at most `batchSize` numbers.
struct Batch: Sendable {
    let target: MunicipalityCode
    let numbers: [IndividualNumber]
}

/// The movers file (`前住所地市区町村コード,個人番号,氏名カナ,生年月日`) as batches.
struct Workload: Sendable {
    let items: Int
    let invalid: Int
    let batches: [Batch]
    var lookedUp: Int { items - invalid }

    static let codeColumn = "前住所地市区町村コード"
    static let numberColumn = "個人番号"

    /// Reads the movers CSV, drops rows that break a rule (counted as
    /// invalid, as the requester never sends them), groups the rest by target
    /// in input order, cuts each group into batches of `batchSize`, and
    /// interleaves the groups round-robin (the requester runs one stream per
    /// provider at once).
    static func load(path: String, batchSize: Int) throws -> Workload {
        let reader = try CSVReader(path: path, encoding: .utf8)
        guard let header = try reader.next() else { throw Failure("\(path): empty") }
        let codeIndex = header.fields.firstIndex(of: codeColumn) ?? 0
        let numberIndex = header.fields.firstIndex(of: numberColumn) ?? 1
        var groups: [String: [IndividualNumber]] = [:]
        var order: [String] = []
        var items = 0, invalid = 0
        while let record = try reader.next() {
            items += 1
            guard record.fields.count > max(codeIndex, numberIndex),
                  let code = try? MunicipalityCode(record.fields[codeIndex]),
                  let number = try? IndividualNumber(record.fields[numberIndex]) else {
                invalid += 1
                continue
            }
            if groups[code.rawValue] == nil { order.append(code.rawValue) }
            groups[code.rawValue, default: []].append(number)
        }
        var perTarget: [[Batch]] = []
        for key in order {
            let numbers = groups[key]!
            let code = try MunicipalityCode(key)
            perTarget.append(stride(from: 0, to: numbers.count, by: batchSize).map {
                Batch(target: code, numbers: Array(numbers[$0..<min($0 + batchSize, numbers.count)]))
            })
        }
        var batches: [Batch] = []
        var round = 0
        while batches.count < perTarget.reduce(0, { $0 + $1.count }) {
            for group in perTarget where round < group.count { batches.append(group[round]) }
            round += 1
        }
        return Workload(items: items, invalid: invalid, batches: batches)
    }
}

/// Hands batches to workers, records each batch's latency.
final class BatchQueue: Sendable {
    let batches: [Batch]
    private let next = Atomic<Int>(0)
    private let latencies = Mutex<[Double]>([])
    private let firstError = Mutex<String?>(nil)

    init(_ batches: [Batch]) { self.batches = batches }

    /// The next batch index, or nil when all are taken (or a worker failed).
    func take() -> Int? {
        guard firstError.withLock({ $0 == nil }) else { return nil }
        let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
        return i < batches.count ? i : nil
    }

    func record(millis: Double) { latencies.withLock { $0.append(millis) } }
    func fail(_ message: String) { firstError.withLock { if $0 == nil { $0 = message } } }
    var error: String? { firstError.withLock { $0 } }
    var samples: [Double] { latencies.withLock { $0 } }
}

/// Counters shared by worker threads or tasks.
final class Counters: Sendable {
    let matches = Atomic<Int>(0)
    let bytes = Atomic<Int>(0)
}

func millis(since start: ContinuousClock.Instant) -> Double {
    (ContinuousClock.now - start) / .milliseconds(1)
}
