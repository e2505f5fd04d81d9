import Foundation

/// The files of a node's data directory.
///
/// ```
/// DATA/
///   node.json          node identity and format version (no secrets)
///   master.key         node master key, 0600 (unless kept elsewhere)
///   keys/CODE.keyring  each tenant's data and index keys, wrapped by the master key
///   db/                RocksDB: per-tenant column families of ciphertext
///   audit/CODE.log     each tenant's hash-chained audit log (and CODE.head), 0700/0600
/// ```
public struct NodeDirectory: Sendable {
    public let root: String

    public init(_ root: String) {
        self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
    }

    public var manifestPath: String { root + "/node.json" }
    public var defaultMasterKeyPath: String { root + "/master.key" }
    public var keysDirectory: String { root + "/keys" }
    public var databasePath: String { root + "/db" }
    /// Outside the database, so the audit tools can read it while the node runs.
    public var auditDirectory: String { root + "/audit" }

    public func keyringPath(for code: String) -> String { keysDirectory + "/\(code).keyring" }

    public var exists: Bool { FileManager.default.fileExists(atPath: manifestPath) }
}

/// `node.json`: identifies the node and the on-disk format.
public struct NodeManifest: Codable, Sendable, Equatable {
    public static let currentFormat = 1

    public var format: Int
    public var nodeID: String
    public var createdAt: String
    /// Fingerprint of the master key the node was created with, so a wrong key
    /// file is named as such instead of failing later as "corrupted".
    public var masterKeyFingerprint: String

    public init(format: Int = NodeManifest.currentFormat, nodeID: String, createdAt: String, masterKeyFingerprint: String) {
        self.format = format
        self.nodeID = nodeID
        self.createdAt = createdAt
        self.masterKeyFingerprint = masterKeyFingerprint
    }
}
