import Foundation
import Testing
@testable import RenkeiPeer

/// The clock estimate from a Health answer, and doctor's verdict on it.
struct ClockSkewTests {
    let sent = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func estimateAssumesThePeerReadItsClockHalfwayThroughTheRoundTrip() throws {
        let received = sent.addingTimeInterval(0.2)
        // The peer is 5 s ahead: it read 5.1 s after our send.
        let ahead = try #require(ClockReading.estimate(sentAt: sent, receivedAt: received,
                                                       peerUnixMillis: Int64((sent.timeIntervalSince1970 + 5.1) * 1000)))
        #expect(abs(ahead.offsetSeconds - 5) < 0.001)
        #expect(abs(ahead.roundTripSeconds - 0.2) < 0.001)
        #expect(abs(ahead.skewSecondsMin - 4.9) < 0.001)
        let behind = try #require(ClockReading.estimate(sentAt: sent, receivedAt: received,
                                                        peerUnixMillis: Int64((sent.timeIntervalSince1970 - 2.9) * 1000)))
        #expect(abs(behind.offsetSeconds + 3) < 0.001)
        // Within the round trip's uncertainty, no skew can be claimed.
        let close = try #require(ClockReading.estimate(sentAt: sent, receivedAt: sent.addingTimeInterval(1),
                                                       peerUnixMillis: Int64((sent.timeIntervalSince1970 + 0.9) * 1000)))
        #expect(close.skewSecondsMin == 0)
        #expect(ClockReading.estimate(sentAt: sent, receivedAt: received, peerUnixMillis: 0) == nil, "an old node sends no time")
    }

    @Test func verdictFollowsTheLargestSkewAndNamesTheNode() {
        func finding(_ offsets: [String: Double], unmeasured: [String] = []) -> DoctorFinding {
            NodeDoctor.clockFinding(readings: offsets.sorted { $0.key < $1.key }.map { ($0.key, ClockReading(offsetSeconds: $0.value, roundTripSeconds: 0.01)) },
                                    unmeasured: unmeasured, warnSeconds: 2, failSeconds: 30)
        }
        #expect(finding([:]).status == .ok)
        let fine = finding(["izumo": 0.05, "hamada": -0.2])
        #expect(fine.status == .ok && fine.detail.contains("2 peer(s)") && fine.detail.contains("hamada is 0.200 s behind"), "\(fine.detail)")
        let warn = finding(["izumo": 0.05, "hamada": 7])
        #expect(warn.status == .warn && warn.detail.contains("hamada is 7.000 s ahead of this node") && warn.fix?.contains("NTP") == true)
        let fail = finding(["izumo": -45])
        #expect(fail.status == .fail && fail.detail.contains("izumo is 45.000 s behind"))
        let partly = finding(["izumo": 0.01], unmeasured: ["hamada (connection refused)"])
        #expect(partly.status == .warn && partly.detail.contains("not measured: hamada"))
        let none = finding([:], unmeasured: ["hamada (connection refused)"])
        #expect(none.status == .warn && none.detail.contains("no peer's clock could be read"))
    }
}
