/// One operation of a logged write.
///
/// Family names are names, not RocksDB ids: ids differ between a node and a
/// database restored from its change log.
public enum ChangeOp: Sendable, Hashable {
    /// `value` was stored under `key` in `family`.
    case put(family: String, key: [UInt8], value: [UInt8])
    /// `key` was removed from `family`.
    case delete(family: String, key: [UInt8])
    /// The column family was created.
    case createFamily(String)
    /// The column family was dropped with all its data.
    case dropFamily(String)

    /// The column family the operation touches.
    public var family: String {
        switch self {
        case .put(let family, _, _), .delete(let family, _): family
        case .createFamily(let family), .dropFamily(let family): family
        }
    }
}

/// One entry of a database's change log: everything one atomic write did.
///
/// The tenant store writes only sealed values and blind-index keys, so an
/// entry of a node database is ciphertext only.
public struct ChangeEntry: Sendable, Hashable {
    /// Position in the change log: 1, 2, 3, … with no gaps, never reused.
    public var seq: UInt64
    /// When the write committed, in milliseconds since 1970 (UTC).
    /// Never decreases along the log, even if the wall clock steps back.
    public var commitTimeMs: UInt64
    /// The operations, in the order they were added to the write.
    public var ops: [ChangeOp]

    /// Creates an entry.
    public init(seq: UInt64, commitTimeMs: UInt64, ops: [ChangeOp]) {
        self.seq = seq
        self.commitTimeMs = commitTimeMs
        self.ops = ops
    }

    // MARK: Limits

    /// The encoding version this code writes (the payload's first byte).
    public static let formatVersion: UInt8 = 1
    /// Most operations one entry may hold (a write batch of more is refused).
    public static let maxOps = 1 << 20
    /// Most distinct column families one entry may name.
    public static let maxFamilies = 4_096
    /// Longest column family name, in UTF-8 bytes.
    public static let maxFamilyNameBytes = 255
    /// Largest encoded entry, in bytes (a write batch that would encode to
    /// more is refused, atomically, before anything is written).
    ///
    /// 4 MiB less 64 KiB: an entry is shipped to the vault as one record of
    /// one ShipRequest, which the vault contract caps at 4 MiB. Raising the
    /// vault's own limit would not help (a larger entry could never be
    /// sent), and an entry the node can write but not ship would stall its
    /// backup for good; so the cap is here, where the writer gets a clear
    /// error and can split its batch. It is also under the vault's default
    /// `VaultLimits.maxPayloadBytes` (8 MiB).
    public static let maxPayloadBytes = (4 << 20) - (64 << 10)
    /// Size of the fixed header: version, then the commit time.
    public static let headerBytes = 9

    // MARK: Encoding

    /// The payload stored in the change log and shipped to the vault.
    ///
    /// Layout (integers big-endian), format version 1:
    /// ```
    /// u8  version = 1
    /// u64 commitTimeMs
    /// u16 familyCount, then per family: u8 nameLength, name (UTF-8)
    /// u32 opCount, then per op: u8 kind, u16 family index, and
    ///     put:    u32 keyLength, key, u32 valueLength, value
    ///     delete: u32 keyLength, key
    ///     createFamily, dropFamily: nothing more
    /// ```
    /// The seq is not in the payload: it is the change log key (and the
    /// vault keeps it next to the payload).
    ///
    /// - Throws: `StoreError` `.invalidArgument` when the entry exceeds a limit
    ///   (`maxOps`, `maxFamilies`, `maxFamilyNameBytes`, `maxPayloadBytes`).
    public func encode() throws(StoreError) -> [UInt8] {
        var encoder = ChangeEncoder()
        for op in ops {
            switch op {
            case .put(let family, let key, let value):
                encoder.add(.put, family: encoder.familyIndex(family), key: key, value: value)
            case .delete(let family, let key):
                encoder.add(.delete, family: encoder.familyIndex(family), key: key, value: [])
            case .createFamily(let family):
                encoder.add(.createFamily, family: encoder.familyIndex(family), key: [], value: [])
            case .dropFamily(let family):
                encoder.add(.dropFamily, family: encoder.familyIndex(family), key: [], value: [])
            }
        }
        var payload = try encoder.finish()
        ChangeEncoder.setCommitTime(commitTimeMs, in: &payload)
        return payload
    }

    /// The commit time in a payload's header, without decoding its operations
    /// (what the shipper needs to file a payload).
    ///
    /// - Throws: `StoreError` `.corrupt` for a short payload or an unknown version.
    public static func commitTimeMs(ofPayload payload: [UInt8], seq: UInt64) throws(StoreError) -> UInt64 {
        var reader = ChangeReader(payload, seq: seq)
        try reader.header()
        return reader.commitTimeMs
    }

    /// Decodes and validates a payload written by `encode()`.
    ///
    /// Every length is checked against the bytes left and against the limits
    /// above before anything is allocated, and trailing bytes are refused.
    ///
    /// - Parameter seq: The entry's sequence number (kept with, not inside, the payload).
    /// - Throws: `StoreError` `.corrupt` naming the entry, the field and the
    ///   operation that failed; never the payload's bytes.
    public static func decode(_ payload: [UInt8], seq: UInt64) throws(StoreError) -> ChangeEntry {
        var reader = ChangeReader(payload, seq: seq)
        try reader.header()
        let familyCount = Int(try reader.u16("family count"))
        guard familyCount <= maxFamilies else {
            throw reader.corrupt("family count \(familyCount) exceeds the limit of \(maxFamilies)")
        }
        var families: [String] = []
        families.reserveCapacity(familyCount)
        for index in 0..<familyCount {
            let length = Int(try reader.u8("length of family name \(index)"))
            let bytes = try reader.bytes(length, "family name \(index)")
            guard let name = String(validating: bytes, as: UTF8.self) else {
                throw reader.corrupt("family name \(index) is not valid UTF-8")
            }
            families.append(name)
        }
        let opCount = Int(try reader.u32("op count"))
        guard opCount <= maxOps else {
            throw reader.corrupt("op count \(opCount) exceeds the limit of \(maxOps)")
        }
        // Each op takes at least 3 bytes: refuse a count the payload cannot
        // hold before reserving memory for it.
        guard opCount <= reader.remaining / 3 else {
            throw reader.corrupt("op count \(opCount) does not fit in the \(reader.remaining) bytes left")
        }
        var ops: [ChangeOp] = []
        ops.reserveCapacity(opCount)
        for index in 0..<opCount {
            let rawKind = try reader.u8("kind of op \(index)")
            guard let kind = ChangeOpKind(rawValue: rawKind) else {
                throw reader.corrupt("op \(index) has unknown kind \(rawKind)")
            }
            let familyIndex = Int(try reader.u16("family of op \(index)"))
            guard familyIndex < families.count else {
                throw reader.corrupt("op \(index) names family \(familyIndex) of \(families.count)")
            }
            let family = families[familyIndex]
            switch kind {
            case .put:
                let key = try reader.lengthPrefixed("key of op \(index)")
                let value = try reader.lengthPrefixed("value of op \(index)")
                ops.append(.put(family: family, key: key, value: value))
            case .delete:
                ops.append(.delete(family: family, key: try reader.lengthPrefixed("key of op \(index)")))
            case .createFamily:
                ops.append(.createFamily(family))
            case .dropFamily:
                ops.append(.dropFamily(family))
            }
        }
        guard reader.remaining == 0 else {
            throw reader.corrupt("\(reader.remaining) bytes follow the last op")
        }
        return ChangeEntry(seq: seq, commitTimeMs: reader.commitTimeMs, ops: ops)
    }
}

/// A change log entry as the shipper moves it: the payload stays opaque
/// (ciphertext plus framing), with the two fields the vault files it by.
public struct ChangeRecord: Sendable, Hashable {
    /// Position in the change log.
    public var seq: UInt64
    /// Commit time in milliseconds since 1970, copied from the payload's header.
    public var commitTimeMs: UInt64
    /// `ChangeEntry.encode()` output, exactly as stored in the change log.
    public var payload: [UInt8]

    /// Creates a record.
    public init(seq: UInt64, commitTimeMs: UInt64, payload: [UInt8]) {
        self.seq = seq
        self.commitTimeMs = commitTimeMs
        self.payload = payload
    }

    /// Decodes the payload, and checks its header agrees with `commitTimeMs`.
    ///
    /// - Throws: `StoreError` `.corrupt` (see `ChangeEntry.decode(_:seq:)`).
    public func decode() throws(StoreError) -> ChangeEntry {
        let entry = try ChangeEntry.decode(payload, seq: seq)
        guard entry.commitTimeMs == commitTimeMs else {
            throw StoreError(.corrupt, "change entry \(seq): commit time in the payload differs from the record's")
        }
        return entry
    }
}

/// The kind byte of an encoded op.
enum ChangeOpKind: UInt8 {
    case put = 1
    case delete = 2
    case createFamily = 3
    case dropFamily = 4
}

/// Builds a payload. Shared by `ChangeEntry.encode()` and `WriteBatch`, which
/// encodes its ops straight from its own storage.
struct ChangeEncoder {
    private(set) var families: [String] = []
    private var familyIndexes: [String: Int] = [:]
    private var ops: [(kind: ChangeOpKind, family: Int, key: [UInt8], value: [UInt8])] = []

    /// The index of `family` in the family table, adding it if new.
    mutating func familyIndex(_ family: String) -> Int {
        if let index = familyIndexes[family] { return index }
        families.append(family)
        familyIndexes[family] = families.count - 1
        return families.count - 1
    }

    mutating func add(_ kind: ChangeOpKind, family: Int, key: [UInt8], value: [UInt8]) {
        ops.append((kind, family, key, value))
    }

    /// The payload with a zero commit time (see `setCommitTime`).
    func finish() throws(StoreError) -> [UInt8] {
        try Self.encode(families: families, count: ops.count) { index in
            let op = ops[index]
            return (op.kind, op.family, op.key, op.value)
        }
    }

    /// Encodes `count` ops read through `op`, checking every limit first.
    static func encode(
        families: [String], count: Int,
        op: (Int) -> (kind: ChangeOpKind, family: Int, key: [UInt8], value: [UInt8])
    ) throws(StoreError) -> [UInt8] {
        guard families.count <= ChangeEntry.maxFamilies else {
            throw StoreError(.invalidArgument, "a logged write may touch at most \(ChangeEntry.maxFamilies) column families, got \(families.count)")
        }
        guard count <= ChangeEntry.maxOps else {
            throw StoreError(.invalidArgument, "a logged write may hold at most \(ChangeEntry.maxOps) operations, got \(count)")
        }
        var size = ChangeEntry.headerBytes + 2 + 4
        for name in families {
            let length = name.utf8.count
            guard length <= ChangeEntry.maxFamilyNameBytes else {
                throw StoreError(.invalidArgument, "a logged column family name may have at most \(ChangeEntry.maxFamilyNameBytes) bytes, got \(length)")
            }
            size += 1 + length
        }
        for index in 0..<count {
            let (kind, _, key, value) = op(index)
            size += 3
            switch kind {
            case .put: size += 8 + key.count + value.count
            case .delete: size += 4 + key.count
            case .createFamily, .dropFamily: break
            }
            // Checked as it grows, so a huge batch cannot overflow the sum.
            guard size <= ChangeEntry.maxPayloadBytes else {
                throw StoreError(.invalidArgument, "a logged write may encode to at most \(ChangeEntry.maxPayloadBytes) bytes (one ShipRequest to the vault): split the batch")
            }
        }

        var out: [UInt8] = []
        out.reserveCapacity(size)
        out.append(ChangeEntry.formatVersion)
        out.append(contentsOf: repeatElement(0, count: 8))
        appendBigEndian(UInt16(families.count), to: &out)
        for name in families {
            out.append(UInt8(name.utf8.count))
            out.append(contentsOf: name.utf8)
        }
        appendBigEndian(UInt32(count), to: &out)
        for index in 0..<count {
            let (kind, family, key, value) = op(index)
            out.append(kind.rawValue)
            appendBigEndian(UInt16(family), to: &out)
            switch kind {
            case .put:
                appendBigEndian(UInt32(key.count), to: &out)
                out.append(contentsOf: key)
                appendBigEndian(UInt32(value.count), to: &out)
                out.append(contentsOf: value)
            case .delete:
                appendBigEndian(UInt32(key.count), to: &out)
                out.append(contentsOf: key)
            case .createFamily, .dropFamily:
                break
            }
        }
        return out
    }

    /// Writes the commit time into an encoded payload's header; the time is
    /// only known once the writer holds the change log lock.
    static func setCommitTime(_ time: UInt64, in payload: inout [UInt8]) {
        for i in 0..<8 {
            payload[1 + i] = UInt8(truncatingIfNeeded: time >> (56 - 8 * UInt64(i)))
        }
    }
}

@inline(__always)
func appendBigEndian<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
    var big = value.bigEndian
    withUnsafeBytes(of: &big) { out.append(contentsOf: $0) }
}

/// Reads a payload front to back, every read bounds-checked.
struct ChangeReader {
    private let bytes: [UInt8]
    private var offset = 0
    let seq: UInt64
    private(set) var commitTimeMs: UInt64 = 0

    init(_ bytes: [UInt8], seq: UInt64) {
        self.bytes = bytes
        self.seq = seq
    }

    var remaining: Int { bytes.count - offset }

    func corrupt(_ what: String) -> StoreError {
        StoreError(.corrupt, "change entry \(seq): \(what)")
    }

    mutating func header() throws(StoreError) {
        let version = try u8("format version")
        guard version == ChangeEntry.formatVersion else {
            throw corrupt("unknown format version \(version) (this code reads \(ChangeEntry.formatVersion))")
        }
        commitTimeMs = try integer(UInt64.self, "commit time")
    }

    mutating func u8(_ field: String) throws(StoreError) -> UInt8 { try integer(UInt8.self, field) }
    mutating func u16(_ field: String) throws(StoreError) -> UInt16 { try integer(UInt16.self, field) }
    mutating func u32(_ field: String) throws(StoreError) -> UInt32 { try integer(UInt32.self, field) }

    mutating func integer<T: FixedWidthInteger>(_: T.Type, _ field: String) throws(StoreError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else {
            throw corrupt("\(field) needs \(size) bytes, \(remaining) left")
        }
        var value: T = 0
        for i in 0..<size {
            value = value << 8 | T(bytes[offset + i])
        }
        offset += size
        return value
    }

    mutating func bytes(_ count: Int, _ field: String) throws(StoreError) -> ArraySlice<UInt8> {
        guard count <= remaining else {
            throw corrupt("\(field) needs \(count) bytes, \(remaining) left")
        }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    /// A u32 length, then that many bytes.
    mutating func lengthPrefixed(_ field: String) throws(StoreError) -> [UInt8] {
        let length = Int(try u32("length of \(field)"))
        return Array(try bytes(length, field))
    }
}
