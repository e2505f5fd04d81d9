import Testing
@testable import RenkeiSynth

@Suite struct SeededGeneratorTests {
    @Test func sameSeedSameStream() {
        var a = SeededGenerator(seed: 42)
        var b = SeededGenerator(seed: 42)
        for _ in 0..<1000 { #expect(a.next() == b.next()) }
    }

    @Test func differentSeedsDiffer() {
        var a = SeededGenerator(seed: 1)
        var b = SeededGenerator(seed: 2)
        let xs = (0..<16).map { _ in a.next() }
        let ys = (0..<16).map { _ in b.next() }
        #expect(xs != ys)
    }

    /// Pins the stream, so a change to the algorithm (which would change
    /// every generated population) cannot slip through unnoticed.
    @Test func streamIsPinned() {
        var g = SeededGenerator(seed: 0)
        let first = g.next()
        var h = SeededGenerator(seed: 0)
        #expect(h.next() == first)
        #expect(SplitMix64.mix(0) == 0)
        var state: UInt64 = 0
        // Published first output of SplitMix64 from state 0.
        #expect(SplitMix64.next(&state) == 0xE220_A839_7B1D_CDAF)
    }

    @Test func belowStaysInRangeAndCoversIt() {
        var g = SeededGenerator(seed: 7)
        var seen = Set<Int>()
        for _ in 0..<10_000 {
            let v = g.below(10)
            #expect((0..<10).contains(v))
            seen.insert(v)
        }
        #expect(seen.count == 10)
    }
}
