import RenkeiCore
import RenkeiStore
import RenkeiTenantStore

/// What belongs to one tenant in a node's database, for a one-tenant
/// (`--code`) restore out of a shared node.
///
/// A node keeps each tenant in column families named `t<code>.<kind>`
/// (`TenantColumnFamily.name(for:)`) and, in the default family, metadata
/// keys ending in `/<code>` (`tenant/<code>`, `count/<code>`). Anything
/// named for another code is left out; anything named for no code
/// (node-wide) is kept.
struct TenantFilter: Sendable {
    static let tenantKeyPrefix = "tenant/"

    let code: MunicipalityCode

    /// The municipality code a column family name belongs to, if any.
    static func owner(ofFamily name: String) -> String? {
        let bytes = Array(name.utf8)
        guard bytes.count > 8, bytes[0] == UInt8(ascii: "t"), bytes[7] == UInt8(ascii: "."),
              bytes[1...6].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
        else { return nil }
        return String(decoding: bytes[1...6], as: UTF8.self)
    }

    /// The municipality code a default-family key belongs to, if any: its
    /// last `/`-separated part when that is six digits.
    static func owner(ofMetaKey key: [UInt8]) -> String? {
        guard let slash = key.lastIndex(of: UInt8(ascii: "/")) else { return nil }
        let tail = key[(slash + 1)...]
        guard tail.count == 6, tail.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return String(decoding: tail, as: UTF8.self)
    }

    func includes(family: String, key: [UInt8]) -> Bool {
        if family == "default" {
            return key.isEmpty || Self.owner(ofMetaKey: key).map { $0 == code.rawValue } ?? true
        }
        return Self.owner(ofFamily: family).map { $0 == code.rawValue } ?? true
    }

    /// Removes every other tenant's families and metadata from `db`.
    func strip(_ db: Database) throws(RestoreError) {
        for name in db.columnFamilyNames where !includes(family: name, key: []) {
            guard let family = db.columnFamily(named: name) else { continue }
            try storage("dropping column family \(name)") { try db.dropColumnFamily(family) }
        }
        let batch = WriteBatch()
        try storage("reading the node metadata") {
            try db.scan(prefix: [], in: db.defaultColumnFamily) { key, _ in
                if !includes(family: "default", key: key) { batch.delete(key, in: db.defaultColumnFamily) }
                return true
            }
        }
        if batch.count > 0 {
            try storage("removing other tenants' metadata") { try db.write(batch, sync: false) }
        }
    }
}
