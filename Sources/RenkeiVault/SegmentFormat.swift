/// The decompressed content of a segment file:
///
/// ```
/// header  "RKVSEG" (6 bytes)  format version (u16 BE, 1)
/// record  seq (u64 BE)  commitTimeMs (u64 BE)  length (u32 BE)  payload
/// record  …
/// ```
///
/// The file itself is one LZ4 frame of that content, with block and content
/// checksums, so `lz4 -d` decompresses it.
public enum SegmentFormat {
    public static let magic: [UInt8] = Array("RKVSEG".utf8)
    public static let version: UInt16 = 1
    public static let headerBytes = 8
    /// seq + commit time + length.
    public static let recordHeaderBytes = 20
}

/// Builds one segment from consecutive records.
///
/// Asserts what it writes: the first record may have any sequence number,
/// each next one must be exactly one more; payloads and the total stay
/// within `limits`.
public struct SegmentWriter: Sendable {
    public let limits: VaultLimits
    public private(set) var content: [UInt8]
    public private(set) var recordCount = 0
    public private(set) var firstSeq: UInt64 = 0
    public private(set) var lastSeq: UInt64 = 0
    public private(set) var firstCommitTimeMs: UInt64 = 0
    public private(set) var lastCommitTimeMs: UInt64 = 0
    /// The newest commit time in the segment; node clocks can step back, so
    /// it is not always the last record's.
    public private(set) var maxCommitTimeMs: UInt64 = 0

    public init(limits: VaultLimits = VaultLimits()) {
        self.limits = limits
        content = SegmentFormat.magic
        content.appendBigEndian(SegmentFormat.version)
    }

    /// Adds `record`, which must follow the previous one by exactly one.
    ///
    /// - Throws: `.gap` for a sequence number out of order, `.limit` for a
    ///   payload, record count or segment size beyond `limits`.
    public mutating func append(_ record: VaultRecord) throws(VaultError) {
        if recordCount > 0, record.seq != lastSeq &+ 1 {
            throw VaultError(.gap, "change \(record.seq) does not follow change \(lastSeq) in one batch")
        }
        if record.seq == 0 {
            throw VaultError(.gap, "change sequence numbers start at 1; got 0")
        }
        guard recordCount < limits.maxRecordsPerSegment else {
            throw VaultError(.limit, "a segment holds at most \(limits.maxRecordsPerSegment) changes")
        }
        guard record.payload.count <= limits.maxPayloadBytes else {
            throw VaultError(.limit, "change \(record.seq) has \(record.payload.count) bytes, more than the limit of \(limits.maxPayloadBytes)")
        }
        guard content.count + SegmentFormat.recordHeaderBytes + record.payload.count <= limits.maxSegmentBytes else {
            throw VaultError(.limit, "change \(record.seq) would take the segment past \(limits.maxSegmentBytes) bytes; send smaller batches")
        }
        content.appendBigEndian(record.seq)
        content.appendBigEndian(record.commitTimeMs)
        content.appendBigEndian(UInt32(record.payload.count))
        content.append(contentsOf: record.payload)
        if recordCount == 0 {
            firstSeq = record.seq
            firstCommitTimeMs = record.commitTimeMs
        }
        lastSeq = record.seq
        lastCommitTimeMs = record.commitTimeMs
        maxCommitTimeMs = max(maxCommitTimeMs, record.commitTimeMs)
        recordCount += 1
    }

    /// The segment file's bytes: the content as one checksummed LZ4 frame.
    public func finish() throws(VaultError) -> [UInt8] {
        try LZ4Frame.compress(content)
    }
}

/// Reads the records of one segment's decompressed content, validating as
/// it goes: the header, every length, and sequence numbers rising by
/// exactly one.
public struct SegmentReader: Sendable {
    /// Names the segment in error messages.
    public let name: String
    private let content: [UInt8]
    private let maxPayloadBytes: Int
    private var offset: Int
    private var previousSeq: UInt64?

    /// Checks the header of `content` (already decompressed).
    public init(content: [UInt8], name: String, limits: VaultLimits = VaultLimits()) throws(VaultError) {
        guard content.count >= SegmentFormat.headerBytes, Array(content[0..<6]) == SegmentFormat.magic else {
            throw VaultError(.corrupt, "\(name) does not start with the segment magic")
        }
        let version = UInt16(content[6]) << 8 | UInt16(content[7])
        guard version == SegmentFormat.version else {
            throw VaultError(.corrupt, "\(name) has segment format version \(version); this vault reads version \(SegmentFormat.version)")
        }
        self.name = name
        self.content = content
        self.maxPayloadBytes = limits.maxPayloadBytes
        self.offset = SegmentFormat.headerBytes
    }

    /// Decompresses a segment file (checking its LZ4 checksums) and reads
    /// every record.
    public static func records(frame: [UInt8], name: String, limits: VaultLimits = VaultLimits()) throws(VaultError) -> [VaultRecord] {
        let content = try LZ4Frame.decompress(frame, maxBytes: limits.maxSegmentBytes, what: name)
        var reader = try SegmentReader(content: content, name: name, limits: limits)
        var out: [VaultRecord] = []
        while let record = try reader.next() { out.append(record) }
        return out
    }

    /// The next record, or `nil` at the clean end of the content.
    public mutating func next() throws(VaultError) -> VaultRecord? {
        if offset == content.count { return nil }
        guard content.count - offset >= SegmentFormat.recordHeaderBytes else {
            throw VaultError(.corrupt, "\(name) ends inside a record header (after change \(previousSeq.map(String.init) ?? "none"))")
        }
        let seq = content.readBigEndianUInt64(at: offset)
        let time = content.readBigEndianUInt64(at: offset + 8)
        let length = Int(content.readBigEndianUInt32(at: offset + 16))
        let start = offset + SegmentFormat.recordHeaderBytes
        guard length <= maxPayloadBytes else {
            throw VaultError(.corrupt, "\(name): change \(seq) claims \(length) bytes, more than the limit of \(maxPayloadBytes)")
        }
        guard content.count - start >= length else {
            throw VaultError(.corrupt, "\(name) ends inside change \(seq)")
        }
        if let previousSeq, seq != previousSeq &+ 1 {
            throw VaultError(.corrupt, "\(name): change \(seq) follows change \(previousSeq); a segment's changes rise by exactly one")
        }
        if seq == 0 {
            throw VaultError(.corrupt, "\(name) holds a change with sequence number 0")
        }
        previousSeq = seq
        offset = start + length
        return VaultRecord(seq: seq, commitTimeMs: time, payload: Array(content[start..<(start + length)]))
    }
}

extension [UInt8] {
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        var v = value.bigEndian
        Swift.withUnsafeBytes(of: &v) { append(contentsOf: $0) }
    }

    func readBigEndianUInt64(at i: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<8 { v = v << 8 | UInt64(self[i + k]) }
        return v
    }

    func readBigEndianUInt32(at i: Int) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<4 { v = v << 8 | UInt32(self[i + k]) }
        return v
    }
}
