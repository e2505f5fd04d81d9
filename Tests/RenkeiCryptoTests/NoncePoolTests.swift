import Crypto
import Testing
@testable import RenkeiCrypto

struct NoncePoolTests {
    /// Spans many buffer refills; a refill bug (reusing or zero bytes) repeats nonces.
    @Test func noncesDoNotRepeatAcrossRefills() {
        let nonces = (0..<5_000).map { _ in NoncePool.shared.next().withUnsafeBytes { Array($0) } }
        #expect(nonces.allSatisfy { $0.count == 12 })
        #expect(Set(nonces).count == nonces.count)
        #expect(!nonces.contains([UInt8](repeating: 0, count: 12)))
    }

    @Test func concurrentSealersGetDistinctNonces() async throws {
        let ring = TenantKeyring.generate(tenantCode: "322016")
        let context = RecordContext(tenantCode: "322016", columnFamily: "cf", recordKey: [1])
        let envelopes = try await withThrowingTaskGroup(of: [[UInt8]].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let sealer = RecordSealer(keyring: ring)
                    return try (0..<500).map { _ in try sealer.seal([1, 2, 3], context: context) }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(Set(envelopes.map { Array($0[5..<17]) }).count == 2_000)
    }
}
