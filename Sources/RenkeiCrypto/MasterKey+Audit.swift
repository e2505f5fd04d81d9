import Crypto

extension MasterKey {
    /// The key that chains the audit log of tenant `code`: HKDF-SHA256 of the
    /// master key's derivation root (the key itself on a node whose master
    /// key was never rotated; ADR 0011), no salt, info "renkei audit v1" ‖ 0x00 ‖ code (UTF-8), 32 bytes.
    ///
    /// Derived rather than stored, and not in the tenant's keyring, because the
    /// audit log must outlive the tenant: deleting a tenant shreds its keyring,
    /// yet its audit log stays verifiable as long as the master key exists.
    /// Deriving also means the audit tools need only the master key, not the
    /// database (which the running node holds locked). The code is in the info,
    /// so each tenant's log has its own key and a log copied over another
    /// tenant's does not verify.
    public func auditKey(for code: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: derivationRoot,
            info: Array("renkei audit v1".utf8) + [0] + Array(code.utf8),
            outputByteCount: 32)
    }
}
