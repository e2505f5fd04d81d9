import Crypto

/// The federation CA's directory on disk:
///
/// - `ca.pem` — the CA certificate (public; give it to every node)
/// - `ca.key` — the CA private key, PKCS#8 PEM, mode 0600
/// - `revocations.json` — revoked serials, appended by `renkei ca revoke`
public struct CADirectory: Sendable {
    /// The directory path.
    public let path: String

    /// A CA directory at `path` (nothing is read until asked).
    public init(_ path: String) { self.path = path }

    /// `DIR/ca.pem`.
    public var certificatePath: String { path + "/ca.pem" }
    /// `DIR/ca.key`.
    public var keyPath: String { path + "/ca.key" }
    /// `DIR/revocations.json`.
    public var revocationsPath: String { path + "/revocations.json" }

    /// Whether a CA already lives here (either file present).
    public var hasCA: Bool { PKIFiles.exists(certificatePath) || PKIFiles.exists(keyPath) }

    /// Saves a new CA: refuses if `ca.pem` or `ca.key` exists.
    public func create(_ ca: FederationCA) throws(PKIError) {
        guard !hasCA else {
            throw PKIError(.fileExists, "a CA already exists in \(path) (ca.pem or ca.key); refusing to overwrite it")
        }
        try PKIFiles.makeDirectory(path)
        try PrivateKeyFile.write(ca.privateKey, to: keyPath)
        try PKIFiles.write(Array(try CertificateCoding.pem(ca.certificate).utf8), to: certificatePath, mode: 0o644, what: "CA certificate")
    }

    /// Loads the CA with its key (for issuing and signing).
    public func load() throws(PKIError) -> FederationCA {
        let trust = try loadTrust()
        let key = try PrivateKeyFile.read(keyPath)
        return try FederationCA(certificate: trust.certificate, privateKey: key)
    }

    /// Loads only the CA certificate (for verifying).
    public func loadTrust() throws(PKIError) -> FederationTrust {
        try FederationTrust(contentsOf: certificatePath)
    }
}
