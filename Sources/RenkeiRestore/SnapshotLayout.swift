import Crypto
import Foundation
import RenkeiVault

/// How a node's base snapshot is laid out as vault files, in one place for
/// the node side that ships it and the restore that unpacks it:
///
/// ```
/// db/<file>             a RocksDB checkpoint of the node's database (flat)
/// keys/<code>.keyring   each tenant's keyring, wrapped under the node's master key
/// node.json             the source node's manifest (not restored: the restore writes its own)
/// ```
///
/// The master key is never part of a snapshot: the vault cannot open a
/// record, and a restore needs each tenant's recovery kit.
public enum SnapshotLayout {
    /// Prefix of the database checkpoint's files.
    public static let databasePrefix = "db/"
    /// Prefix of the key files.
    public static let keysPrefix = "keys/"
    /// The source node's manifest, shipped for reference; a restore skips it.
    public static let manifestFile = "node.json"
    /// Suffix of a tenant keyring file (as in `NodeDirectory.keyringPath`).
    public static let keyringSuffix = ".keyring"

    /// The snapshot name of checkpoint file `file` (a name, not a path).
    public static func databaseFile(_ file: String) -> String { databasePrefix + file }

    /// The snapshot name of tenant `code`'s keyring file.
    public static func keyringFile(code: String) -> String { keysPrefix + code + keyringSuffix }

    /// The tenant code a snapshot file name is the keyring of, if it is one.
    public static func keyringCode(of name: String) -> String? {
        guard name.hasPrefix(keysPrefix), name.hasSuffix(keyringSuffix) else { return nil }
        let code = name.dropFirst(keysPrefix.count).dropLast(keyringSuffix.count)
        return code.isEmpty || code.contains("/") ? nil : String(code)
    }

    /// A file of a snapshot to ship: its vault spec and where it is on disk.
    public struct SourceFile: Sendable, Equatable {
        public let spec: SnapshotFileSpec
        public let path: String
    }

    /// The files of a snapshot made of the checkpoint directory
    /// `checkpointPath` (flat, as `Database.createCheckpoint` writes it) and
    /// the keyring files in `keysDirectory`, each hashed; sorted by name.
    ///
    /// - Throws: `RestoreError` `.io` if a directory or file cannot be read,
    ///   `.invalidArgument` for a file the vault would not accept by name.
    public static func files(checkpointPath: String, keysDirectory: String) throws(RestoreError) -> [SourceFile] {
        var out: [SourceFile] = []
        for (dir, prefix, filter) in [(checkpointPath, databasePrefix, { (_: String) in true }),
                                       (keysDirectory, keysPrefix, { (name: String) in name.hasSuffix(keyringSuffix) })] {
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: dir)
            } catch {
                throw RestoreError(.io, "cannot list \(dir)", cause: RestoreCause(error))
            }
            for name in names.sorted() where filter(name) {
                let path = dir + "/" + name
                let snapshotName = prefix + name
                do throws(VaultError) {
                    try VaultNames.validateFileName(snapshotName)
                } catch {
                    throw RestoreError(.invalidArgument, "\(path) cannot be stored in a snapshot: \(error.message)")
                }
                let (size, sha) = try hashFile(path)
                out.append(SourceFile(spec: SnapshotFileSpec(name: snapshotName, size: size, sha256: sha), path: path))
            }
        }
        return out.sorted { $0.spec.name < $1.spec.name }
    }

    static func hashFile(_ path: String) throws(RestoreError) -> (UInt64, String) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw RestoreError(.io, "cannot open \(path)")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: UInt64 = 0
        do {
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(data: chunk)
                size += UInt64(chunk.count)
            }
        } catch {
            throw RestoreError(.io, "cannot read \(path)", cause: RestoreCause(error))
        }
        return (size, hex(hasher.finalize()))
    }

    static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        var out = ""
        out.reserveCapacity(64)
        for b in bytes { out += String(b, radix: 16).count == 1 ? "0" + String(b, radix: 16) : String(b, radix: 16) }
        return out
    }
}
