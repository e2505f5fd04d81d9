#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Synchronization

/// Random AES-GCM nonces, drawn from a buffer the OS CSPRNG refills 252 bytes (21 nonces) at a time.
///
/// `AES.GCM.Nonce()` costs two `getrandom` system calls per nonce, which
/// was most of the cost of sealing a record on the import path. Every byte
/// handed out still comes straight from the kernel CSPRNG and is used once.
/// (After a `fork` the child would repeat the parent's buffered bytes; the
/// node does not fork.)
final class NoncePool: Sendable {
    static let shared = NoncePool()

    /// `getentropy` returns at most 256 bytes per call; 21 whole nonces fit.
    private static let bufferSize = 252
    private static let nonceSize = 12

    private struct State {
        var buffer = [UInt8](repeating: 0, count: NoncePool.bufferSize)
        var offset = NoncePool.bufferSize  // empty: refill on first use
    }

    private let state = Mutex(State())

    /// A fresh random 12-byte nonce.
    func next() -> AES.GCM.Nonce {
        let bytes: [UInt8] = state.withLock { state in
            if state.offset + Self.nonceSize > state.buffer.count {
                Self.fillRandom(&state.buffer)
                state.offset = 0
            }
            let start = state.offset
            state.offset += Self.nonceSize
            return Array(state.buffer[start..<(start + Self.nonceSize)])
        }
        // 12 bytes is always a valid GCM nonce size.
        return try! AES.GCM.Nonce(data: bytes)
    }

    private static func fillRandom(_ buffer: inout [UInt8]) {
        buffer.withUnsafeMutableBytes { raw in
            // getentropy fills everything or fails; a failure means no secure
            // randomness, and sealing with predictable nonces must not happen.
            let rc = getentropy(raw.baseAddress!, raw.count)
            precondition(rc == 0, "getentropy failed: errno \(currentErrno())")
        }
    }
}
