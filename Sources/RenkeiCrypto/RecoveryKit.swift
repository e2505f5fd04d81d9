import Crypto
import Foundation
import _CryptoExtras

/// One tenant's keyring (every data key version and the index keys), sealed
/// with a passphrase for disaster-recovery staff.
///
/// A node's keyrings are wrapped by its master key, and the vault never gets
/// that key; a restored node has a new one. The recovery kit is what makes a
/// restored tenant readable: `open(passphrase:tenantCode:)` gives the keyring
/// back, and the restore re-seals it under the new master key.
///
/// The passphrase goes through scrypt (memory-hard, from swift-crypto's
/// `_CryptoExtras`; parameters recorded in the kit, `RecoveryKitParameters.standard`
/// by default) to an AES-256-GCM key. Every field of the file (format,
/// tenant, creation time, keyring fingerprint, KDF, parameters, salt, cipher)
/// is authenticated as associated data, so an edit anywhere makes the kit
/// refuse to open, with the same error as a wrong passphrase.
///
/// The file is small JSON (see `encoded()`); its `description` shows the
/// tenant, fingerprint and parameters, never the salt or sealed bytes.
public struct RecoveryKit: Sendable, Equatable {
    /// The kit format this code writes and reads.
    public static let formatVersion = 1
    /// The `type` field, so a kit is recognisable as such.
    public static let fileType = "renkei-recovery-kit"
    /// Passphrases must have at least this many characters: a kit sits in a
    /// safe or a DR binder for years and whoever finds a copy can guess
    /// offline, so the passphrase has to carry the strength (e.g. five or more
    /// random words), with scrypt only slowing each guess.
    public static let minimumPassphraseCharacters = 16
    /// A bound on what is fed to the KDF.
    public static let maximumPassphraseBytes = 1024
    /// A kit file is a few hundred bytes; anything larger is not a kit.
    public static let maximumFileBytes = 64 * 1024

    static let kdfName = "scrypt"
    static let cipherName = "AES-256-GCM"
    static let saltBytes = 16

    /// The tenant whose keyring this is, e.g. `"322016"`.
    public let tenantCode: String
    /// When the kit was made (ISO 8601, UTC).
    public let createdAt: String
    /// `TenantKeyring.fingerprint` of the sealed keyring, to match a kit with
    /// a node without opening it.
    public let keyringFingerprint: String
    /// The scrypt parameters the passphrase goes through.
    public let parameters: RecoveryKitParameters
    let salt: [UInt8]
    /// nonce ‖ ciphertext ‖ tag of the keyring payload.
    let sealedKeyring: [UInt8]

    init(tenantCode: String, createdAt: String, keyringFingerprint: String,
         parameters: RecoveryKitParameters, salt: [UInt8], sealedKeyring: [UInt8]) {
        self.tenantCode = tenantCode
        self.createdAt = createdAt
        self.keyringFingerprint = keyringFingerprint
        self.parameters = parameters
        self.salt = salt
        self.sealedKeyring = sealedKeyring
    }

    // MARK: Sealing and opening

    /// Seals `keyring` with `passphrase`.
    ///
    /// Throws `.weakPassphrase` if the passphrase is shorter than
    /// `minimumPassphraseCharacters` (or longer than `maximumPassphraseBytes`),
    /// `.recoveryKitMalformed` if `parameters` are out of bounds. Takes as long
    /// as one scrypt derivation (about a second with `.standard`), on the
    /// calling thread.
    public static func seal(
        _ keyring: TenantKeyring, passphrase: String,
        parameters: RecoveryKitParameters = .standard, createdAt: Date = Date()
    ) throws -> RecoveryKit {
        try checkPassphrase(passphrase)
        let parameters = try parameters.validated()
        let salt = randomBytes(saltBytes)
        let header = RecoveryKit(
            tenantCode: keyring.tenantCode, createdAt: createdAt.ISO8601Format(),
            keyringFingerprint: keyring.fingerprint, parameters: parameters, salt: salt, sealedKeyring: [])
        let key = try deriveKey(passphrase: passphrase, parameters: parameters, salt: salt)
        var payload = KeyringPayload.encode(keyring)
        defer { wipe(&payload) }
        let box: AES.GCM.SealedBox
        do {
            box = try AES.GCM.seal(payload, using: key, authenticating: header.associatedData)
        } catch {
            throw CryptoError(.io, "AES-GCM failed while sealing the recovery kit of tenant \(keyring.tenantCode)", cause: error)
        }
        return RecoveryKit(
            tenantCode: header.tenantCode, createdAt: header.createdAt, keyringFingerprint: header.keyringFingerprint,
            parameters: parameters, salt: salt, sealedKeyring: Array(box.combined!))
    }

    /// Opens the kit and returns the keyring it holds.
    ///
    /// Throws `.wrongTenant` if the kit is for another tenant than
    /// `tenantCode` (checked first, before any KDF work), `.weakPassphrase`
    /// if the passphrase breaks the length rule (no kit has such a
    /// passphrase), and `.recoveryKitRejected` for a wrong passphrase or any
    /// alteration of the kit: the two are indistinguishable by design.
    public func open(passphrase: String, tenantCode expected: String) throws -> TenantKeyring {
        guard tenantCode == expected else {
            throw CryptoError(.wrongTenant,
                "this recovery kit is for municipality \(tenantCode), not \(expected); use the kit made for \(expected)")
        }
        try Self.checkPassphrase(passphrase)
        let parameters = try parameters.validated()
        let key = try Self.deriveKey(passphrase: passphrase, parameters: parameters, salt: salt)
        var payload: [UInt8]
        do {
            let box = try AES.GCM.SealedBox(combined: sealedKeyring)
            payload = Array(try AES.GCM.open(box, using: key, authenticating: associatedData))
        } catch {
            throw CryptoError(.recoveryKitRejected,
                "the passphrase does not open this recovery kit (municipality \(tenantCode)), or the kit was altered",
                cause: error)
        }
        defer { wipe(&payload) }
        let keyring = try KeyringPayload.decode(payload, tenantCode: tenantCode)
        // Authenticated, so only a kit made by other software could get here
        // with a mismatch; still, never hand out keys that are not what the
        // kit claims to hold.
        guard keyring.fingerprint == keyringFingerprint else {
            throw CryptoError(.recoveryKitMalformed,
                "the recovery kit of municipality \(tenantCode) opened, but its keys do not match its fingerprint \(keyringFingerprint)")
        }
        return keyring
    }

    /// Enforces the passphrase length rule, naming it.
    public static func checkPassphrase(_ passphrase: String) throws {
        let characters = passphrase.count
        guard characters >= minimumPassphraseCharacters else {
            throw CryptoError(.weakPassphrase,
                "a recovery kit passphrase must have at least \(minimumPassphraseCharacters) characters (this one has \(characters)); use several random words")
        }
        guard passphrase.utf8.count <= maximumPassphraseBytes else {
            throw CryptoError(.weakPassphrase,
                "a recovery kit passphrase must be at most \(maximumPassphraseBytes) bytes of UTF-8")
        }
    }

    /// scrypt over the passphrase in Unicode NFC, so the same passphrase typed
    /// on systems that compose characters differently gives the same key.
    static func deriveKey(passphrase: String, parameters: RecoveryKitParameters, salt: [UInt8]) throws -> SymmetricKey {
        var bytes = Array(passphrase.precomposedStringWithCanonicalMapping.utf8)
        defer { wipe(&bytes) }
        do {
            return try KDF.Scrypt.deriveKey(
                from: bytes, salt: salt, outputByteCount: 32,
                rounds: parameters.cost, blockSize: parameters.blockSize, parallelism: parameters.parallelism)
        } catch {
            throw CryptoError(.io, "scrypt failed with \(parameters) (not enough memory?)", cause: error)
        }
    }

    /// Every field except the sealed bytes, each length-prefixed so no two
    /// different headers give the same bytes.
    var associatedData: [UInt8] {
        let fields = [
            "renkei.recovery-kit", String(Self.formatVersion), tenantCode, createdAt, keyringFingerprint,
            Self.kdfName, String(parameters.cost), String(parameters.blockSize), String(parameters.parallelism),
            Data(salt).base64EncodedString(), Self.cipherName,
        ]
        var out: [UInt8] = []
        for field in fields {
            out.append(contentsOf: Array(String(field.utf8.count).utf8) + [UInt8(ascii: ":")] + Array(field.utf8))
        }
        return out
    }
}

// MARK: - File format

/// The kit file's JSON shape. Field names are the on-disk format.
private struct KitFile: Codable {
    struct KDF: Codable {
        var algorithm: String
        var n: Int
        var r: Int
        var p: Int
        var salt: String
    }
    var type: String
    var format: Int
    var tenant: String
    var createdAt: String
    var keyringFingerprint: String
    var kdf: KDF
    var cipher: String
    var sealedKeyring: String
}

extension RecoveryKit {
    /// The kit file's bytes:
    ///
    /// ```
    /// {"type":"renkei-recovery-kit","format":1,"tenant":"322016","createdAt":"…",
    ///  "keyringFingerprint":"…","kdf":{"algorithm":"scrypt","n":131072,"r":8,"p":1,"salt":"<base64>"},
    ///  "cipher":"AES-256-GCM","sealedKeyring":"<base64>"}
    /// ```
    /// (pretty-printed, keys sorted). Store it with `save(toPath:)`.
    public func encoded() throws -> [UInt8] {
        let file = KitFile(
            type: Self.fileType, format: Self.formatVersion, tenant: tenantCode, createdAt: createdAt,
            keyringFingerprint: keyringFingerprint,
            kdf: .init(algorithm: Self.kdfName, n: parameters.cost, r: parameters.blockSize,
                       p: parameters.parallelism, salt: Data(salt).base64EncodedString()),
            cipher: Self.cipherName, sealedKeyring: Data(sealedKeyring).base64EncodedString())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(file)) + [UInt8(ascii: "\n")]
        } catch {
            throw CryptoError(.io, "could not encode the recovery kit of tenant \(tenantCode)", cause: error)
        }
    }

    /// Parses kit file bytes made by `encoded()`. Checks structure only (the
    /// passphrase is needed for the rest); throws `.recoveryKitMalformed`
    /// naming what is wrong.
    public init(decoding bytes: [UInt8]) throws {
        func malformed(_ why: String, cause: (any Error & Sendable)? = nil) -> CryptoError {
            CryptoError(.recoveryKitMalformed, "not a valid recovery kit: \(why)", cause: cause)
        }
        guard bytes.count <= Self.maximumFileBytes else {
            throw malformed("it is \(bytes.count) bytes, more than the \(Self.maximumFileBytes) a kit can be")
        }
        let file: KitFile
        do {
            file = try JSONDecoder().decode(KitFile.self, from: Data(bytes))
        } catch {
            throw malformed("it is not recovery kit JSON", cause: error)
        }
        guard file.type == Self.fileType else { throw malformed("its type is \"\(file.type.prefix(40))\", not \"\(Self.fileType)\"") }
        guard file.format == Self.formatVersion else {
            throw malformed("format \(file.format) is not supported (this renkei reads format \(Self.formatVersion))")
        }
        guard file.tenant.utf8.count == 6, file.tenant.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw malformed("its tenant is not a 6-digit municipality code")
        }
        guard file.kdf.algorithm == Self.kdfName else { throw malformed("key derivation \"\(file.kdf.algorithm.prefix(40))\" is not supported (expected scrypt)") }
        guard file.cipher == Self.cipherName else { throw malformed("cipher \"\(file.cipher.prefix(40))\" is not supported (expected \(Self.cipherName))") }
        guard file.kdf.n > 1, file.kdf.n.nonzeroBitCount == 1 else { throw malformed("scrypt N must be a power of two") }
        let parameters: RecoveryKitParameters
        do {
            parameters = try RecoveryKitParameters(
                costLog2: file.kdf.n.trailingZeroBitCount, blockSize: file.kdf.r, parallelism: file.kdf.p).validated()
        } catch let error as CryptoError {
            throw malformed(error.message)
        }
        guard let salt = Data(base64Encoded: file.kdf.salt), (Self.saltBytes...64).contains(salt.count) else {
            throw malformed("the salt is not \(Self.saltBytes)–64 bytes of base64")
        }
        // nonce (12) + payload header (7) + two keys + tag (16), at least.
        guard let sealed = Data(base64Encoded: file.sealedKeyring), sealed.count >= 12 + 7 + 2 * KeyringPayload.entryBytes + 16 else {
            throw malformed("the sealed keyring is not valid base64 of a plausible length")
        }
        guard file.createdAt.utf8.count <= 64, file.keyringFingerprint.utf8.count <= 64 else {
            throw malformed("a field is too long")
        }
        self.init(tenantCode: file.tenant, createdAt: file.createdAt, keyringFingerprint: file.keyringFingerprint,
                  parameters: parameters, salt: Array(salt), sealedKeyring: Array(sealed))
    }

    /// Reads and parses the kit file at `path`; errors name the path.
    public static func load(fromPath path: String) throws -> RecoveryKit {
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > maximumFileBytes {
            throw CryptoError(.recoveryKitMalformed, "\(path) is not a recovery kit: it is \(size) bytes, more than the \(maximumFileBytes) a kit can be")
        }
        let bytes = try SecureFile.readAll(atPath: path)
        do {
            return try RecoveryKit(decoding: bytes)
        } catch let error as CryptoError {
            throw CryptoError(error.code, "\(path): \(error.message)", cause: error.cause)
        }
    }

    /// Writes the kit atomically to `path`, mode 0600 (it is guarded by the
    /// passphrase, but there is no reason to hand out copies).
    public func save(toPath path: String) throws {
        try SecureFile.writeAtomically(try encoded(), toPath: path, mode: 0o600)
    }
}

extension RecoveryKit: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Tenant, fingerprint, parameters and time; never the salt or sealed bytes.
    public var description: String {
        "RecoveryKit(tenant: \(tenantCode), keyring: \(keyringFingerprint), kdf: \(parameters), created: \(createdAt))"
    }
    /// Same as `description`.
    public var debugDescription: String { description }
    /// Only the public fields, so `dump` shows no sealed bytes.
    public var customMirror: Mirror {
        Mirror(self, children: ["tenantCode": tenantCode, "keyringFingerprint": keyringFingerprint,
                                "parameters": parameters, "createdAt": createdAt])
    }
}
