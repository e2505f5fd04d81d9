import Foundation
import Logging
import Synchronization
import Testing
@testable import RenkeiObservability

@Suite struct JSONLogHandlerTests {
    final class Lines: Sendable {
        let lines = Mutex<[[UInt8]]>([])
        func append(_ line: [UInt8]) { lines.withLock { $0.append(line) } }
        var all: [[UInt8]] { lines.withLock { $0 } }
    }

    @Test func oneParsableObjectPerLineWithLevelFilter() throws {
        let lines = Lines()
        var logger = Logger(label: "renkei.node") { label in
            JSONLogHandler(label: label, level: .info) { lines.append($0) }
        }
        logger[metadataKey: "node"] = "matsue"
        logger.debug("not written")
        logger.notice("inquiry \"answered\"\nsecond line", metadata: ["tenant": "322016", "count": "3"])
        let written = lines.all
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(!line.dropLast().contains(UInt8(ascii: "\n")), "one physical line")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        #expect(object["level"] as? String == "notice")
        #expect(object["label"] as? String == "renkei.node")
        #expect(object["message"] as? String == "inquiry \"answered\"\nsecond line")
        let metadata = try #require(object["metadata"] as? [String: String])
        #expect(metadata == ["node": "matsue", "tenant": "322016", "count": "3"])
        #expect((object["time"] as? String)?.hasSuffix("Z") == true)
    }

    @Test func controlCharactersAreEscaped() throws {
        let line = JSONLogHandler.encode(time: Date(timeIntervalSince1970: 0), level: .error, label: "x", message: "a\u{01}b\tc\\",
                                         metadata: [:], source: "S")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        #expect(object["message"] as? String == "a\u{01}b\tc\\")
        #expect(object["time"] as? String == "1970-01-01T00:00:00.000Z")
        #expect(object["metadata"] == nil)
    }
}
