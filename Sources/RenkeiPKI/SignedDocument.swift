import Foundation

/// The envelope of every document the federation CA signs (revocation lists,
/// directories):
///
/// ```json
/// {"keyId":"<SPKI SHA-256 hex of the signer>","payload":"<base64 of the payload JSON>","signature":"<base64 DER ECDSA P-256/SHA-256 over the payload bytes>"}
/// ```
///
/// The payload is sorted-keys JSON that names its own `type`. The signature is
/// over the exact payload bytes, so verification never re-serializes; base64
/// must be canonical, so no byte of the file can change without the
/// verification failing.
enum SignedDocument {
    struct Envelope: Codable {
        var keyId: String?
        var payload: String?
        var signature: String?
    }

    /// Just enough of a payload to check its kind.
    struct TypeProbe: Decodable { var type: String? }

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return e
    }

    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }

    /// Encodes `payload` as sorted-keys JSON, signs it with the CA key and returns the envelope bytes.
    static func sign<Payload: Encodable>(_ payload: Payload, ca: FederationCA, what: String) throws(PKIError) -> [UInt8] {
        let payloadBytes: [UInt8]
        do {
            payloadBytes = Array(try encoder().encode(payload))
        } catch {
            throw PKIError(.io, "could not encode the \(what)", cause: error)
        }
        let signature = try ca.sign(payloadBytes)
        let envelope = Envelope(keyId: SPKIHash.sha256Hex(of: ca.certificate),
                                payload: Data(payloadBytes).base64EncodedString(),
                                signature: Data(signature).base64EncodedString())
        do {
            return Array(try encoder().encode(envelope)) + [UInt8(ascii: "\n")]
        } catch {
            throw PKIError(.io, "could not encode the signed \(what)", cause: error)
        }
    }

    /// Checks the envelope and signature and returns the payload bytes and their decoded value.
    ///
    /// Errors: `.malformedDocument` (not JSON, bad base64, payload not the
    /// expected shape), `.unsigned` (no payload or signature: plain JSON),
    /// `.wrongKey` (keyId is no CA of the trusted bundle), `.signatureInvalid` (altered),
    /// `.wrongDocumentType`.
    static func open<Payload: Decodable>(_ bytes: [UInt8], trust: FederationTrust, type: String,
                                         as payloadType: Payload.Type, what: String) throws(PKIError) -> Payload {
        let envelope: Envelope
        do {
            envelope = try JSONDecoder().decode(Envelope.self, from: Data(bytes))
        } catch {
            throw PKIError(.malformedDocument, "the \(what) is not a JSON signed document", cause: error)
        }
        guard let payloadText = envelope.payload, let signatureText = envelope.signature, let keyId = envelope.keyId else {
            throw PKIError(.unsigned, "the \(what) is not signed: it needs keyId, payload and signature (sign it with the federation CA)")
        }
        guard let payload = canonicalBase64(payloadText), let signature = canonicalBase64(signatureText) else {
            throw PKIError(.malformedDocument, "the \(what)'s payload or signature is not canonical base64")
        }
        guard trust.anchor(keyId: keyId) != nil else {
            throw PKIError(.wrongKey, "the \(what) is signed by key \(keyId), not by the federation CA \(trust.subjects) (key \(trust.anchors.map(\.keyId).joined(separator: ", ")))")
        }
        guard trust.isValidSignature(signature, for: payload, keyId: keyId) else {
            throw PKIError(.signatureInvalid, "the \(what)'s signature does not match its payload: it was altered or not signed by the federation CA")
        }
        let decoder = decoder()
        let probe = try? decoder.decode(TypeProbe.self, from: Data(payload))
        guard probe?.type == type else {
            throw PKIError(.wrongDocumentType, "expected a \(what) (type \(type)), found type \(probe?.type ?? "none")")
        }
        do {
            return try decoder.decode(payloadType, from: Data(payload))
        } catch {
            throw PKIError(.malformedDocument, "the \(what)'s signed payload does not have the expected fields", cause: error)
        }
    }

    /// Base64 that decodes and re-encodes to exactly the same text.
    private static func canonicalBase64(_ text: String) -> [UInt8]? {
        guard let data = Data(base64Encoded: text), data.base64EncodedString() == text else { return nil }
        return Array(data)
    }
}

extension Date {
    /// Whole seconds: what an ISO 8601 document can carry.
    var wholeSeconds: Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)) }
}
