import Crypto

/// The derivation root: the 32-byte secret the node's derived keys come from
/// (ADR 0011).
///
/// A node made before master-key rotation existed derives its audit and
/// access keys from the master key's own bytes, and must keep doing so: its
/// audit logs are MAC-chained under those keys and its account file is
/// sealed under one. So the root starts as the master key itself, and a
/// rotation hands the old root to the new key, sealed under it in
/// `DATA/keys/derivation-root.sealed`. The root is never rotated by a master
/// key rotation; that is what keeps years of audit log verifiable.
extension MasterKey {
    /// The wrapping context of the sealed derivation root; binding it means a
    /// wrapped tenant key cannot be passed off as a root, nor the reverse.
    static let derivationRootContext = "renkei.derivation-root.v1"

    /// Whether this key derives from its own bytes, i.e. no other root was
    /// applied (a node whose master key was never rotated).
    public var derivesFromItself: Bool {
        key == derivationRoot
    }

    /// This key's derivation root, sealed under this key (AES-256-GCM with a
    /// context of its own): the contents of `derivation-root.sealed`.
    public func sealedDerivationRoot() throws -> [UInt8] {
        try wrap(derivationRoot, context: Self.derivationRootContext)
    }

    /// This key, deriving from `other`'s root instead of its own: the new
    /// key of a rotation takes over the old key's root, so every derived key
    /// stays the same.
    public func adoptingDerivationRoot(of other: MasterKey) -> MasterKey {
        MasterKey(key: key, derivationRoot: other.derivationRoot)
    }

    /// This key with the root sealed in `sealed` (made by
    /// `sealedDerivationRoot()` of a key with these bytes).
    ///
    /// Throws `.unwrapFailed` if it was sealed under another master key or
    /// altered, and `.keyFileMalformed` if it does not hold a 256-bit key.
    public func applyingDerivationRoot(sealed: [UInt8]) throws -> MasterKey {
        let root: SymmetricKey
        do {
            root = try unwrap(sealed, context: Self.derivationRootContext)
        } catch let error as CryptoError {
            throw CryptoError(.unwrapFailed,
                "the sealed derivation root does not open under the master key with fingerprint \(fingerprint): it was sealed under another master key, or altered",
                cause: error.cause)
        }
        guard root.bitCount == 256 else {
            throw CryptoError(.keyFileMalformed, "the sealed derivation root does not hold a 256-bit key")
        }
        return MasterKey(key: key, derivationRoot: root)
    }
}
