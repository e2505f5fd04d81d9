import Foundation
import Testing
@testable import RenkeiStore

/// Every suite in this target nests in here so that `.serialized` covers all
/// of them: the descriptor-leak test counts the whole process's open files,
/// which other tests running in parallel would disturb.
@Suite(.serialized) enum StoreTests {}

/// A fresh directory under the system temp directory (or /dev/shm when
/// `preferMemory` and it is writable), removed after `body`.
func withTemporaryDirectory<R>(preferMemory: Bool = false, _ body: (URL) throws -> R) throws -> R {
    let base = preferMemory && access("/dev/shm", W_OK) == 0
        ? URL(fileURLWithPath: "/dev/shm", isDirectory: true) : FileManager.default.temporaryDirectory
    let dir = base
        .appendingPathComponent("renkei-store-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    return try body(dir)
}

/// Async variant of `withTemporaryDirectory`.
func withTemporaryDirectory<R>(_ body: (URL) async throws -> R) async throws -> R {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("renkei-store-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    return try await body(dir)
}

/// Opens a new database in `dir/db` with a small cache to keep tests light.
func openTestDatabase(in dir: URL, name: String = "db", options: DatabaseOptions? = nil) throws -> Database {
    var opts = options ?? DatabaseOptions()
    if options == nil { opts.blockCacheBytes = 4 << 20; opts.writeBufferBytes = 4 << 20 }
    return try Database.open(path: dir.appendingPathComponent(name).path, options: opts)
}

/// UTF-8 bytes of a string, for readable keys.
func b(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Number of this process's open file descriptors that point into `directory`.
///
/// Tests of other targets run in parallel in the same process and open files
/// of their own, so only descriptors under the test's own directory count.
func openFileDescriptorCount(under directory: URL) throws -> Int {
    let prefix = directory.resolvingSymlinksInPath().path
    return try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").filter { fd in
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd))?.hasPrefix(prefix) ?? false
    }.count
}

/// Number of open file descriptors of this process.
func openFileDescriptorCount() throws -> Int {
    try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
}

/// Runs `body`, expecting a `StoreError` with `code`, and returns it.
@discardableResult
func expectStoreError(
    _ code: StoreError.Code,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) -> StoreError? {
    do {
        try body()
        Issue.record("expected StoreError(\(code)) but nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as StoreError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        #expect(!error.message.isEmpty, sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected StoreError(\(code)), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
