import RenkeiCSV
import RenkeiCore
import RenkeiTenantStore

/// How an import reads and writes.
public struct ImportOptions: Sendable {
    public var encoding: TextEncoding
    /// Rows per atomic, synced write batch.
    public var batchRows: Int
    /// Bad rows reported in detail; more are counted.
    public var maxReportedErrors: Int
    /// Sync the WAL before acknowledging each batch (the default; off only for benchmarks).
    public var sync: Bool

    public init(encoding: TextEncoding = .utf8, batchRows: Int = 1_000, maxReportedErrors: Int = 50, sync: Bool = true) {
        self.encoding = encoding
        self.batchRows = min(max(1, batchRows), TenantPartition.maxBatchRows)
        self.maxReportedErrors = max(1, maxReportedErrors)
        self.sync = sync
    }
}

/// A bad row: where, which field, which rule. Never the value.
public struct RowError: Sendable, CustomStringConvertible, Equatable {
    public let line: Int
    public let field: String
    public let rule: String
    public let message: String

    public var description: String { "line \(line): \(field): \(message) [\(rule)]" }
}

/// Why an import did not happen.
public struct ImportError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        /// The file is readable but some rows break rules: nothing was stored.
        case rejected
        /// The file cannot be read as CSV at all (encoding, quoting, limits, header).
        case unreadable
        /// The file changed between validation and writing.
        case fileChanged
        /// The store refused or failed.
        case store
    }

    public let code: Code
    public let message: String
    /// The first `maxReportedErrors` bad rows.
    public let rowErrors: [RowError]
    /// How many rows were bad in all.
    public let badRowCount: Int
    public let cause: (any Error & Sendable)?

    public var description: String {
        var text = message
        for error in rowErrors { text += "\n  \(error)" }
        if badRowCount > rowErrors.count { text += "\n  … and \(badRowCount - rowErrors.count) more bad rows" }
        return text
    }
}

/// Where an import is.
public struct ImportProgress: Sendable {
    public enum Phase: String, Sendable { case validating, writing }
    public let phase: Phase
    public let rowsDone: Int
    /// Rows durably stored so far (writing phase).
    public let rowsCommitted: Int
    public let bytesRead: Int
    public let totalBytes: Int?
}

/// What an import did.
public struct ImportReport: Sendable, Equatable {
    public let rows: Int
    public let outcome: WriteOutcome
    public let seconds: Double
}
