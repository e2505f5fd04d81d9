import Crypto
import Foundation
import _CryptoExtras

/// A password stored as scrypt (memory-hard, from swift-crypto's
/// `_CryptoExtras`) of the password with a random salt; the password itself
/// is never kept.
///
/// The parameters travel with the hash, so raising `AccountPolicy.passwordCostLog2`
/// later leaves existing hashes verifiable. With the default cost 2¹⁵ and
/// block size 8 one evaluation takes 32 MiB and a noticeable fraction of a
/// second, which is what makes offline guessing of a stolen account file slow.
public struct PasswordHash: Sendable, Codable, Equatable {
    /// log₂ of scrypt's N.
    public let costLog2: Int
    /// scrypt's r.
    public let blockSize: Int
    /// scrypt's p.
    public let parallelism: Int
    /// 16 random bytes.
    public let salt: [UInt8]
    /// 32 bytes of scrypt output.
    public let hash: [UInt8]

    /// Passwords must have at least this many characters. With a second
    /// factor in front of every login the password mainly resists offline
    /// guessing of a stolen account file, so length is what counts.
    public static let minimumPasswordCharacters = 12
    /// A bound on what is fed to the KDF (UTF-8 bytes after normalisation).
    public static let maximumPasswordBytes = 1024

    /// The cost range `make` accepts and `matches` evaluates: below 2⁴ is
    /// useless, above 2²⁰ (1 GiB at r = 8) would let a crafted file exhaust memory.
    static let costLog2Range = 4...20
    static let saltBytes = 16
    static let hashBytes = 32
    static let standardBlockSize = 8
    static let standardParallelism = 1

    init(costLog2: Int, blockSize: Int, parallelism: Int, salt: [UInt8], hash: [UInt8]) {
        self.costLog2 = costLog2
        self.blockSize = blockSize
        self.parallelism = parallelism
        self.salt = salt
        self.hash = hash
    }

    /// Hashes `password` with a fresh 16-byte random salt (r = 8, p = 1, 32-byte output).
    ///
    /// Throws `.weakPassword` if the password has fewer than
    /// `minimumPasswordCharacters` characters or more than
    /// `maximumPasswordBytes` UTF-8 bytes, `.invalidField` (field
    /// `passwordCostLog2`) if `costLog2` is outside 4...20. Takes one scrypt
    /// evaluation on the calling thread.
    public static func make(password: String, costLog2: Int = 15) throws(AccessError) -> PasswordHash {
        let normalized = normalize(password)
        guard normalized.count >= minimumPasswordCharacters else {
            throw AccessError(.weakPassword,
                "a password must have at least \(minimumPasswordCharacters) characters (a passphrase of several words is easiest)",
                field: "password")
        }
        guard normalized.utf8.count <= maximumPasswordBytes else {
            throw AccessError(.weakPassword, "a password may have at most \(maximumPasswordBytes) bytes", field: "password")
        }
        guard costLog2Range.contains(costLog2) else {
            throw AccessError.invalid("passwordCostLog2", "must be in \(costLog2Range.lowerBound)...\(costLog2Range.upperBound)")
        }
        let salt = randomBytes(saltBytes)
        guard let hash = derive(normalized, costLog2: costLog2, blockSize: standardBlockSize,
                                parallelism: standardParallelism, salt: salt) else {
            throw AccessError(.storage, "scrypt failed with N = 2^\(costLog2), r = \(standardBlockSize) (not enough memory?)")
        }
        return PasswordHash(costLog2: costLog2, blockSize: standardBlockSize, parallelism: standardParallelism,
                            salt: salt, hash: hash)
    }

    /// Whether `password` is the one this was made from, compared in constant
    /// time. False (without work) for parameters outside the accepted bounds
    /// and for passwords over `maximumPasswordBytes`.
    public func matches(_ password: String) -> Bool {
        guard isWellFormed else { return false }
        let normalized = Self.normalize(password)
        guard normalized.utf8.count <= Self.maximumPasswordBytes else { return false }
        guard var candidate = Self.derive(normalized, costLog2: costLog2, blockSize: blockSize,
                                          parallelism: parallelism, salt: salt) else { return false }
        defer { wipe(&candidate) }
        return constantTimeEqual(candidate, hash)
    }

    /// The parameters and sizes `make` produces; checked after reading a file.
    var isWellFormed: Bool {
        Self.costLog2Range.contains(costLog2) && blockSize == Self.standardBlockSize
            && parallelism == Self.standardParallelism && salt.count == Self.saltBytes && hash.count == Self.hashBytes
    }

    /// NFC, so the same password typed on systems that compose characters
    /// differently gives the same hash.
    private static func normalize(_ password: String) -> String {
        password.precomposedStringWithCanonicalMapping
    }

    private static func derive(_ password: String, costLog2: Int, blockSize: Int, parallelism: Int, salt: [UInt8]) -> [UInt8]? {
        var bytes = Array(password.utf8)
        defer { wipe(&bytes) }
        do {
            let key = try KDF.Scrypt.deriveKey(
                from: bytes, salt: salt, outputByteCount: hashBytes,
                rounds: 1 << costLog2, blockSize: blockSize, parallelism: parallelism)
            return key.withUnsafeBytes { Array($0) }
        } catch {
            return nil
        }
    }
}

extension PasswordHash: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The parameters only; never the salt or hash.
    public var description: String { "PasswordHash(scrypt N=2^\(costLog2), r=\(blockSize), p=\(parallelism))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["costLog2": costLog2]) }
}
