import Foundation
import X509

/// A certificate serial number in the one form Renkei prints, stores and
/// compares: lowercase hex of its big-endian bytes, leading zero bytes removed
/// (as `openssl x509 -serial` prints it, ignoring case).
public struct SerialNumber: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// Lowercase hex, no leading zero bytes, at least two characters.
    public let hex: String

    /// Parses hex as an operator types it: either case, optional `0x`, optional `:` separators.
    public init(hex text: String) throws(PKIError) {
        var t = text.replacingOccurrences(of: ":", with: "")
        if t.hasPrefix("0x") || t.hasPrefix("0X") { t = String(t.dropFirst(2)) }
        if t.count % 2 == 1 { t = "0" + t }
        guard !t.isEmpty, t.count <= 42, let bytes = hexBytes(t) else {
            throw PKIError(.invalidInput, "serial: must be 1 to 21 bytes of hexadecimal, e.g. 4f:a2:… or 4fa2…")
        }
        self.init(bytes: bytes)
    }

    /// The serial of a certificate.
    public init(_ serial: Certificate.SerialNumber) { self.init(bytes: Array(serial.bytes)) }

    init(bytes: [UInt8]) {
        var b = bytes[...]
        while b.count > 1, b.first == 0 { b = b.dropFirst() }
        self.hex = hexString(b.isEmpty ? [0] : Array(b))
    }

    public var description: String { hex }

    public static func < (a: SerialNumber, b: SerialNumber) -> Bool {
        a.hex.count != b.hex.count ? a.hex.count < b.hex.count : a.hex < b.hex
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do throws(PKIError) { self = try SerialNumber(hex: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(hex)
    }
}
