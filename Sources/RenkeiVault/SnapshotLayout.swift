import Crypto
import Foundation

/// How a node's base snapshot is laid out as vault files: the one place the
/// node side that ships a snapshot (RenkeiBackup) and the restore that
/// unpacks it (RenkeiRestore) take the names from.
///
/// ```
/// db/<file>             every file of a RocksDB checkpoint of the node's
///                       database, flat (opening `db/` gives the database as
///                       of the snapshot's covers_seq, change log included)
/// keys/<code>.keyring   each tenant's keyring, byte for byte: data and index
///                       keys wrapped under the node's master key
/// node.json             the source node's manifest (no secret), shipped for
///                       reference; a restore skips it and writes its own
/// ```
///
/// The master key is never part of a snapshot, nor are the audit logs or the
/// admin socket: the vault cannot open a record, and a restore needs each
/// tenant's recovery kit.
public enum SnapshotLayout {
    /// Prefix of the database checkpoint's files.
    public static let databasePrefix = "db/"
    /// Prefix of the key files.
    public static let keysPrefix = "keys/"
    /// The source node's manifest, shipped for reference; a restore skips it.
    public static let manifestFile = "node.json"
    /// Suffix of a tenant keyring file (as in `NodeDirectory.keyringPath`).
    public static let keyringSuffix = ".keyring"

    /// What a snapshot file is, by its name.
    public enum Entry: Sendable, Equatable {
        /// A checkpoint file, by its name inside `db/` (no subdirectory).
        case database(file: String)
        /// Tenant `code`'s keyring.
        case keyring(code: String)
        /// The source node's manifest.
        case manifest
    }

    /// The snapshot name of checkpoint file `file` (a name, not a path).
    public static func databaseFile(_ file: String) -> String { databasePrefix + file }

    /// The snapshot name of tenant `code`'s keyring file.
    public static func keyringFile(code: String) -> String { keysPrefix + code + keyringSuffix }

    /// The tenant code a snapshot file name is the keyring of, if it is one.
    public static func keyringCode(of name: String) -> String? {
        guard name.hasPrefix(keysPrefix), name.hasSuffix(keyringSuffix),
              name.count > keysPrefix.count + keyringSuffix.count else { return nil }
        let code = name.dropFirst(keysPrefix.count).dropLast(keyringSuffix.count)
        return code.isEmpty || code.contains("/") ? nil : String(code)
    }

    /// What snapshot file `name` is; nil for a name outside the layout
    /// (a restore refuses such a snapshot).
    public static func entry(of name: String) -> Entry? {
        if name == manifestFile { return .manifest }
        if let code = keyringCode(of: name) { return .keyring(code: code) }
        if name.hasPrefix(databasePrefix) {
            let rest = String(name.dropFirst(databasePrefix.count))
            return rest.isEmpty || rest.contains("/") ? nil : .database(file: rest)
        }
        return nil
    }

    /// Whether a restore leaves file `name` out: the source node's
    /// manifest (the restored node gets its own, with the new master key).
    public static func restoreSkips(_ name: String) -> Bool { entry(of: name) == .manifest }

    /// A file of a snapshot to ship: its vault spec and where it is on disk.
    public struct SourceFile: Sendable, Equatable {
        public let spec: SnapshotFileSpec
        public let path: String

        public init(spec: SnapshotFileSpec, path: String) {
            self.spec = spec
            self.path = path
        }
    }

    /// The files of a snapshot made of the checkpoint directory
    /// `checkpointPath` (flat, as `Database.createCheckpoint` writes it),
    /// the keyring files in `keysDirectory` (other files there are left
    /// out) and, if given, the manifest at `manifestPath`; each hashed,
    /// sorted by name. Blocking file I/O: call it off the cooperative pool.
    ///
    /// - Throws: `VaultError` `.io` if a directory or file cannot be read,
    ///   `.invalidName` for a file the vault would not accept by name.
    public static func files(checkpointPath: String, keysDirectory: String,
                             manifestPath: String? = nil) throws(VaultError) -> [SourceFile] {
        var named: [(name: String, path: String)] = []
        for (dir, isKeys) in [(checkpointPath, false), (keysDirectory, true)] {
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: dir)
            } catch {
                throw VaultError(.io, "cannot list \(dir)", cause: VaultCause("\(error)"))
            }
            for name in names.sorted() {
                if isKeys {
                    guard name.hasSuffix(keyringSuffix) else { continue }
                    named.append((keysPrefix + name, dir + "/" + name))
                } else {
                    named.append((databaseFile(name), dir + "/" + name))
                }
            }
        }
        if let manifestPath { named.append((manifestFile, manifestPath)) }
        var out: [SourceFile] = []
        for (name, path) in named {
            do throws(VaultError) {
                try VaultNames.validateFileName(name)
            } catch {
                throw VaultError(.invalidName, "\(path) cannot be stored in a snapshot: \(error.message)")
            }
            let (size, sha) = try hashFile(path)
            out.append(SourceFile(spec: SnapshotFileSpec(name: name, size: size, sha256: sha), path: path))
        }
        return out.sorted { $0.spec.name < $1.spec.name }
    }

    /// Size and lowercase hex SHA-256 of the file at `path`, read in 1 MiB
    /// pieces. Blocking.
    public static func hashFile(_ path: String) throws(VaultError) -> (size: UInt64, sha256: String) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw VaultError(.io, "cannot open \(path)")
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
            throw VaultError(.io, "cannot read \(path)", cause: VaultCause("\(error)"))
        }
        return (size, hex(hasher.finalize()))
    }

    /// Lowercase hex of `bytes` (a digest).
    public static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        VaultFiles.hex(bytes)
    }
}
