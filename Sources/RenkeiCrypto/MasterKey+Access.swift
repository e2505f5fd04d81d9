import Crypto

extension MasterKey {
    /// The key that seals the node's operator account file: HKDF-SHA256 of the
    /// master key's derivation root (the key itself on a node whose master
    /// key was never rotated; ADR 0011), no salt, info "renkei access v1", 32 bytes.
    ///
    /// Derived rather than stored, like `auditKey(for:)`: accounts belong to
    /// the node (one file for every municipality on it), not to a tenant, so
    /// they must not sit in a tenant keyring that `tenant delete` shreds, and
    /// the account file must open without the database the running node holds
    /// locked. A distinct info string keeps it independent of every other
    /// key derived from the master key.
    public func accessKey() -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: derivationRoot,
            info: Array("renkei access v1".utf8),
            outputByteCount: 32)
    }
}
