import Foundation
import Testing
@testable import RenkeiStore

extension StoreTests {
    @Suite struct ChangeEntries {
        static let sample = ChangeEntry(seq: 42, commitTimeMs: 1_700_000_000_123, ops: [
            .put(family: "t322016.records", key: b("SECRETKEY"), value: b("SECRETVALUE")),
            .put(family: "default", key: [], value: []),
            .delete(family: "t322016.records", key: [0x00, 0xFF]),
            .put(family: "市町村", key: [1], value: [UInt8](repeating: 7, count: 300)),
        ])

        @Test func roundTrip() throws {
            let payload = try Self.sample.encode()
            #expect(payload.first == ChangeEntry.formatVersion)
            #expect(try ChangeEntry.decode(payload, seq: 42) == Self.sample)
            #expect(try ChangeEntry.commitTimeMs(ofPayload: payload, seq: 42) == 1_700_000_000_123)
            // The family table names each family once, however many ops use it.
            let name = b("t322016.records")
            let occurrences = (0...(payload.count - name.count)).filter { Array(payload[$0..<$0 + name.count]) == name }
            #expect(occurrences.count == 1)

            let record = ChangeRecord(seq: 42, commitTimeMs: 1_700_000_000_123, payload: payload)
            #expect(try record.decode() == Self.sample)
            let lying = ChangeRecord(seq: 42, commitTimeMs: 1, payload: payload)
            expectStoreError(.corrupt) { _ = try lying.decode() }
        }

        @Test func familyOpsAndEmptyEntriesRoundTrip() throws {
            for entry in [
                ChangeEntry(seq: 1, commitTimeMs: 0, ops: []),
                ChangeEntry(seq: 2, commitTimeMs: .max, ops: [.createFamily("a")]),
                ChangeEntry(seq: 3, commitTimeMs: 5, ops: [.dropFamily(String(repeating: "x", count: 255))]),
            ] {
                #expect(try ChangeEntry.decode(try entry.encode(), seq: entry.seq) == entry)
            }
        }

        /// Every truncation of a valid payload is refused with a clear error,
        /// and no error message carries the payload's bytes.
        @Test func everyTruncationIsCorrupt() throws {
            let payload = try Self.sample.encode()
            for length in 0..<payload.count {
                let error = expectStoreError(.corrupt) { _ = try ChangeEntry.decode(Array(payload.prefix(length)), seq: 42) }
                #expect(error?.message.contains("change entry 42") == true)
                #expect(error?.message.contains("SECRET") == false)
            }
        }

        @Test func malformedFieldsAreNamed() throws {
            let good = try ChangeEntry(seq: 7, commitTimeMs: 1, ops: [.put(family: "f", key: b("k"), value: b("v"))]).encode()
            // Layout: version(0) time(1-8) familyCount(9-10) nameLen(11) name(12)
            // opCount(13-16) kind(17) family(18-19) keyLen(20-23) key(24) valueLen(25-28) value(29)
            func mutated(_ change: (inout [UInt8]) -> Void) -> [UInt8] {
                var copy = good
                change(&copy)
                return copy
            }
            let cases: [([UInt8], String)] = [
                (mutated { $0[0] = 9 }, "format version 9"),
                (mutated { $0[17] = 0x77 }, "unknown kind 119"),
                (mutated { $0[19] = 1 }, "names family 1 of 1"),
                (mutated { $0[23] = 200 }, "key of op 0 needs 200 bytes"),
                (mutated { $0[28] = 2 }, "value of op 0 needs 2 bytes"),
                (mutated { $0[13] = 0xFF }, "op count"),
                (mutated { $0[16] = 0x30 }, "op count 48 does not fit"),
                (mutated { $0[9] = 0xFF }, "family count 65281 exceeds"),
                (mutated { $0[12] = 0xFF }, "family name 0 is not valid UTF-8"),
                (mutated { $0.append(0) }, "1 bytes follow the last op"),
            ]
            for (payload, expected) in cases {
                let error = expectStoreError(.corrupt) { _ = try ChangeEntry.decode(payload, seq: 7) }
                #expect(error?.message.contains(expected) == true, "\(String(describing: error)) should mention '\(expected)'")
            }
            #expect(try ChangeEntry.decode(good, seq: 7).ops.count == 1)
        }

        @Test func limitsAreEnforcedWhenEncoding() throws {
            let longName = String(repeating: "n", count: ChangeEntry.maxFamilyNameBytes + 1)
            expectStoreError(.invalidArgument) {
                _ = try ChangeEntry(seq: 1, commitTimeMs: 0, ops: [.createFamily(longName)]).encode()
            }
            let many = (0...ChangeEntry.maxFamilies).map { ChangeOp.createFamily("f\($0)") }
            expectStoreError(.invalidArgument) { _ = try ChangeEntry(seq: 1, commitTimeMs: 0, ops: many).encode() }
        }
    }
}
