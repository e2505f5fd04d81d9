#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure of the vault's storage.
///
/// Messages name nodes, files, sequence numbers and sizes, never payload
/// bytes: a payload is a node's ciphertext and stays opaque.
public struct VaultError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, broadly.
    public enum Code: String, Sendable {
        /// A batch does not continue the node's stored changes (its first new
        /// sequence number is not the last stored one plus one), or a read
        /// asks for changes the vault does not hold.
        case gap
        /// Stored data fails a check: a hash, an LZ4 checksum, a segment's
        /// framing or its sequence numbers.
        case corrupt
        /// The file system is full (ENOSPC, EDQUOT). Nothing was changed.
        case diskFull
        /// No such node, segment, snapshot or snapshot file.
        case notFound
        /// A node, snapshot or file name outside the safe character set.
        case invalidName
        /// A bound was exceeded: records per segment, payload or chunk size,
        /// files per snapshot, decompressed size.
        case limit
        /// Any other failed system call, or a request that does not fit the
        /// store's state (a chunk at the wrong offset, a second vault process).
        case io
    }

    public let code: Code
    public let message: String
    public let cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(code.rawValue): \(message) (\(cause))" }
        return "\(code.rawValue): \(message)"
    }
}

/// A failed system call, kept as the `cause` of a `VaultError`.
public struct VaultSystemError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The call that failed, e.g. `fsync`.
    public let call: String
    public let errno: Int32

    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(call): \(String(cString: strerror(errno))) (errno \(errno))" }
}

extension VaultError {
    /// The error for a failed system call: `errno` is read here, so call
    /// this right after the failing call. ENOSPC and EDQUOT become
    /// `.diskFull`, ENOENT `.notFound`, anything else `.io`.
    static func system(_ call: String, _ what: String, _ path: String) -> VaultError {
        system(call, what, path, errno: errno)
    }

    static func system(_ call: String, _ what: String, _ path: String, errno err: Int32) -> VaultError {
        let cause = VaultSystemError(call: call, errno: err)
        switch err {
        case ENOSPC, EDQUOT:
            return VaultError(.diskFull, "the vault's disk is full: \(what) \(path)", cause: cause)
        case ENOENT:
            return VaultError(.notFound, "\(what) \(path): no such file or directory", cause: cause)
        default:
            return VaultError(.io, "\(what) \(path)", cause: cause)
        }
    }
}

/// A cause known only by its description (a Foundation coding error, which
/// is not `Sendable`).
public struct VaultCause: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String

    public init(_ description: String) { self.description = description }
}
