import RenkeiCrypto

/// A blind index under a throwaway key, made once per process: only its cost
/// matters, never its tokens.
private let decoyIndex = BlindIndex(keyring: TenantKeyring.generate(tenantCode: "000000"))

extension NodeStore {
    /// Does the work of a miss in a hosted tenant — a keyed index of `digits`
    /// and a point read in the number index — for a target this node does not
    /// host, so that answering NO_MATCH for an unhosted code takes the same
    /// time as for an unknown number. The token is under a random key that is
    /// never stored, so the read finds nothing and nothing is kept.
    public func decoyLookup(_ digits: String) {
        let token = decoyIndex.token(digits, domain: .individualNumber)
        _ = try? db.get(token, in: db.defaultColumnFamily)
    }
}
