#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation

/// An export file for removable media (a USB stick, a disc), encrypted with a
/// passphrase, so a lost medium reveals nothing to whoever finds it.
///
/// Layout:
///
///     RENKEI-MEDIA-1\n
///     {"blockSize":8,"chunkBytes":65536,"costLog2":17,"createdAt":"…","kdf":"scrypt",
///      "parallelism":1,"salt":"<base64>","type":"renkei-media-v1"}\n
///     chunk 0 ‖ chunk 1 ‖ … ‖ final chunk
///
/// The header is everything before the first chunk: the magic line and one
/// line of JSON. The key is scrypt(passphrase in NFC, salt) with the header's
/// parameters (the same derivation and passphrase rule as a `RecoveryKit`).
/// The plaintext is cut into `chunkBytes` pieces; each is AES-256-GCM sealed
/// as ciphertext ‖ 16-byte tag (the nonce is not stored) with
///
///     nonce = 0x00000000 ‖ UInt64 big-endian chunk index
///     AAD   = SHA-256(header) ‖ UInt64 big-endian chunk index ‖ final flag (1 for the last chunk, else 0)
///
/// Every chunk but the last holds exactly `chunkBytes`; the last holds 1 to
/// `chunkBytes` (0 only for an empty export), so the file's length alone says
/// where chunks end. Binding the header's hash authenticates the header; the
/// index catches chunks swapped or moved; the final flag catches chunks cut
/// off the end (the new last chunk was sealed as not final) and chunks added
/// after the real last one.
///
/// Each file has a fresh random salt, so each has its own key and the
/// counter nonces never repeat under one key.
public enum MediaSeal {
    /// The header's `type`.
    public static let fileType = "renkei-media-v1"
    /// The first line of every media file.
    public static let magic = Array("RENKEI-MEDIA-1\n".utf8)
    /// Plaintext bytes per chunk in files this code writes.
    public static let defaultChunkBytes = 64 * 1024
    /// The largest `chunkBytes` a file may declare, so a crafted header cannot
    /// make the reader allocate without bound.
    public static let maximumChunkBytes = 1 << 24
    /// The header's JSON line is a few hundred bytes; anything longer is not a media file.
    static let maximumHeaderBytes = 4096
    static let tagBytes = 16
    static let saltBytes = 16
    static let kdfName = "scrypt"

    private struct Header: Codable {
        let type: String
        let kdf: String
        let costLog2: Int
        let blockSize: Int
        let parallelism: Int
        let salt: String
        let chunkBytes: Int
        let createdAt: String
    }

    // MARK: Writing

    /// Writes one media file. Not thread-safe: use it from one task.
    ///
    /// The file is written under a temporary name in the same directory
    /// (0600) and appears under `path` only when `finish()` succeeds; a
    /// writer dropped or failed before that removes the temporary file.
    /// Memory is bounded by one chunk, whatever is written.
    public final class Writer {
        private let path: String
        private let tempPath: String
        private let key: SymmetricKey
        private let headerDigest: [UInt8]
        private let chunkBytes: Int
        private var fd: Int32
        private var buffer: [UInt8] = []
        private var index: UInt64 = 0
        private var written = 0
        private var fileHash = SHA256()
        private var state = State.open

        private enum State { case open, finished, failed }

        /// Starts a media file at `path`.
        ///
        /// Takes as long as one scrypt derivation (about a second with
        /// `.standard`), on the calling thread.
        ///
        /// - Throws: `.weakPassphrase` if the passphrase breaks
        ///   `RecoveryKit.checkPassphrase`'s rule; `.fileExists` if `path`
        ///   exists; `.recoveryKitMalformed` if `parameters` are out of
        ///   bounds; `.io` if the temporary file cannot be made or written.
        public convenience init(path: String, passphrase: String, parameters: RecoveryKitParameters = .standard) throws {
            try self.init(path: path, passphrase: passphrase, parameters: parameters,
                          chunkBytes: MediaSeal.defaultChunkBytes, createdAt: Date())
        }

        init(path: String, passphrase: String, parameters: RecoveryKitParameters, chunkBytes: Int, createdAt: Date) throws {
            try RecoveryKit.checkPassphrase(passphrase)
            let parameters = try parameters.validated()
            precondition((1...MediaSeal.maximumChunkBytes).contains(chunkBytes), "chunkBytes out of range")
            if MediaSeal.exists(path) {
                throw CryptoError(.fileExists, "refusing to write the media file \(path): a file is already there")
            }
            let salt = randomBytes(MediaSeal.saltBytes)
            let header = Header(
                type: MediaSeal.fileType, kdf: MediaSeal.kdfName, costLog2: parameters.costLog2,
                blockSize: parameters.blockSize, parallelism: parameters.parallelism,
                salt: Data(salt).base64EncodedString(), chunkBytes: chunkBytes, createdAt: createdAt.ISO8601Format())
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let headerBytes = try MediaSeal.magic + Array(encoder.encode(header)) + [UInt8(ascii: "\n")]
            let key = try RecoveryKit.deriveKey(passphrase: passphrase, parameters: parameters, salt: salt)

            let tempPath = POSIXFile.directory(of: path) + "/." + POSIXFile.basename(of: path) + ".tmp-" + hexEncode(randomBytes(8))
            let fd: Int32
            switch POSIXFile.openFile(tempPath, O_WRONLY | O_CREAT | O_EXCL, 0o600) {
            case .success(let d): fd = d
            case .failure(let e): throw CryptoError.io(e, "create temporary file", path: tempPath)
            }
            self.path = path
            self.tempPath = tempPath
            self.key = key
            self.headerDigest = Array(SHA256.hash(data: headerBytes))
            self.chunkBytes = chunkBytes
            self.fd = fd
            buffer.reserveCapacity(chunkBytes)
            do {
                guard fchmod(fd, 0o600) == 0 else { throw CryptoError.io(.last("fchmod"), "set mode 0600 on", path: tempPath) }
                try append(headerBytes)
            } catch {
                abandon()
                throw error
            }
        }

        deinit {
            if state != .finished { abandon() }
        }

        /// Adds plaintext. Full chunks are sealed and written as they fill up.
        ///
        /// - Throws: `.io` if writing fails (the writer is then unusable and
        ///   its temporary file removed), or if called after `finish()` or a failure.
        public func write(_ bytes: [UInt8]) throws {
            try usable()
            var input = bytes[...]
            do {
                while !input.isEmpty {
                    // A full chunk is held back until more data arrives, so
                    // the last chunk is only ever sealed by `finish()`, as final.
                    if buffer.count == chunkBytes {
                        try seal(final: false)
                    }
                    let take = min(chunkBytes - buffer.count, input.count)
                    buffer.append(contentsOf: input.prefix(take))
                    input = input.dropFirst(take)
                }
            } catch {
                abandon()
                throw error
            }
        }

        /// Seals the last chunk, syncs the file and moves it to `path`.
        ///
        /// - Returns: the file's size in bytes and the SHA-256 of its bytes
        ///   (lowercase hex), for the operation log and the medium's label.
        /// - Throws: `.fileExists` if a file appeared at `path` meanwhile
        ///   (it is left alone); `.io`. Either way the temporary file is removed.
        public func finish() throws -> (bytes: Int, sha256Hex: String) {
            try usable()
            do {
                try seal(final: true)
                do throws(SystemError) {
                    try POSIXFile.sync(fd)
                } catch {
                    throw CryptoError.io(error, "sync", path: tempPath)
                }
                _ = close(fd)
                fd = -1
                try publish()
            } catch {
                abandon()
                throw error
            }
            state = .finished
            do {
                try POSIXFile.fsyncDirectory(containing: path)
            } catch {
                throw CryptoError.io(error, "sync the directory of", path: path)
            }
            return (written, hexEncode(fileHash.finalize()))
        }

        private func usable() throws {
            switch state {
            case .open: return
            case .finished: throw CryptoError(.io, "the media file \(path) is already finished")
            case .failed: throw CryptoError(.io, "writing the media file \(path) failed earlier; start again")
            }
        }

        private func seal(final: Bool) throws {
            let counter = MediaSeal.bigEndian(index)
            let box: AES.GCM.SealedBox
            do {
                box = try AES.GCM.seal(buffer, using: key, nonce: try AES.GCM.Nonce(data: [0, 0, 0, 0] + counter),
                                       authenticating: headerDigest + counter + [final ? 1 : 0])
            } catch {
                throw CryptoError(.io, "AES-GCM failed while sealing chunk \(index) of the media file \(path)", cause: error)
            }
            wipe(&buffer)
            buffer.removeAll(keepingCapacity: true)
            try append(Array(box.ciphertext) + Array(box.tag))
            index += 1
        }

        private func append(_ bytes: [UInt8]) throws {
            do throws(SystemError) {
                try POSIXFile.writeAll(fd, bytes)
            } catch {
                throw CryptoError.io(error, "write", path: tempPath)
            }
            fileHash.update(data: bytes)
            written += bytes.count
        }

        /// Moves the finished temporary file to `path` without replacing a
        /// file that appeared there: `link` fails if `path` exists. File
        /// systems without hard links (FAT and exFAT, common on removable
        /// media) fall back to a check and `rename`.
        private func publish() throws {
            if link(tempPath, path) == 0 {
                _ = unlink(tempPath)
                return
            }
            let err = currentErrno()
            if err == EEXIST {
                throw CryptoError(.fileExists, "refusing to replace \(path): a file appeared there while the media file was written")
            }
            guard err == EPERM || err == EOPNOTSUPP || err == ENOSYS || err == EMLINK || err == EXDEV else {
                throw CryptoError.io(SystemError("link", errno: err), "move the media file to", path: path)
            }
            if MediaSeal.exists(path) {
                throw CryptoError(.fileExists, "refusing to replace \(path): a file appeared there while the media file was written")
            }
            if rename(tempPath, path) != 0 {
                throw CryptoError.io(.last("rename"), "rename \(tempPath) to", path: path)
            }
        }

        private func abandon() {
            state = .failed
            wipe(&buffer)
            if fd >= 0 { _ = close(fd) }
            fd = -1
            _ = unlink(tempPath)
        }
    }

    // MARK: Reading

    /// Opens and decrypts the whole media file at `path`.
    ///
    /// Takes one scrypt derivation with the file's parameters (bounded by
    /// `RecoveryKitParameters.validated()`), then reads chunk by chunk.
    ///
    /// - Throws: `.weakPassphrase` if the passphrase breaks the rule (no
    ///   file has such a passphrase); `.keyFileMissing` if there is no file;
    ///   `.mediaRejected` naming the file for a wrong passphrase, a file that
    ///   is not a media file, an altered header or chunk, chunks reordered,
    ///   cut off or added, or plaintext larger than `maxBytes`; `.io`.
    public static func open(path: String, passphrase: String, maxBytes: Int = 1 << 30) throws -> [UInt8] {
        try RecoveryKit.checkPassphrase(passphrase)
        func rejected(_ why: String, cause: (any Error & Sendable)? = nil) -> CryptoError {
            CryptoError(.mediaRejected, "the media file \(path) \(why)", cause: cause)
        }
        let fd: Int32
        switch POSIXFile.openFile(path, O_RDONLY) {
        case .success(let d): fd = d
        case .failure(let e): throw CryptoError.opening(e, "media file", path: path)
        }
        defer { _ = close(fd) }
        let size: Int
        do throws(SystemError) {
            size = Int(try POSIXFile.status(fd).st_size)
        } catch {
            throw CryptoError.io(error, "inspect", path: path)
        }

        // The header.
        let start = try readAt(fd, offset: 0, count: min(size, magic.count + maximumHeaderBytes), path: path)
        guard start.count > magic.count, Array(start.prefix(magic.count)) == magic else {
            throw rejected("is not a Renkei media file (its first line is not \"RENKEI-MEDIA-1\")")
        }
        guard let newline = start[magic.count...].firstIndex(of: UInt8(ascii: "\n")) else {
            throw rejected("has no complete header (cut short, or not a media file)")
        }
        let headerBytes = Array(start[0...newline])
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(start[magic.count..<newline]))
        } catch {
            throw rejected("has a header that is not in the media format")
        }
        guard header.type == fileType, header.kdf == kdfName else {
            throw rejected("is of an unsupported kind (type or key derivation not \(fileType) with scrypt)")
        }
        guard (1...maximumChunkBytes).contains(header.chunkBytes) else {
            throw rejected("declares a chunk size outside 1-\(maximumChunkBytes) bytes")
        }
        guard let salt = Data(base64Encoded: header.salt).map({ Array($0) }), salt.count == saltBytes else {
            throw rejected("has a salt that is not \(saltBytes) bytes of base64")
        }
        let parameters: RecoveryKitParameters
        do {
            parameters = try RecoveryKitParameters(costLog2: header.costLog2, blockSize: header.blockSize,
                                                   parallelism: header.parallelism).validated()
        } catch {
            throw rejected("asks for scrypt parameters that are not accepted", cause: error as? CryptoError)
        }

        // The chunks: every one but the last is full, so the length says where each ends.
        let record = header.chunkBytes + tagBytes
        let body = size - headerBytes.count
        guard body >= tagBytes else { throw rejected("is truncated: it ends before its last chunk") }
        let lastIndex = (body - 1) / record
        let lastRecord = body - lastIndex * record
        guard lastRecord >= tagBytes else { throw rejected("is truncated: its last chunk is cut short") }
        let plaintextBytes = lastIndex * header.chunkBytes + (lastRecord - tagBytes)
        guard plaintextBytes <= maxBytes else {
            throw rejected("holds \(plaintextBytes) bytes, more than the limit of \(maxBytes)")
        }

        let key = try RecoveryKit.deriveKey(passphrase: passphrase, parameters: parameters, salt: salt)
        let headerDigest = Array(SHA256.hash(data: headerBytes))
        var out: [UInt8] = []
        out.reserveCapacity(plaintextBytes)
        for i in 0...lastIndex {
            let final = i == lastIndex
            let sealed = try readAt(fd, offset: headerBytes.count + i * record, count: final ? lastRecord : record, path: path)
            let counter = bigEndian(UInt64(i))
            do {
                let box = try AES.GCM.SealedBox(nonce: try AES.GCM.Nonce(data: [0, 0, 0, 0] + counter),
                                                ciphertext: sealed.dropLast(tagBytes), tag: sealed.suffix(tagBytes))
                out += try AES.GCM.open(box, using: key, authenticating: headerDigest + counter + [final ? 1 : 0])
            } catch {
                wipe(&out)
                if i == 0 {
                    throw rejected("does not open with this passphrase, or its header or first chunk was altered", cause: error)
                }
                throw rejected("fails at chunk \(i) of \(lastIndex + 1): altered, reordered, cut short or extended", cause: error)
            }
        }
        return out
    }

    // MARK: Helpers

    static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
    }

    /// Whether anything (a file, a directory, a dangling link) is at `path`.
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Exactly `count` bytes at `offset`; fewer means the file shrank under us.
    private static func readAt(_ fd: Int32, offset: Int, count: Int, path: String) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 {
                if currentErrno() == EINTR { continue }
                throw CryptoError.io(.last("pread"), "read", path: path)
            }
            if n == 0 { throw CryptoError(.mediaRejected, "the media file \(path) became shorter while it was read") }
            done += n
        }
        return buffer
    }
}
