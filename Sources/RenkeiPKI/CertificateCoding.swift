import Foundation
import SwiftASN1
import X509

/// Reading and writing certificates as PEM or DER.
public enum CertificateCoding {
    /// The validity period of the (first) certificate in the PEM or DER file at `path`.
    public static func validity(ofFileAt path: String) throws(PKIError) -> (notBefore: Date, notAfter: Date) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PKIError(.io, "cannot read the certificate \(path)")
        }
        let certificate = try certificate(from: Array(data), source: path)
        return (certificate.notValidBefore, certificate.notValidAfter)
    }

    /// Parses one certificate from PEM text or DER bytes. `source` names where
    /// the bytes came from, for the error message.
    public static func certificate(from bytes: [UInt8], source: String) throws(PKIError) -> Certificate {
        let all = try certificates(from: bytes, source: source)
        guard all.count == 1 else {
            throw PKIError(.malformedCertificate, "\(source): expected one certificate, found \(all.count)")
        }
        return all[0]
    }

    /// Parses every certificate in PEM text (one or more `CERTIFICATE` blocks) or one DER certificate.
    public static func certificates(from bytes: [UInt8], source: String) throws(PKIError) -> [Certificate] {
        let text = String(decoding: bytes, as: UTF8.self)
        do {
            if text.contains("-----BEGIN") {
                let documents = try PEMDocument.parseMultiple(pemString: text)
                let certs = documents.filter { $0.discriminator == "CERTIFICATE" }
                guard !certs.isEmpty else {
                    throw PKIError(.malformedCertificate, "\(source): no CERTIFICATE block in the PEM text")
                }
                return try certs.map { try Certificate(derEncoded: $0.derBytes) }
            }
            return [try Certificate(derEncoded: bytes)]
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError(.malformedCertificate, "\(source): not a PEM or DER X.509 certificate", cause: error)
        }
    }

    /// The PEM text of `certificate`.
    public static func pem(_ certificate: Certificate) throws(PKIError) -> String {
        do {
            return try certificate.serializeAsPEM().pemString + "\n"
        } catch {
            throw PKIError(.io, "could not encode a certificate as PEM", cause: error)
        }
    }

    /// The DER bytes of `certificate`.
    public static func der(_ certificate: Certificate) throws(PKIError) -> [UInt8] {
        do {
            var serializer = DER.Serializer()
            try serializer.serialize(certificate)
            return serializer.serializedBytes
        } catch {
            throw PKIError(.io, "could not encode a certificate as DER", cause: error)
        }
    }
}
