import Foundation
import Logging
import Synchronization

/// One JSON object per log line, for log shippers (journald, Loki, Fluent Bit):
/// `{"time":"…Z","level":"info","label":"renkei.node","message":"…","metadata":{…},"source":"RenkeiPeer"}`.
///
/// Metadata values are written as strings (nested values flattened with their
/// description): the node's log lines carry codes, counts and identifiers, and
/// never personal data, whatever the format.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let sink: @Sendable ([UInt8]) -> Void

    /// A handler writing to standard error.
    public static func standardError(label: String, level: Logger.Level) -> JSONLogHandler {
        JSONLogHandler(label: label, level: level) { line in
            line.withUnsafeBytes { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
        }
    }

    /// A handler that hands each encoded line (newline included) to `sink`.
    public init(label: String, level: Logger.Level, sink: @escaping @Sendable ([UInt8]) -> Void) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?,
                    source: String, file: String, function: String, line: UInt) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let explicit { merged.merge(explicit) { $1 } }
        sink(Self.encode(time: Date(), level: level, label: label, message: message.description, metadata: merged, source: source))
    }

    /// The line for one entry: keys in a fixed order, metadata keys sorted.
    static func encode(time: Date, level: Logger.Level, label: String, message: String,
                       metadata: Logger.Metadata, source: String) -> [UInt8] {
        var out = "{\"time\":" + quoted(timestamp(time)) + ",\"level\":" + quoted(level.rawValue)
            + ",\"label\":" + quoted(label) + ",\"message\":" + quoted(message)
        if !metadata.isEmpty {
            out += ",\"metadata\":{" + metadata.keys.sorted().map { quoted($0) + ":" + quoted("\(metadata[$0]!)") }.joined(separator: ",") + "}"
        }
        out += ",\"source\":" + quoted(source) + "}\n"
        return Array(out.utf8)
    }

    static func timestamp(_ date: Date) -> String {
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return format.string(from: date)
    }

    /// A JSON string literal (RFC 8259 escapes).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
