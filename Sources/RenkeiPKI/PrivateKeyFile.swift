import Crypto

/// P-256 private keys as PKCS#8 PEM files (`-----BEGIN PRIVATE KEY-----`,
/// readable by openssl), always mode 0600.
public enum PrivateKeyFile {
    /// Reads a key, refusing a file that group or others may read or write.
    public static func read(_ path: String) throws(PKIError) -> P256.Signing.PrivateKey {
        let bytes = try PKIFiles.readSecret(path, what: "private key file")
        let text = String(decoding: bytes, as: UTF8.self)
        do {
            return try P256.Signing.PrivateKey(pemRepresentation: text)
        } catch {
            // The cause is not attached: a parser's message could quote key bytes.
            throw PKIError(.malformedKey, "private key file \(path) is not a PEM P-256 private key")
        }
    }

    /// Writes `key` to `path` with mode 0600. Refuses to replace an existing file.
    public static func write(_ key: P256.Signing.PrivateKey, to path: String) throws(PKIError) {
        guard !PKIFiles.exists(path) else {
            throw PKIError(.fileExists, "private key file \(path) already exists; refusing to overwrite it")
        }
        try PKIFiles.write(Array((key.pemRepresentation + "\n").utf8), to: path, mode: 0o600, what: "private key file")
    }
}
