/// Validation of the names that become paths in the vault.
///
/// A node name, a snapshot id and each component of a snapshot file name
/// are 1–128 characters of `A–Z a–z 0–9 . _ -` and start with a letter or
/// digit. So none is `.` or `..`, none contains `/`, and none can collide
/// with the vault's own hidden names (`.tmp-…`, `.incoming-…`, `.trash-…`):
/// a node can only ever address its own directory.
public enum VaultNames {
    public static let maxComponentLength = 128
    /// Directory levels in a snapshot file name, e.g. `keys/tenant.key` is 2.
    public static let maxFileDepth = 4

    /// Checks a node name. The message never echoes the rejected name.
    public static func validateNode(_ name: String) throws(VaultError) {
        guard isSafeComponent(name) else {
            throw VaultError(.invalidName, "a node name must be 1–\(maxComponentLength) characters of A–Z a–z 0–9 . _ - starting with a letter or digit")
        }
    }

    /// Checks a snapshot id.
    public static func validateSnapshotID(_ id: String) throws(VaultError) {
        guard isSafeComponent(id) else {
            throw VaultError(.invalidName, "a snapshot id must be 1–\(maxComponentLength) characters of A–Z a–z 0–9 . _ - starting with a letter or digit")
        }
    }

    /// Checks a snapshot file name: safe components joined by `/`.
    public static func validateFileName(_ name: String) throws(VaultError) {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.count <= maxFileDepth, parts.allSatisfy({ isSafeComponent(String($0)) }) else {
            throw VaultError(.invalidName, "a snapshot file name must be up to \(maxFileDepth) '/'-separated parts, each 1–\(maxComponentLength) characters of A–Z a–z 0–9 . _ - starting with a letter or digit")
        }
    }

    static func isSafeComponent(_ s: String) -> Bool {
        let bytes = Array(s.utf8)
        guard !bytes.isEmpty, bytes.count <= maxComponentLength, isAlnum(bytes[0]) else { return false }
        return bytes.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func isAlnum(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }

    /// Checks a SHA-256 given as text: 64 lowercase hex digits.
    static func isSHA256Hex(_ s: String) -> Bool {
        let bytes = Array(s.utf8)
        return bytes.count == 64 && bytes.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}
