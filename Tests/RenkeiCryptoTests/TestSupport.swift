import Crypto
import Foundation
import Glibc
import Testing
@testable import RenkeiCrypto

/// A fresh directory under the system temp dir, removed after `body`.
func withTempDirectory<T>(_ body: (String) throws -> T) throws -> T {
    var template = Array((NSTemporaryDirectory() + "/renkei-crypto-XXXXXX").utf8CString)
    let dir = try template.withUnsafeMutableBufferPointer { buffer -> String in
        guard let path = mkdtemp(buffer.baseAddress!) else { throw SystemError("mkdtemp", errno: errno) }
        return String(cString: path)
    }
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(dir)
}

/// Permission bits of the file at `path`.
func fileMode(_ path: String) throws -> mode_t {
    var st = stat()
    guard stat(path, &st) == 0 else { throw SystemError("stat", errno: errno) }
    return st.st_mode & 0o7777
}

func fileExists(_ path: String) -> Bool {
    access(path, F_OK) == 0
}

func rawBytes(_ key: SymmetricKey) -> [UInt8] {
    key.withUnsafeBytes { Array($0) }
}

/// Whether `needle` occurs anywhere in `haystack`.
func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return needle.isEmpty }
    for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
        return true
    }
    return false
}

/// Runs `body` and returns the `RenkeiCrypto.CryptoError` it throws; fails the test if it
/// throws nothing or something else.
func cryptoError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> RenkeiCrypto.CryptoError? {
    do {
        try body()
        Issue.record("expected a RenkeiCrypto.CryptoError, nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as RenkeiCrypto.CryptoError {
        return error
    } catch {
        Issue.record("expected a RenkeiCrypto.CryptoError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
