import Foundation
import Logging
import RenkeiAudit
import RenkeiCore
import RenkeiCrypto
import RenkeiStore
import Synchronization

extension AuditEvent {
    /// A tenant got a new data key version (`renkei key rotate-tenant`).
    /// The detail holds the versions, never key material.
    public static let dataKeyRotated = AuditEvent(rawValue: "data-key-rotated")
    /// Every record of a tenant is sealed with its current data key version:
    /// the background re-encryption after a rotation finished.
    public static let reencryptionFinished = AuditEvent(rawValue: "reencryption-finished")
}

/// A tenant's keyring as its partitions use it: one instance shared by
/// every copy of the tenant's `TenantPartition`, so a rotation reaches a
/// caller that took its partition before it (an import keeps one for the
/// whole file). Replaced only under the tenant's write lock, and every
/// write seals under that lock, so after `replace` no write can still seal
/// with the previous version.
final class TenantKeys: Sendable {
    private let current: Mutex<TenantKeyring>

    init(_ keyring: TenantKeyring) {
        current = Mutex(keyring)
    }

    var keyring: TenantKeyring { current.withLock { $0 } }

    /// Seals with the current data key version, opens every version held.
    var sealer: RecordSealer { RecordSealer(keyring: keyring) }

    func replace(with keyring: TenantKeyring) {
        current.withLock { $0 = keyring }
    }
}

/// A tenant's unfinished re-encryption after a data-key rotation, kept in
/// the node metadata under `rekey/CODE` until every record is sealed with the
/// current version. Written in the same atomic write as each batch of
/// re-sealed records, so after a crash the work resumes where it was.
public struct ReencryptionMarker: Codable, Sendable, Equatable {
    /// The data key version records are re-sealed to (the keyring's current
    /// version when the rotation made it; a later rotation replaces the marker).
    public var targetVersion: UInt32
    /// The column family being walked (`TenantColumnFamily` raw value), in
    /// `ReencryptionPlan.families` order.
    public var family: String
    /// The last key of `family` already visited, hex (blind indexes, no
    /// personal data); nil to start at its beginning.
    public var afterKeyHex: String?
    /// Records re-sealed since the rotation.
    public var resealed: Int
    /// When the rotation began (ISO 8601).
    public var startedAt: String

    public init(targetVersion: UInt32, family: String, afterKeyHex: String? = nil, resealed: Int = 0, startedAt: String) {
        self.targetVersion = targetVersion
        self.family = family
        self.afterKeyHex = afterKeyHex
        self.resealed = resealed
        self.startedAt = startedAt
    }
}

/// The walk a re-encryption makes: which column families hold sealed values
/// (the number index holds record keys, not envelopes), in which order, and
/// where a marker's cursor goes next. Pure; the store does the I/O.
public enum ReencryptionPlan {
    /// Column families whose values are record envelopes, walked in this order.
    public static let families: [TenantColumnFamily] = [.residents, .vaccinations, .received]

    /// The marker of a rotation that just made `version` current: the walk
    /// starts over at the first family (records already at `version` are
    /// skipped as it goes).
    public static func start(version: UInt32, at date: Date) -> ReencryptionMarker {
        ReencryptionMarker(targetVersion: version, family: families[0].rawValue, startedAt: date.ISO8601Format())
    }

    /// The marker after a family was walked to its end: the next family, or
    /// nil when that was the last (the re-encryption is complete).
    public static func afterFamily(_ marker: ReencryptionMarker) -> ReencryptionMarker? {
        guard let index = families.firstIndex(where: { $0.rawValue == marker.family }),
              index + 1 < families.count else { return nil }
        var next = marker
        next.family = families[index + 1].rawValue
        next.afterKeyHex = nil
        return next
    }

    /// Whether a value sealed with `version` must be re-sealed for `target`.
    public static func needsResealing(_ version: UInt32, target: UInt32) -> Bool { version != target }
}

/// What `rotateTenantDataKey` did.
public struct DataKeyRotation: Sendable, Equatable {
    public let code: MunicipalityCode
    public let previousVersion: UInt32
    public let newVersion: UInt32
    /// The keyring's fingerprint after the rotation: a recovery kit shows the
    /// fingerprint of the keyring it holds, so a kit with another one predates it.
    public let keyringFingerprint: String
}

/// What one `reencryptStep` did.
public struct ReencryptionStep: Sendable, Equatable {
    /// Records re-sealed with the current version in this step.
    public var resealed = 0
    /// Records looked at (their envelope headers) in this step.
    public var scanned = 0
    /// True when the tenant has no unfinished re-encryption (any more).
    public var finished = false
    /// The version records are re-sealed to; 0 if nothing was pending.
    public var targetVersion: UInt32 = 0
}

/// A tenant's data keys and how its records are spread over them.
public struct TenantKeyStatus: Sendable, Equatable {
    public let code: MunicipalityCode
    /// The version new records are sealed with.
    public let currentVersion: UInt32
    /// Every data key version the keyring holds, ascending.
    public let versionsHeld: [UInt32]
    /// Sealed records (residents, vaccinations, received files) per data key
    /// version, counted from envelope headers without decrypting anything.
    public let recordsByVersion: [UInt32: Int]
    /// The unfinished re-encryption, if any.
    public let reencryption: ReencryptionMarker?
    /// `TenantKeyring.fingerprint`: a recovery kit for this keyring shows the same.
    public let keyringFingerprint: String

    /// Records not yet sealed with the current version.
    public var recordsRemaining: Int {
        recordsByVersion.filter { $0.key != currentVersion }.values.reduce(0, +)
    }

    /// Every sealed record of the tenant.
    public var recordsTotal: Int { recordsByVersion.values.reduce(0, +) }
}

extension NodeStore {
    /// Most data key versions a keyring may hold: far more than yearly
    /// rotation needs, and well inside what a recovery kit carries.
    public static let dataKeyVersionsMax = 256

    /// Most envelope headers one `reencryptStep` reads per record it may
    /// re-seal: bounds the time it holds the tenant's write lock when most
    /// records are already current (after a resume, or a second rotation).
    public static let reencryptScanFactor = 16

    static let reencryptionPrefix = Array("rekey/".utf8)

    static func reencryptionKey(_ code: MunicipalityCode) -> [UInt8] {
        reencryptionPrefix + Array(code.rawValue.utf8)
    }

    // MARK: Rotation

    /// Starts a new data key version for tenant `code`: new writes are sealed
    /// with it at once, older records stay readable (the keyring keeps every
    /// version) and are re-sealed by `reencryptStep`. Index keys are not
    /// rotated (that would mean rebuilding every blind index).
    ///
    /// Order, for crash safety: the re-encryption marker first (targeting the
    /// new version, cursor at the start), then the keyring file (atomically),
    /// then the live keys. A crash after the marker but before the keyring
    /// leaves a marker whose walk finds nothing to do; a crash after the
    /// keyring leaves the marker that re-seals every older record. Either
    /// way no record is left behind unnoticed.
    ///
    /// - Throws: `.tenantNotFound`; `.invalidArgument` if the keyring already
    ///   holds `dataKeyVersionsMax` versions; `.keys` if the keyring file
    ///   cannot be written (the tenant keeps its current key then);
    ///   `.storage`.
    public func rotateTenantDataKey(_ code: MunicipalityCode, now: Date = Date()) throws(NodeError) -> DataKeyRotation {
        try adminLock.withLock { _ throws(NodeError) -> DataKeyRotation in
            let partition = try tenant(code)
            return try partition.writeLock.mutex.withLock { _ throws(NodeError) -> DataKeyRotation in
                let old = partition.keys.keyring
                guard old.dataKeyVersions.count < Self.dataKeyVersionsMax else {
                    throw NodeError(.invalidArgument,
                        "tenant \(code) already holds \(old.dataKeyVersions.count) data key versions, the most a keyring may hold (\(Self.dataKeyVersionsMax))")
                }
                let new = old.addingDataKeyVersion()
                try writeMarker(ReencryptionPlan.start(version: new.currentDataKeyVersion, at: now), code: code)
                do {
                    try SecureFile.writeAtomically(try new.sealed(with: masterKey), toPath: directory.keyringPath(for: code.rawValue))
                } catch {
                    throw NodeError(.keys, "cannot write the new keyring of tenant \(code); it keeps data key version \(old.currentDataKeyVersion)", cause: error)
                }
                partition.keys.replace(with: new)
                logger.notice("tenant data key rotated", metadata: [
                    "tenant": "\(code)", "from-version": "\(old.currentDataKeyVersion)",
                    "to-version": "\(new.currentDataKeyVersion)", "keyring": "\(new.fingerprint)",
                ])
                return DataKeyRotation(code: code, previousVersion: old.currentDataKeyVersion,
                                       newVersion: new.currentDataKeyVersion, keyringFingerprint: new.fingerprint)
            }
        }
    }

    // MARK: Re-encryption

    /// The tenants with an unfinished re-encryption, by code.
    public func pendingReencryptions() throws(NodeError) -> [MunicipalityCode] {
        var codes: [MunicipalityCode] = []
        try storage {
            try db.scan(prefix: Self.reencryptionPrefix, in: meta) { key, _ in
                if let code = try? MunicipalityCode(String(decoding: key.dropFirst(Self.reencryptionPrefix.count), as: UTF8.self)) {
                    codes.append(code)
                }
                return true
            }
        }
        return codes.filter { hosts($0) }
    }

    /// The unfinished re-encryption of tenant `code`, or nil.
    public func reencryptionMarker(_ code: MunicipalityCode) throws(NodeError) -> ReencryptionMarker? {
        guard let bytes = try storage({ try db.get(Self.reencryptionKey(code), in: meta) }) else { return nil }
        do {
            return try JSONDecoder().decode(ReencryptionMarker.self, from: Data(bytes))
        } catch {
            throw NodeError(.corrupted, "tenant \(code): the re-encryption marker in the node metadata cannot be decoded", cause: error)
        }
    }

    private func writeMarker(_ marker: ReencryptionMarker, code: MunicipalityCode) throws(NodeError) {
        let batch = WriteBatch()
        try putMarker(marker, code: code, into: batch)
        try storage { try db.write(batch, sync: true) }
    }

    private func putMarker(_ marker: ReencryptionMarker, code: MunicipalityCode, into batch: WriteBatch) throws(NodeError) {
        do {
            batch.put(Self.reencryptionKey(code), Array(try JSONEncoder().encode(marker)), in: meta)
        } catch {
            throw NodeError(.invalidArgument, "cannot encode the re-encryption marker of tenant \(code)", cause: error)
        }
    }

    /// Re-seals up to `maxRecords` records of tenant `code` that are not yet
    /// sealed with the current data key version, walking each sealed column
    /// family in key order from the marker's cursor.
    ///
    /// Runs under the tenant's write lock and reads each value inside it, so
    /// a concurrent import or update is never overwritten with older data.
    /// The re-sealed values and the advanced cursor go in ONE atomic write
    /// (an ordinary write: it enters the change log and the vault gets the
    /// new ciphertext), bounded by `TenantPartition.writePartBytesMax`
    /// bytes (ADR 0008). Idempotent: a record already at the current version
    /// is skipped, so a step repeated after a crash does no harm. When the
    /// last family is walked the marker is removed and a
    /// `reencryption-finished` entry is written to the tenant's audit log.
    ///
    /// - Parameter maxRecords: 1 to `TenantPartition.maxBatchRows`.
    /// - Throws: `.invalidArgument` for a bad `maxRecords`; `.tenantNotFound`;
    ///   `.corrupted` if a value is not an envelope or fails to open;
    ///   `.storage`.
    public func reencryptStep(_ code: MunicipalityCode, maxRecords: Int) throws(NodeError) -> ReencryptionStep {
        guard (1...TenantPartition.maxBatchRows).contains(maxRecords) else {
            throw NodeError(.invalidArgument, "maxRecords: must be 1 to \(TenantPartition.maxBatchRows), got \(maxRecords)")
        }
        let partition = try tenant(code)
        let outcome = try partition.writeLock.mutex.withLock { _ throws(NodeError) -> (ReencryptionStep, ReencryptionMarker?) in
            guard var marker = try reencryptionMarker(code) else {
                return (ReencryptionStep(finished: true), nil)
            }
            let sealer = partition.sealer
            let target = partition.keys.keyring.currentDataKeyVersion
            if marker.targetVersion != target {
                // A crash between the marker and the keyring file: the walk
                // re-seals to whatever is current, which is what matters.
                logger.warning("re-encryption marker targets another version than the keyring's current one; re-sealing to the current one",
                               metadata: ["tenant": "\(code)", "marker-version": "\(marker.targetVersion)", "current-version": "\(target)"])
                marker.targetVersion = target
            }
            var step = ReencryptionStep(targetVersion: target)
            let batch = WriteBatch()
            var batchBytes = 0
            let scanLimit = maxRecords * Self.reencryptScanFactor
            var done = false
            walk: while step.resealed < maxRecords, step.scanned < scanLimit {
                guard let kind = TenantColumnFamily(rawValue: marker.family),
                      ReencryptionPlan.families.contains(kind) else {
                    throw NodeError(.corrupted, "tenant \(code): the re-encryption marker names an unknown column family")
                }
                let cf = partition.family(kind)
                var after: [UInt8]?
                if let hex = marker.afterKeyHex {
                    guard let key = hexDecode(Array(hex.utf8)) else {
                        throw NodeError(.corrupted, "tenant \(code): the re-encryption marker's cursor is not hex")
                    }
                    after = key
                }
                let iterator = db.makeIterator(in: cf, prefix: [], from: after ?? [])
                while true {
                    guard let (key, value) = try storage({ try iterator.next() }) else {
                        // This family is done: on to the next, or finished.
                        guard let next = ReencryptionPlan.afterFamily(marker) else {
                            done = true
                            break walk
                        }
                        marker = next
                        continue walk
                    }
                    if let after, key == after { continue }
                    let version: UInt32
                    do {
                        version = try RecordSealer.keyVersion(of: value)
                    } catch {
                        throw NodeError(.corrupted, "tenant \(code): a value in \(kind.rawValue) is not a record envelope", cause: error)
                    }
                    if ReencryptionPlan.needsResealing(version, target: target) {
                        let context = partition.context(cf, key)
                        let plain = try partition.crypto { try sealer.open(value, context: context) }
                        let sealed = try partition.crypto { try sealer.seal(plain, context: context) }
                        // Checked right before writing: the new envelope
                        // opens to the same bytes under the new version.
                        guard try partition.crypto({ try sealer.open(sealed, context: context) }) == plain,
                              (try? RecordSealer.keyVersion(of: sealed)) == target else {
                            throw NodeError(.corrupted, "tenant \(code): a re-sealed value in \(kind.rawValue) does not open to the original")
                        }
                        let logged = 3 + 8 + key.count + sealed.count
                        if batchBytes > 0, batchBytes + logged > TenantPartition.writePartBytesMax {
                            break walk  // the cursor stays before this key
                        }
                        batch.put(key, sealed, in: cf)
                        batchBytes += logged
                        step.resealed += 1
                    }
                    step.scanned += 1
                    marker.afterKeyHex = hexEncode(key)
                    if step.resealed >= maxRecords || step.scanned >= scanLimit { break walk }
                }
            }
            marker.resealed += step.resealed
            if done {
                batch.delete(Self.reencryptionKey(code), in: meta)
            } else {
                try putMarker(marker, code: code, into: batch)
            }
            try storage { try db.write(batch, sync: true) }
            step.finished = done
            return (step, marker)
        }
        var step = outcome.0
        if step.finished, let marker = outcome.1 {
            logger.notice("tenant re-encryption finished", metadata: [
                "tenant": "\(code)", "version": "\(marker.targetVersion)", "records": "\(marker.resealed)",
            ])
            do {
                _ = try auditLog(code).append(AuditRecord(
                    event: .reencryptionFinished, outcome: .ok,
                    detail: "version=\(marker.targetVersion) records=\(marker.resealed)"))
            } catch {
                // The records are re-sealed either way; the node log says why the entry is missing.
                logger.error("cannot write the reencryption-finished audit entry", metadata: ["tenant": "\(code)", "error": "\(error)"])
            }
            step.targetVersion = marker.targetVersion
        }
        return step
    }

    // MARK: Status

    /// Tenant `code`'s data key versions and its records per version (a scan
    /// of envelope headers; nothing is decrypted).
    public func keyStatus(_ code: MunicipalityCode) throws(NodeError) -> TenantKeyStatus {
        let partition = try tenant(code)
        let keyring = partition.keys.keyring
        let marker = try reencryptionMarker(code)
        var counts: [UInt32: Int] = [:]
        for kind in ReencryptionPlan.families {
            var failure: NodeError?
            try storage {
                try db.scan(prefix: [], in: partition.family(kind)) { _, value in
                    do {
                        counts[try RecordSealer.keyVersion(of: value), default: 0] += 1
                        return true
                    } catch {
                        failure = NodeError(.corrupted, "tenant \(code): a value in \(kind.rawValue) is not a record envelope", cause: error)
                        return false
                    }
                }
            }
            if let failure { throw failure }
        }
        return TenantKeyStatus(code: code, currentVersion: keyring.currentDataKeyVersion, versionsHeld: keyring.dataKeyVersions,
                               recordsByVersion: counts, reencryption: marker, keyringFingerprint: keyring.fingerprint)
    }
}

extension TenantPartition {
    /// The column family of `kind`.
    func family(_ kind: TenantColumnFamily) -> ColumnFamily {
        switch kind {
        case .residents: residentsCF
        case .numberIndex: numberIndexCF
        case .vaccinations: vaccinationsCF
        case .received: receivedCF
        }
    }
}
