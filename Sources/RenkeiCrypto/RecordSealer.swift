import Crypto

/// Seals and opens record values with the tenant's data keys.
///
/// AES-256-GCM with a random nonce per value; the tenant code, column family,
/// record key and key version are authenticated as associated data (see
/// `RecordEnvelope`). Cheap to create and to copy; holds the keyring's
/// cached keys.
public struct RecordSealer: Sendable {
    private let keyring: TenantKeyring

    /// A sealer for the keyring's tenant.
    public init(keyring: TenantKeyring) {
        self.keyring = keyring
    }

    /// Encrypts `plaintext` for `context` with the current data key.
    ///
    /// Throws `.wrongTenant` if `context` names another tenant than the
    /// keyring's: such a value could never be opened again.
    public func seal(_ plaintext: [UInt8], context: RecordContext) throws -> [UInt8] {
        guard context.tenantCode == keyring.tenantCode else {
            throw CryptoError(.wrongTenant,
                "cannot seal a value for tenant \(context.tenantCode) with the keyring of tenant \(keyring.tenantCode)")
        }
        let version = keyring.currentDataKeyVersion
        let aad = RecordEnvelope.associatedData(context, version: version)
        let box: AES.GCM.SealedBox
        do {
            box = try AES.GCM.seal(plaintext, using: keyring.currentDataKey,
                                   nonce: NoncePool.shared.next(), authenticating: aad)
        } catch {
            throw CryptoError(.io, "AES-GCM failed while sealing a value in column family \(context.columnFamily) of tenant \(context.tenantCode)", cause: error)
        }
        // The default 12-byte nonce always gives a combined representation.
        let combined = box.combined!
        var envelope: [UInt8] = []
        envelope.reserveCapacity(RecordEnvelope.headerSize + combined.count)
        envelope.append(RecordEnvelope.formatV1)
        envelope.append(UInt8(truncatingIfNeeded: version >> 24))
        envelope.append(UInt8(truncatingIfNeeded: version >> 16))
        envelope.append(UInt8(truncatingIfNeeded: version >> 8))
        envelope.append(UInt8(truncatingIfNeeded: version))
        envelope.append(contentsOf: combined)
        return envelope
    }

    /// Decrypts an envelope made by `seal` for the same `context`, with
    /// whichever data key version it names.
    ///
    /// Throws `.malformedEnvelope` if it is too short or not format v1,
    /// `.unknownKeyVersion` if the keyring lacks its key, and
    /// `.authenticationFailed` if the context, key or bytes differ from sealing.
    public func open(_ envelope: [UInt8], context: RecordContext) throws -> [UInt8] {
        let version = try RecordEnvelope.version(of: envelope)
        let key = try keyring.dataKey(version: version)
        let aad = RecordEnvelope.associatedData(context, version: version)
        do {
            let box = try AES.GCM.SealedBox(combined: envelope[RecordEnvelope.headerSize...])
            return Array(try AES.GCM.open(box, using: key, authenticating: aad))
        } catch {
            throw CryptoError(.authenticationFailed,
                "a value in column family \(context.columnFamily) of tenant \(context.tenantCode) failed authentication: it was sealed for another record, tenant or key, or was altered",
                cause: error)
        }
    }

    /// The data key version an envelope was sealed with, e.g. to find values
    /// still under an old key after rotation. Throws `.malformedEnvelope`.
    public static func keyVersion(of envelope: [UInt8]) throws -> UInt32 {
        try RecordEnvelope.version(of: envelope)
    }
}
