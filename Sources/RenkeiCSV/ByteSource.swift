#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the reader's raw bytes come from: an open file or an in-memory
/// array, both delivered in chunks so the decoder and parser see the same
/// boundaries in tests as in production.
final class ByteSource {
    private enum Storage {
        case file(descriptor: Int32, path: String)
        case memory([UInt8])
    }

    private var storage: Storage
    private var chunk: [UInt8]
    private(set) var bytesRead = 0
    let totalBytes: Int?
    let chunkSize: Int

    init(path: String, chunkSize: Int) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw ioError("cannot open \(path)") }
        var info = stat()
        if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG {
            totalBytes = Int(info.st_size)
        } else {
            totalBytes = nil
        }
        storage = .file(descriptor: fd, path: path)
        self.chunkSize = chunkSize
        chunk = [UInt8](repeating: 0, count: chunkSize)
    }

    init(bytes: [UInt8], chunkSize: Int) {
        storage = .memory(bytes)
        totalBytes = bytes.count
        self.chunkSize = chunkSize
        chunk = []
    }

    deinit {
        if case .file(let fd, _) = storage { close(fd) }
    }

    /// Calls `body` with the next chunk; an empty chunk means end of input.
    func withNextChunk<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) throws -> R {
        switch storage {
        case .memory(let bytes):
            let end = min(bytes.count, bytesRead + chunkSize)
            let start = bytesRead
            bytesRead = end
            return try bytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start..<end])) }
        case .file(let fd, let path):
            let count = try chunk.withUnsafeMutableBytes { buffer -> Int in
                while true {
                    let n = read(fd, buffer.baseAddress, buffer.count)
                    if n >= 0 { return n }
                    if errno != EINTR { throw ioError("cannot read \(path)") }
                }
            }
            bytesRead += count
            return try chunk.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[0..<count])) }
        }
    }
}
