/// The one error type thrown by RenkeiPKI.
///
/// Messages say what failed and where (a file path, a field, a certificate's
/// subject and serial) and what to do. They never contain key material, so
/// they are safe to log and print.
public struct PKIError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is, stable for programs to branch on.
    public enum Code: String, Sendable {
        // Certificates and chains.
        /// The certificate does not chain to the federation CA (another CA, or a bad signature).
        case untrusted
        /// The certificate (or its issuer) is past its notAfter at the validation time.
        case expired
        /// The certificate (or its issuer) is before its notBefore at the validation time.
        case notYetValid
        /// The certificate's serial is on the federation revocation list.
        case revoked
        /// The certificate carries no `urn:renkei:lg:CODE` URI at all.
        case missingCodes
        /// The certificate does not carry the municipality code the caller requires.
        case codeNotCarried
        /// The certificate's role (`urn:renkei:role:…`) is not the one the caller requires.
        case wrongRole
        /// Bytes are not a well-formed certificate, or a certificate breaks the Renkei profile.
        case malformedCertificate

        // Keys and files.
        /// A private key file is readable or writable by group or others.
        case keyFilePermissions
        /// A private key file is not a PEM P-256 private key.
        case malformedKey
        /// A file that is needed does not exist.
        case fileMissing
        /// Refused to overwrite an existing file (a CA, a key).
        case fileExists
        /// A system call or the crypto library failed.
        case io

        // Input.
        /// An argument or input field failed validation (a code's check digit, an IP address, a port).
        case invalidInput

        // Signed documents (revocation lists, directories).
        /// The bytes are plain JSON or otherwise lack the signed envelope.
        case unsigned
        /// The envelope or its payload is not in the expected format.
        case malformedDocument
        /// The signature does not match the payload: the document was altered.
        case signatureInvalid
        /// The document was signed by a key other than the trusted federation key.
        case wrongKey
        /// The document is past its expiry (`expiresAt` / `nextUpdate`).
        case documentExpired
        /// The document's `issuedAt` lies in the future.
        case documentNotYetValid
        /// The document is a different kind (a revocation list where a directory was expected, or the reverse).
        case wrongDocumentType
    }

    /// What kind of failure this is.
    public let code: Code
    /// What happened, where, and what to do; free of key material.
    public let message: String
    /// The underlying error, if any.
    public let cause: (any Error & Sendable)?

    /// Creates an error. Callers must keep `message` free of key material.
    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// `code: message`, plus the cause when there is one.
    public var description: String {
        if let cause { return "\(code.rawValue): \(message) (\(cause))" }
        return "\(code.rawValue): \(message)"
    }
}
