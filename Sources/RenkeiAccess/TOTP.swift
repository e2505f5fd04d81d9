import Crypto
import Foundation

/// Time-based one-time passwords (RFC 6238): HOTP (RFC 4226) over
/// HMAC-SHA1 of the number of `periodSeconds` steps since the Unix epoch
/// (T0 = 0). SHA-1 because it is what authenticator apps implement by
/// default; HMAC-SHA1 has no known weakness that matters here.
///
/// Pure: every function takes the time, so tests control the clock. The
/// replay rule (a step is accepted once) is the caller's, via the step
/// `matchingStep` returns (`AccountBook` keeps `Account.lastTOTPStep`).
public struct TOTP: Sendable {
    private let secret: [UInt8]
    /// Digits per code, 6...9.
    public let digits: Int
    /// Seconds per step, at least 1.
    public let periodSeconds: Int

    /// A generator for `secret` (RFC 4226 recommends 20 bytes; see `randomSecret()`).
    /// `digits` must be 6...9 and `periodSeconds` positive (programming errors otherwise).
    public init(secret: [UInt8], digits: Int = 6, periodSeconds: Int = 30) {
        precondition((6...9).contains(digits), "TOTP digits must be 6...9")
        precondition(periodSeconds > 0, "TOTP period must be positive")
        self.secret = secret
        self.digits = digits
        self.periodSeconds = periodSeconds
    }

    /// A new 20-byte secret from the system CSPRNG.
    public static func randomSecret() -> [UInt8] {
        randomBytes(20)
    }

    /// The time step `at` falls in: ⌊unix seconds / period⌋ (0 before the epoch).
    public func step(at: Date) -> UInt64 {
        let seconds = at.timeIntervalSince1970.rounded(.down)
        guard seconds > 0 else { return 0 }
        guard seconds < 1.0e18 else { return UInt64(1.0e18) / UInt64(periodSeconds) }
        return UInt64(seconds) / UInt64(periodSeconds)
    }

    /// The code for the step `at` falls in, zero-padded to `digits`.
    public func code(at: Date) -> String {
        code(forStep: step(at: at))
    }

    /// The code for time step `step` (HOTP with counter = step).
    func code(forStep step: UInt64) -> String {
        var counter = step.bigEndian
        let message = withUnsafeBytes(of: &counter) { Array($0) }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
        let offset = Int(mac[mac.count - 1] & 0x0f)
        let binary = (UInt32(mac[offset] & 0x7f) << 24) | (UInt32(mac[offset + 1]) << 16)
            | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<min(digits, 9) { modulus *= 10 }
        let value = String(binary % modulus)
        return String(repeating: "0", count: digits - value.count) + value
    }

    /// The time step the code matches within ±window steps, or nil.
    ///
    /// `window` = 1 accepts the previous and next step too, for clocks a few
    /// seconds apart and a code typed as its step ends. Anything other than
    /// exactly `digits` ASCII digits matches nothing. Every candidate step is
    /// compared (in constant time), so the time taken says nothing about
    /// which one matched. When two steps give the same code, the earliest
    /// is returned, so a replay of an old code is never mistaken for a later step.
    public func matchingStep(_ code: String, at: Date, window: Int = 1) -> UInt64? {
        let typed = Array(code.utf8)
        guard typed.count == digits, typed.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        let window = UInt64(max(0, min(window, 10)))
        let now = step(at: at)
        let first = now >= window ? now - window : 0
        var found: UInt64?
        for candidate in first...(now + window) {
            if constantTimeEqual(Array(self.code(forStep: candidate).utf8), typed), found == nil {
                found = candidate
            }
        }
        return found
    }

    /// RFC 4648 base32 (A–Z, 2–7) without padding, as authenticator apps expect secrets.
    public static func base32(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 8 + 4) / 5)
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 0x1f)])
                bits -= 5
            }
        }
        if bits > 0 {
            out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 0x1f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The `otpauth://totp/` URI authenticator apps read (as a QR code):
    /// label `issuer:account`, base32 secret, SHA1, 6 digits, 30 s. Issuer and
    /// account are percent-encoded (only RFC 3986 unreserved characters stay).
    /// The URI contains the secret: show it once, never log it.
    public static func provisioningURI(secret: [UInt8], account: String, issuer: String) -> String {
        let label = percentEncode(issuer) + ":" + percentEncode(account)
        return "otpauth://totp/\(label)?secret=\(base32(secret))&issuer=\(percentEncode(issuer))&algorithm=SHA1&digits=6&period=30"
    }

    private static func percentEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF")
                out += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 0x0f)])
            }
        }
        return out
    }
}

extension TOTP: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Digits and period only; never the secret.
    public var description: String { "TOTP(digits: \(digits), period: \(periodSeconds)s)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["digits": digits, "periodSeconds": periodSeconds]) }
}
