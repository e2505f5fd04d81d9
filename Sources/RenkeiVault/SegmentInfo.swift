import Foundation

/// What the vault knows about one stored segment without opening it; kept
/// in a sidecar file next to the segment (`<name>.meta`, JSON).
public struct SegmentInfo: Sendable, Equatable, Codable {
    /// The segment's file name, e.g.
    /// `00000000000000000001-00000000000000000100.seg.lz4`.
    public let fileName: String
    public let firstSeq: UInt64
    public let lastSeq: UInt64
    public let firstCommitTimeMs: UInt64
    public let lastCommitTimeMs: UInt64
    /// The newest commit time in the segment (node clocks can step back).
    public let maxCommitTimeMs: UInt64
    public let recordCount: Int
    /// Bytes of the compressed file.
    public let byteSize: UInt64
    /// SHA-256 of the compressed file, lowercase hex.
    public let sha256: String

    public init(
        fileName: String, firstSeq: UInt64, lastSeq: UInt64, firstCommitTimeMs: UInt64, lastCommitTimeMs: UInt64,
        maxCommitTimeMs: UInt64, recordCount: Int, byteSize: UInt64, sha256: String
    ) {
        self.fileName = fileName
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
        self.firstCommitTimeMs = firstCommitTimeMs
        self.lastCommitTimeMs = lastCommitTimeMs
        self.maxCommitTimeMs = maxCommitTimeMs
        self.recordCount = recordCount
        self.byteSize = byteSize
        self.sha256 = sha256
    }

    /// The sequence range the segment holds.
    public var seqRange: ClosedRange<UInt64> { firstSeq...lastSeq }
}

/// Segment and sidecar file names.
enum SegmentName {
    static let suffix = ".seg.lz4"
    static let metaSuffix = ".seg.lz4.meta"
    static let digits = 20

    /// `<first, 20 digits>-<last, 20 digits>.seg.lz4`: zero-padded so that
    /// names sort in sequence order.
    static func fileName(first: UInt64, last: UInt64) -> String {
        pad(first) + "-" + pad(last) + suffix
    }

    static func metaName(for fileName: String) -> String { fileName + ".meta" }

    /// The range a segment file name states, `nil` for any other name.
    static func parse(_ name: String) -> (first: UInt64, last: UInt64)? {
        guard name.hasSuffix(suffix) else { return nil }
        let stem = name.dropLast(suffix.count)
        let parts = stem.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == digits && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let first = UInt64(parts[0]), let last = UInt64(parts[1]), first >= 1, first <= last
        else { return nil }
        return (first, last)
    }

    private static func pad(_ n: UInt64) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, digits - s.count)) + s
    }
}

/// The JSON coding of sidecars, heads and manifests: sorted keys, so the
/// same state always writes the same bytes.
enum VaultJSON {
    static func encode<T: Encodable>(_ value: T, what: String) throws(VaultError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        do {
            return Array(try encoder.encode(value)) + [UInt8(ascii: "\n")]
        } catch {
            throw VaultError(.io, "cannot encode \(what)", cause: VaultCause(String(describing: error)))
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], what: String) throws(VaultError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw VaultError(.corrupt, "\(what) cannot be read", cause: VaultCause(String(describing: error)))
        }
    }

    /// Small JSON files (sidecars, heads, manifests) are read whole, up to this.
    static let maxFileBytes = 64 << 20
}
