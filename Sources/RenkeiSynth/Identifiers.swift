import RenkeiCore

/// Turns a person's index into identifiers through bijections of the number
/// space, so that identifiers are unique within a population by construction
/// (no set of issued numbers to keep) yet look scattered, and differ between
/// municipalities and seeds.
struct IdentifierSpace: Sendable {
    /// Eleven digits before the Individual Number's check digit.
    static let individualModulus: UInt64 = 100_000_000_000
    /// A prime that is not 2 or 5, hence coprime to 10^11: i ↦ i·P + c is a
    /// bijection mod 10^11.
    static let individualMultiplier: UInt64 = 6_180_339_923

    /// 宛名番号 are ten digits with no leading zero: 10^9 + (i·Q + c) mod 9·10^9.
    static let addressModulus: UInt64 = 9_000_000_000
    /// A prime other than 2, 3 and 5, hence coprime to 9·10^9.
    static let addressMultiplier: UInt64 = 271_828_199

    let individualOffset: UInt64
    let addressOffset: UInt64

    init(salt: UInt64) {
        individualOffset = SplitMix64.mix(salt ^ 0x6D79_6E75_6D62_6572) % Self.individualModulus
        addressOffset = SplitMix64.mix(salt ^ 0x6174_656E_6162_616E) % Self.addressModulus
    }

    /// The largest population whose identifiers are guaranteed distinct.
    static let capacity = Int(addressModulus)

    @inline(__always)
    private static func affine(_ i: Int, _ multiplier: UInt64, _ offset: UInt64, _ modulus: UInt64) -> UInt64 {
        // Full-width product: i·P overflows 64 bits for large i.
        let p = UInt64(i).multipliedFullWidth(by: multiplier)
        let r = modulus.dividingFullWidth((p.high % modulus, p.low)).remainder
        return (r + offset) % modulus
    }

    func individualNumber(index: Int) -> IndividualNumber {
        let v = Self.affine(index, Self.individualMultiplier, individualOffset, Self.individualModulus)
        // Eleven ASCII digits are exactly what completing(firstEleven:) accepts.
        return try! IndividualNumber.completing(firstEleven: zeroPadded(v, width: 11))
    }

    func addressNumber(index: Int) -> AddressNumber {
        let v = 1_000_000_000 + Self.affine(index, Self.addressMultiplier, addressOffset, Self.addressModulus)
        return try! AddressNumber(zeroPadded(v, width: 10))
    }
}

/// `value` in decimal, left-padded with zeros to `width` (truncated to the
/// low `width` digits), without Foundation's formatter.
@inline(__always)
func zeroPadded(_ value: UInt64, width: Int) -> String {
    String(unsafeUninitializedCapacity: width) { buffer in
        var v = value
        var i = width
        while i > 0 {
            i -= 1
            buffer[i] = UInt8(truncatingIfNeeded: v % 10) + 0x30
            v /= 10
        }
        return width
    }
}
