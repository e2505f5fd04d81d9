#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func systemErrorText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}

/// Builds an `.io` error from the current `errno`, so the message carries
/// the system's reason and the cause carries the number.
func ioError(_ what: String, errno code: Int32 = errno) -> CSVError {
    CSVError(.io, "\(what): \(systemErrorText(code))", cause: SystemError(errno: code))
}

/// `write(2)`, named apart from `CSVWriter.write(_:)`.
func systemWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, bytes, count)
}
