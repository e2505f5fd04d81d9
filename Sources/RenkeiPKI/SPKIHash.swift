import Crypto
import SwiftASN1
import X509

/// SHA-256 over a certificate's DER SubjectPublicKeyInfo, as lowercase hex: the
/// value a signed directory pins for each node, and the key id of a signed
/// document. Same as
/// `openssl x509 -pubkey -noout -in C.pem | openssl pkey -pubin -outform der | sha256sum`.
public enum SPKIHash {
    /// The hash of `key`'s DER SubjectPublicKeyInfo.
    public static func sha256Hex(of key: Certificate.PublicKey) -> String {
        var serializer = DER.Serializer()
        // Serializing an already-parsed public key cannot fail in practice.
        try! serializer.serialize(key)
        return hexString(SHA256.hash(data: serializer.serializedBytes))
    }

    /// The hash of `certificate`'s public key.
    public static func sha256Hex(of certificate: Certificate) -> String { sha256Hex(of: certificate.publicKey) }

    /// The hash of a P-256 public key.
    public static func sha256Hex(of key: P256.Signing.PublicKey) -> String {
        hexString(SHA256.hash(data: key.derRepresentation))
    }
}
