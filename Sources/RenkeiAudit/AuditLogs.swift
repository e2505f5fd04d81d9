import Foundation
import Logging
import RenkeiCore
import RenkeiCrypto
import Synchronization

/// The audit logs of one node: at most one open `AuditLog` per tenant code,
/// opened on first use, in `<dataDirectory>/audit/<code>.log`.
///
/// Thread-safe. A code needs no hosted tenant: the log of a deleted tenant
/// stays where it was and can still be opened, appended to and verified,
/// because its key is derived from the master key
/// (`MasterKey.auditKey(for:)`), not kept in the tenant's (shredded) keyring.
public final class AuditLogs: Sendable {
    /// The `audit` directory (created 0700 on first use).
    public let directory: String
    private let masterKey: MasterKey
    private let logger: Logger
    private let opened: Mutex<[MunicipalityCode: AuditLog]>

    public init(directory: String, masterKey: MasterKey, logger: Logger) {
        self.directory = directory
        self.masterKey = masterKey
        self.logger = logger
        self.opened = Mutex([:])
    }

    /// The log file of `code` in the audit directory `directory`.
    public static func logPath(directory: String, code: MunicipalityCode) -> String {
        directory + "/" + code.rawValue + ".log"
    }

    /// The head file that goes with `logPath(directory:code:)`.
    public static func headPath(directory: String, code: MunicipalityCode) -> String {
        directory + "/" + code.rawValue + ".head"
    }

    /// The codes that have a log or a head file in `directory`, sorted;
    /// empty if there is no such directory. A head without its log counts, so
    /// a deleted log is still found (and reported) by a verifier.
    public static func codesWithLogs(directory: String) -> [MunicipalityCode] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let codes = names.compactMap { name -> MunicipalityCode? in
            guard name.hasSuffix(".log") || name.hasSuffix(".head") else { return nil }
            return try? MunicipalityCode(String(name.prefix { $0 != "." }))
        }
        return Set(codes).sorted()
    }

    /// The open log of `code`, opening (and creating) it on first use.
    /// A repair made while opening is logged as a warning.
    public func log(for code: MunicipalityCode) throws(AuditError) -> AuditLog {
        try opened.withLock { logs throws(AuditError) -> AuditLog in
            if let log = logs[code] { return log }
            try AuditFile.makeDirectory(directory)
            let log = try AuditLog.open(path: Self.logPath(directory: directory, code: code), code: code,
                                        key: masterKey.auditKey(for: code.rawValue))
            if let recovery = log.recovery {
                logger.warning("audit log repaired after a crash", metadata: [
                    "tenant": "\(code)", "repair": "\(recovery)", "last-entry": "\(log.lastSequence)",
                ])
            }
            logs[code] = log
            return log
        }
    }
}
