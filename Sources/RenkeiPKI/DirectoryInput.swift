import Foundation
import RenkeiCore
import X509

/// The unsigned directory an operator writes (`directory.json`):
///
/// ```json
/// {"nodes": [
///   {"name": "matsue", "endpoint": "localhost:7443", "codes": ["322016", "322032"],
///    "certificate": "nodes/matsue.pem"},
///   {"name": "izumo", "endpoint": "[::1]:7444", "codes": ["322032"],
///    "spkiSHA256": "3f…"}
/// ]}
/// ```
///
/// Each node gives either `certificate` (a path, relative to the input file,
/// to its node certificate: its key hash is taken from it after checking that
/// the federation CA issued it, that it is a node certificate and that it
/// carries every listed code) or `spkiSHA256` directly.
public struct DirectoryInput: Sendable, Codable {
    /// One node.
    public struct Node: Sendable, Codable {
        /// The node's name.
        public var name: String
        /// `host:port`, or `[v6]:port`.
        public var endpoint: String
        /// The municipality codes it serves, as text (validated on resolve).
        public var codes: [String]
        /// Path of its node certificate, relative to the input file.
        public var certificate: String?
        /// Its certificate's SPKI SHA-256 (hex), if no certificate path is given.
        public var spkiSHA256: String?

        /// A node.
        public init(name: String, endpoint: String, codes: [String], certificate: String? = nil, spkiSHA256: String? = nil) {
            self.name = name
            self.endpoint = endpoint
            self.codes = codes
            self.certificate = certificate
            self.spkiSHA256 = spkiSHA256
        }
    }

    /// The nodes.
    public var nodes: [Node]

    /// A directory input.
    public init(nodes: [Node]) { self.nodes = nodes }

    /// Parses `directory.json`; `source` names it in errors.
    public init(bytes: [UInt8], source: String) throws(PKIError) {
        do {
            self = try JSONDecoder().decode(DirectoryInput.self, from: Data(bytes))
        } catch {
            throw PKIError(.invalidInput, "\(source): not a directory input ({\"nodes\": [{\"name\", \"endpoint\", \"codes\", \"certificate\" or \"spkiSHA256\"}]})", cause: error)
        }
    }

    /// Validates every node and returns code → entry.
    ///
    /// - Parameters:
    ///   - baseDirectory: where relative certificate paths start.
    ///   - trust: the federation CA that must have issued each certificate.
    ///   - now: certificates must be valid at this time.
    public func resolve(baseDirectory: String, trust: FederationTrust, now: Date = Date()) throws(PKIError) -> [MunicipalityCode: DirectoryEntry] {
        var result: [MunicipalityCode: DirectoryEntry] = [:]
        for (index, node) in nodes.enumerated() {
            let at = "nodes[\(index)]"
            try CertificateRequest.checkName(node.name, field: "\(at).name")
            let (host, port) = try Self.endpoint(node.endpoint, field: "\(at).endpoint")
            guard !node.codes.isEmpty else { throw PKIError(.invalidInput, "\(at).codes: list at least one municipality code") }
            var codes: [MunicipalityCode] = []
            for text in node.codes {
                do throws(ValidationError) {
                    codes.append(try MunicipalityCode(text, field: FieldName("\(at).codes")))
                } catch {
                    throw PKIError(.invalidInput, error.description)
                }
            }
            let spki: String
            switch (node.certificate, node.spkiSHA256) {
            case (let path?, nil):
                let full = path.hasPrefix("/") ? path : baseDirectory + "/" + path
                spki = try Self.checkedKeyHash(certificatePath: full, codes: codes, trust: trust, now: now, field: "\(at).certificate")
            case (nil, let hash?):
                guard hash.utf8.count == 64, let bytes = hexBytes(hash) else {
                    throw PKIError(.invalidInput, "\(at).spkiSHA256: must be 64 hexadecimal characters")
                }
                spki = hexString(bytes)
            default:
                throw PKIError(.invalidInput, "\(at): give exactly one of \"certificate\" and \"spkiSHA256\"")
            }
            for code in codes {
                if let other = result[code] {
                    throw PKIError(.invalidInput, "\(at).codes: \(code) is already served by node \(other.nodeName); a code maps to one node")
                }
                result[code] = DirectoryEntry(nodeName: node.name, host: host, port: port, spkiSHA256: spki)
            }
        }
        guard !result.isEmpty else { throw PKIError(.invalidInput, "nodes: the directory lists no node") }
        return result
    }

    /// Splits `host:port` / `[v6]:port`.
    static func endpoint(_ text: String, field: String) throws(PKIError) -> (String, Int) {
        let host: Substring, portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw PKIError(.invalidInput, "\(field): expected [IPv6]:port") }
            portText = rest.dropFirst()
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            throw PKIError(.invalidInput, "\(field): expected host:port")
        }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw PKIError(.invalidInput, "\(field): port must be 1 to 65535")
        }
        let h = String(host)
        guard CertificateRequest.isDNSName(h) || IPAddressText.bytes(h) != nil else {
            throw PKIError(.invalidInput, "\(field): host must be a DNS name or an IP address")
        }
        return (h, port)
    }

    static func checkedKeyHash(certificatePath: String, codes: [MunicipalityCode], trust: FederationTrust,
                               now: Date, field: String) throws(PKIError) -> String {
        let certificate = try CertificateCoding.certificate(
            from: try PKIFiles.contents(certificatePath, what: "node certificate"), source: certificatePath)
        guard trust.issuer(of: certificate) != nil else {
            throw PKIError(.untrusted, "\(field): \(certificatePath) was not issued by the federation CA \(trust.subjects)")
        }
        guard now >= certificate.notValidBefore, now <= certificate.notValidAfter else {
            throw PKIError(now > certificate.notValidAfter ? .expired : .notYetValid,
                           "\(field): \(certificatePath) is valid only from \(certificate.notValidBefore) to \(certificate.notValidAfter)")
        }
        let info = try PeerCertificateInfo(certificate)
        guard info.role == .node else {
            throw PKIError(.wrongRole, "\(field): \(certificatePath) is not a node certificate (role \(info.role?.rawValue ?? "none"))")
        }
        for code in codes where !info.carries(code) {
            throw PKIError(.codeNotCarried, "\(field): \(certificatePath) does not carry code \(code) (it carries \(info.municipalityCodes.map(\.rawValue).joined(separator: ", ")))")
        }
        return info.spkiSHA256
    }
}
