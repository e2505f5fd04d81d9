#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto

/// The node's master key: 32 random bytes that wrap every tenant's keys.
///
/// It lives in a key file of 64 lowercase hex characters and a newline,
/// mode 0600, or comes from the `RENKEI_MASTER_KEY` environment variable via
/// `fromHex(_:)`. Its `description` is redacted, so printing or logging a
/// `MasterKey` shows only the fingerprint.
public struct MasterKey: Sendable {
    let key: SymmetricKey
    /// The secret the node's derived keys (`auditKey(for:)`, `accessKey()`)
    /// come from. It is the key itself until a rotation: then the new key
    /// carries the old root (sealed in `DATA/keys/derivation-root.sealed`,
    /// see `MasterKey+DerivationRoot.swift`), so audit logs and the account
    /// file stay readable across a change of master key.
    let derivationRoot: SymmetricKey

    init(key: SymmetricKey, derivationRoot: SymmetricKey? = nil) {
        self.key = key
        self.derivationRoot = derivationRoot ?? key
    }

    /// A new random master key (not yet stored anywhere).
    public static func generate() -> MasterKey {
        MasterKey(key: SymmetricKey(size: .bits256))
    }

    /// Generates a master key and stores it in a new key file at `path`.
    ///
    /// The file is created exclusively with mode 0600 (set again with `fchmod`
    /// so a permissive umask cannot widen it, and a restrictive one cannot
    /// break it), and both the file and its directory are fsynced before this
    /// returns, so a key that was handed out survives a crash.
    /// Throws `.keyFileExists` rather than replace an existing key, which
    /// would make all data under the old key unreadable.
    public static func create(atPath path: String) throws -> MasterKey {
        let fd: Int32
        switch POSIXFile.openFile(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600) {
        case .success(let d): fd = d
        case .failure(let e) where e.errno == EEXIST:
            throw CryptoError(.keyFileExists,
                "master key file \(path) already exists; refusing to overwrite it (a new key would make existing data unreadable). Load it instead, or move it away first if you really mean to start over",
                cause: e)
        case .failure(let e):
            throw CryptoError.io(e, "create master key file", path: path)
        }
        let master = generate()
        var contents = Array(master.hex.utf8) + [UInt8(ascii: "\n")]
        defer { wipe(&contents) }
        do {
            defer { _ = close(fd) }
            if fchmod(fd, 0o600) != 0 {
                throw CryptoError.io(.last("fchmod"), "set mode 0600 on master key file", path: path)
            }
            do throws(SystemError) {
                try POSIXFile.writeAll(fd, contents)
                try POSIXFile.sync(fd)
            } catch {
                throw CryptoError.io(error, "write master key file", path: path)
            }
        } catch {
            // A half-written key file would later fail to load, or worse, load
            // as a different key; do not leave one behind.
            _ = unlink(path)
            throw error
        }
        do {
            try POSIXFile.fsyncDirectory(containing: path)
        } catch {
            throw CryptoError.io(error, "sync the directory of master key file", path: path)
        }
        return master
    }

    /// Loads the master key from the key file at `path`.
    ///
    /// Throws `.keyFileMissing` if there is no file, `.keyFilePermissions` if
    /// group or others have any access to it (a key others can read is not
    /// secret, one others can write can be swapped), and `.keyFileMalformed`
    /// if it does not hold exactly 64 hex characters (surrounding whitespace
    /// is ignored).
    public static func load(fromPath path: String) throws -> MasterKey {
        let fd: Int32
        switch POSIXFile.openFile(path, O_RDONLY) {
        case .success(let d): fd = d
        case .failure(let e): throw CryptoError.opening(e, "master key file", path: path)
        }
        defer { _ = close(fd) }
        // fstat on the open descriptor, not stat on the path, so the file we
        // check is the file we read.
        let st: stat
        do {
            st = try POSIXFile.status(fd)
        } catch {
            throw CryptoError.io(error, "inspect master key file", path: path)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw CryptoError(.keyFileMalformed, "master key file \(path) is not a regular file")
        }
        let mode = st.st_mode & 0o7777
        guard mode & 0o077 == 0 else {
            throw CryptoError(.keyFilePermissions,
                "master key file \(path) has mode \(octalMode(mode)); it must not be readable or writable by group or others (run: chmod 600 \(path))")
        }
        var contents: [UInt8]
        do {
            contents = try POSIXFile.readAll(fd)
        } catch {
            throw CryptoError.io(error, "read master key file", path: path)
        }
        defer { wipe(&contents) }
        do {
            return try fromHexBytes(contents[...])
        } catch let error as CryptoError {
            throw CryptoError(.keyFileMalformed, "master key file \(path) is malformed: \(error.message)")
        }
    }

    /// Parses a master key from 64 hex characters, as given in `RENKEI_MASTER_KEY`.
    /// Surrounding whitespace is ignored. Throws `.keyFileMalformed`.
    public static func fromHex(_ hex: String) throws -> MasterKey {
        var utf8 = Array(hex.utf8)
        defer { wipe(&utf8) }
        return try fromHexBytes(utf8[...])
    }

    /// Shared by `fromHex` and `load`; its messages mention lengths, never the characters.
    private static func fromHexBytes(_ raw: ArraySlice<UInt8>) throws -> MasterKey {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }
        var trimmed = raw
        while let first = trimmed.first, isSpace(first) { trimmed.removeFirst() }
        while let last = trimmed.last, isSpace(last) { trimmed.removeLast() }
        guard trimmed.count == 64 else {
            throw CryptoError(.keyFileMalformed,
                "a master key must be 64 hex characters (32 bytes), found \(trimmed.count) characters")
        }
        guard var bytes = hexDecode(trimmed) else {
            throw CryptoError(.keyFileMalformed,
                "a master key must be 64 hex characters (32 bytes), found a non-hex character")
        }
        defer { wipe(&bytes) }
        return MasterKey(key: SymmetricKey(data: bytes))
    }

    /// The key as 64 lowercase hex characters; only for writing the key file.
    var hex: String {
        key.withUnsafeBytes { hexEncode($0) }
    }

    /// A short identifier of this key, safe to display and log: 16 hex
    /// characters of SHA-256 over a domain label and the key. Lets an operator
    /// check two nodes or a backup use the same key without revealing it.
    public var fingerprint: String {
        var hasher = SHA256()
        hasher.update(data: Array("renkei.master-key.fingerprint.v1".utf8))
        key.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return String(hexEncode(hasher.finalize()).prefix(16))
    }

    /// Encrypts `key` under the master key with AES-256-GCM, binding `context`
    /// as associated data so the result only unwraps under the same context.
    /// Returns nonce ‖ ciphertext ‖ tag.
    public func wrap(_ key: SymmetricKey, context: String) throws -> [UInt8] {
        do {
            let box = try key.withUnsafeBytes { keyBytes in
                try AES.GCM.seal(keyBytes, using: self.key, authenticating: Array(context.utf8))
            }
            return Array(box.combined!)
        } catch {
            throw CryptoError(.io, "AES-GCM failed while wrapping a key for context \(context)", cause: error)
        }
    }

    /// Reverses `wrap`. Throws `.unwrapFailed` if the bytes were made under
    /// another master key or another context, or were altered.
    public func unwrap(_ wrapped: [UInt8], context: String) throws -> SymmetricKey {
        do {
            let box = try AES.GCM.SealedBox(combined: wrapped)
            var plain = Array(try AES.GCM.open(box, using: key, authenticating: Array(context.utf8)))
            defer { wipe(&plain) }
            return SymmetricKey(data: plain)
        } catch {
            throw CryptoError(.unwrapFailed,
                "could not unwrap the key for context \(context): it was wrapped under another master key (check the master key fingerprint) or the wrapped bytes were altered",
                cause: error)
        }
    }
}

extension MasterKey: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// `MasterKey(fingerprint: …)`; never the key itself.
    public var description: String { "MasterKey(fingerprint: \(fingerprint))" }
    /// Same as `description`.
    public var debugDescription: String { description }
    /// No children, so `dump` cannot reach the key bytes.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
