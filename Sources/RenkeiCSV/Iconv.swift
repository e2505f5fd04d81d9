#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns one iconv conversion descriptor and closes it when released.
///
/// Foundation's Shift_JIS support on Linux is incomplete (no NEC/IBM
/// extensions), so CP932 goes through glibc's gconv module instead.
final class Iconv {
    /// Why a conversion stopped before consuming all input.
    enum Stop: Equatable {
        /// All input was converted.
        case complete
        /// The input ends in the middle of a multibyte character; the
        /// unconsumed tail must be prepended to the next chunk.
        case incomplete
        /// The input contains a byte sequence that is invalid in the source
        /// encoding or has no mapping in the target encoding.
        case invalid
    }

    private let descriptor: iconv_t

    /// Opens a converter from `source` to `target` (iconv encoding names).
    init(from source: String, to target: String) throws {
        let cd = iconv_open(target, source)
        // iconv_open signals failure with (iconv_t)-1, not NULL.
        guard let cd, Int(bitPattern: cd) != -1 else {
            throw ioError("cannot open iconv converter from \(source) to \(target)")
        }
        descriptor = cd
    }

    deinit {
        iconv_close(descriptor)
    }

    /// Converts `input`, appending to `output`.
    ///
    /// Returns how many input bytes were consumed and why conversion stopped.
    /// On `.invalid`, everything before the offending sequence has been
    /// appended, so callers can locate the error in the output.
    func convert(_ input: UnsafeBufferPointer<UInt8>, appendingTo output: inout [UInt8]) -> (consumed: Int, stop: Stop) {
        guard let base = input.baseAddress, input.count > 0 else { return (0, .complete) }
        // No supported conversion expands a byte to more than 3 bytes
        // (CP932 half-width kana → 3 UTF-8 bytes), so one pass suffices.
        let oldCount = output.count
        let capacity = input.count * 3 + 16
        output.append(contentsOf: repeatElement(0, count: capacity))
        var consumed = 0
        var produced = 0
        var stop = Stop.complete
        output.withUnsafeMutableBufferPointer { out in
            var inPointer: UnsafeMutablePointer<CChar>? = UnsafeMutablePointer(OpaquePointer(base))
            var inLeft = input.count
            var outPointer: UnsafeMutablePointer<CChar>? = UnsafeMutablePointer(OpaquePointer(out.baseAddress! + oldCount))
            var outLeft = capacity
            while inLeft > 0 {
                let result = iconv(descriptor, &inPointer, &inLeft, &outPointer, &outLeft)
                if result != -1 { continue }
                let code = errno
                if code == EINVAL {
                    stop = .incomplete
                } else {
                    // EILSEQ; E2BIG cannot happen given the capacity above,
                    // and reporting it as invalid is safer than looping.
                    stop = .invalid
                }
                break
            }
            consumed = input.count - inLeft
            produced = capacity - outLeft
        }
        output.removeLast(capacity - produced)
        return (consumed, stop)
    }
}
