/// A small, fast pseudo-random generator (xoshiro256**), seeded explicitly.
///
/// Every synthetic value comes from one of these, never from the system
/// generator, so that the same seed gives the same population on every
/// machine and every run.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// Expands `seed` into the 256-bit state with SplitMix64, as the
    /// xoshiro authors recommend, so that nearby seeds give unrelated streams.
    public init(seed: UInt64) {
        var x = seed
        s0 = SplitMix64.next(&x)
        s1 = SplitMix64.next(&x)
        s2 = SplitMix64.next(&x)
        s3 = SplitMix64.next(&x)
        // The all-zero state is the one state xoshiro cannot leave.
        if s0 | s1 | s2 | s3 == 0 { s0 = 0x9E37_79B9_7F4A_7C15 }
    }

    /// The next 64 random bits.
    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @inline(__always)
    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

extension SeededGenerator {
    /// A value in `0..<n` by Lemire's multiply-high, integers only so that
    /// results never depend on a platform's floating point.
    @inline(__always)
    mutating func below(_ n: Int) -> Int {
        precondition(n > 0)
        return Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(n)).high)
    }

    /// A value in `range`.
    @inline(__always)
    mutating func between(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// True with probability `perMille`/1000.
    @inline(__always)
    mutating func chance(perMille: Int) -> Bool { below(1000) < perMille }

    /// An element of a non-empty table.
    @inline(__always)
    mutating func pick<T>(_ table: [T]) -> T { table[below(table.count)] }

    /// An index into a table ordered from most to least common: the minimum
    /// of two uniform draws, so early entries are roughly twice as likely as
    /// the middle ones and the tail still appears.
    @inline(__always)
    mutating func skewedIndex(_ count: Int) -> Int { min(below(count), below(count)) }
}

/// SplitMix64, used to seed xoshiro and as the mixing function that turns
/// (seed, municipality, index) into independent per-person seeds.
enum SplitMix64 {
    @inline(__always)
    static func next(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return mix(state)
    }

    /// The SplitMix64 finaliser: a bijection on UInt64 with good avalanche.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A stable 64-bit hash of a string (FNV-1a, then mixed); Swift's own
    /// `Hasher` is randomly seeded per process and so cannot be used.
    static func hash(_ text: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h &*= 0x0000_0100_0000_01B3
        }
        return mix(h)
    }
}
