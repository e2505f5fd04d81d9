/// The scrypt cost of a recovery kit: N (CPU/memory cost, a power of two),
/// r (block size) and p (parallelism). Recorded in the kit, so a kit made
/// with any accepted parameters opens with the same code.
///
/// scrypt needs about `128 · N · r · p` bytes, which is what makes guessing
/// passphrases expensive: with `standard` (N = 2^17, r = 8, p = 1) each guess
/// costs 128 MiB and a fraction of a second of one core.
public struct RecoveryKitParameters: Sendable, Hashable, CustomStringConvertible {
    /// log2 of scrypt's N.
    public let costLog2: Int
    /// scrypt's r.
    public let blockSize: Int
    /// scrypt's p.
    public let parallelism: Int

    /// The default for real kits: N = 2^17, r = 8, p = 1 (128 MiB per guess).
    public static let standard = RecoveryKitParameters(costLog2: 17, blockSize: 8, parallelism: 1)

    /// Smallest accepted log2 N. Low enough for tests (N = 2^4 is about 16 KiB),
    /// which is why sealing does not insist on `standard`; callers that make
    /// real kits pass `standard` (the default everywhere).
    public static let minimumCostLog2 = 4
    /// Largest accepted log2 N.
    public static let maximumCostLog2 = 22
    /// Largest memory a kit may ask for, so a crafted kit cannot make the
    /// opener allocate without bound.
    public static let maximumMemoryBytes = 1 << 30

    /// Parameters as given; `validated()` checks them against the limits.
    public init(costLog2: Int, blockSize: Int, parallelism: Int) {
        self.costLog2 = costLog2
        self.blockSize = blockSize
        self.parallelism = parallelism
    }

    /// scrypt's N.
    public var cost: Int { 1 << max(0, min(costLog2, 62)) }

    /// The memory one derivation needs, in bytes (`128 · N · r · p`).
    public var memoryBytes: Int {
        let (a, o1) = (128 * cost).multipliedReportingOverflow(by: blockSize)
        let (b, o2) = a.multipliedReportingOverflow(by: parallelism)
        return o1 || o2 ? Int.max : b
    }

    /// `self` if every parameter is within the limits, else `.recoveryKitMalformed` naming the rule.
    public func validated() throws -> RecoveryKitParameters {
        func reject(_ why: String) -> CryptoError {
            CryptoError(.recoveryKitMalformed, "scrypt parameters \(self) are not accepted: \(why)")
        }
        guard (Self.minimumCostLog2...Self.maximumCostLog2).contains(costLog2) else {
            throw reject("log2 N must be between \(Self.minimumCostLog2) and \(Self.maximumCostLog2)")
        }
        guard (1...64).contains(blockSize) else { throw reject("r must be between 1 and 64") }
        guard (1...16).contains(parallelism) else { throw reject("p must be between 1 and 16") }
        guard memoryBytes <= Self.maximumMemoryBytes else {
            throw reject("they need \(memoryBytes >> 20) MiB, more than the limit of \(Self.maximumMemoryBytes >> 20) MiB")
        }
        return self
    }

    /// `scrypt(N=2^17, r=8, p=1)`.
    public var description: String {
        "scrypt(N=2^\(costLog2), r=\(blockSize), p=\(parallelism))"
    }
}
