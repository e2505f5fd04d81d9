import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiPKI

struct CACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "Run the federation certificate authority: node certificates, revocation list.",
        discussion: """
        The CA directory holds ca.pem (give it to every node), ca.key (P-256, mode 0600; keep it \
        offline) and revocations.json. The same CA key signs the revocation list and the directory \
        (renkei directory sign), so nodes trust ca.pem alone.
        """,
        subcommands: [Init.self, Issue.self, Revoke.self, CRL.self, Show.self]
    )

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a self-signed federation CA (ca.pem, ca.key). Refuses to overwrite one.")

        @Option(help: ArgumentHelp("The CA directory (created if missing).", valueName: "dir"))
        var dir: String
        @Option(help: "The CA's common name.")
        var name = "Renkei Federation CA"
        @Option(help: "Days the CA certificate is valid.")
        var validDays = 3650

        func validate() throws {
            guard validDays > 0 else { throw ValidationError("--valid-days must be positive") }
        }

        func run() throws {
            try reportingFailures {
                let directory = CADirectory(dir)
                try pki {
                    guard !directory.hasCA else {
                        throw PKIError(.fileExists, "a CA already exists in \(dir) (ca.pem or ca.key); refusing to overwrite it")
                    }
                    let ca = try FederationCA.create(name: name, validDays: validDays)
                    try directory.create(ca)
                    let info = try PeerCertificateInfo(ca.certificate)
                    print("created federation CA \"\(name)\" in \(dir)")
                    print("  certificate \(directory.certificatePath) (valid until \(iso(info.notAfter)))")
                    print("  private key \(directory.keyPath) (mode 0600)")
                    print("  key id (SPKI SHA-256) \(info.spkiSHA256)")
                }
            }
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a certificate signed by the federation CA.",
            subcommands: [Node.self, Vault.self, DROperator.self]
        )

        struct Node: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Issue a node certificate carrying the municipality codes the node speaks for.",
                discussion: """
                The certificate's subjectAltName carries urn:renkei:role:node, one urn:renkei:lg:CODE per \
                code, the DNS names and the IP addresses; extendedKeyUsage serverAuth and clientAuth. \
                Writes OUT/NAME.pem, OUT/NAME.key (0600) and OUT/ca.pem.
                """)
            @OptionGroup var options: IssueOptions
            func run() throws { try options.issue(role: .node, command: self) }
        }

        struct Vault: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Issue a backup vault certificate (role urn:renkei:role:vault).")
            @OptionGroup var options: IssueOptions
            func run() throws { try options.issue(role: .vault, command: self) }
        }

        struct DROperator: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "dr",
                abstract: "Issue a disaster-recovery operator certificate (role urn:renkei:role:dr-operator).")
            @OptionGroup var options: IssueOptions
            func run() throws { try options.issue(role: .drOperator, command: self) }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a certificate as revoked; publish with `renkei ca crl`.")

        @Option(help: ArgumentHelp("The CA directory.", valueName: "dir"))
        var dir: String
        @Option(help: ArgumentHelp("The serial number in hex (colons allowed).", valueName: "hex"))
        var serial: String?
        @Option(help: ArgumentHelp("The certificate file (PEM or DER) to revoke.", valueName: "file"))
        var cert: String?
        @Option(help: "Why, for the record.")
        var reason: String?

        func validate() throws {
            guard (serial == nil) != (cert == nil) else { throw ValidationError("give exactly one of --serial and --cert") }
        }

        func run() throws {
            try reportingFailures {
                try pki {
                    let directory = CADirectory(dir)
                    let trust = try directory.loadTrust()
                    let number: SerialNumber
                    var name = ""
                    if let cert {
                        let data = try Array(readFile(cert, what: "certificate"))
                        let info = try PeerCertificateInfo(bytes: data, source: cert)
                        let certificate = try CertificateCoding.certificate(from: data, source: cert)
                        guard trust.certificate.publicKey.isValidSignature(certificate.signature, for: certificate) else {
                            throw PKIError(.untrusted, "\(cert) was not issued by the CA in \(dir); nothing was revoked")
                        }
                        number = info.serial
                        name = " (\(info.name))"
                    } else {
                        do throws(PKIError) { number = try SerialNumber(hex: serial!) } catch {
                            throw PKIError(.invalidInput, "--\(error.message)")
                        }
                    }
                    if try directory.revoke(number, reason: reason) {
                        print("revoked serial \(number)\(name); run `renkei ca crl` to publish the new list")
                    } else {
                        print("serial \(number)\(name) was already revoked")
                    }
                }
            }
        }
    }

    struct CRL: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "crl",
            abstract: "Write the signed revocation list that nodes load.",
            discussion: "A JSON document {keyId, payload, signature}; the payload lists the revoked serials with issuedAt and nextUpdate. Nodes refuse it after nextUpdate.")

        @Option(help: ArgumentHelp("The CA directory.", valueName: "dir"))
        var dir: String
        @Option(help: ArgumentHelp("Where to write the signed list.", valueName: "file"))
        var out: String
        @Option(help: "Days until nextUpdate.")
        var validDays = 7

        func validate() throws {
            guard validDays > 0 else { throw ValidationError("--valid-days must be positive") }
        }

        func run() throws {
            try reportingFailures {
                try pki {
                    let directory = CADirectory(dir)
                    let bytes = try directory.signRevocationList(validDays: validDays)
                    try writeFile(bytes, to: out)
                    let list = try RevocationList.verify(bytes, ca: try directory.loadTrust())
                    print("wrote revocation list \(out): \(list.entries.count) revoked, next update \(iso(list.nextUpdate))")
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print what a certificate says: role, municipality codes, names, validity, serial, key hash.")

        @Argument(help: ArgumentHelp("A certificate file, PEM or DER.", valueName: "file"))
        var file: String

        func run() throws {
            try reportingFailures {
                try pki {
                    let info = try PeerCertificateInfo(bytes: Array(readFile(file, what: "certificate")), source: file)
                    print("name        \(info.name)")
                    print("role        \(info.role?.rawValue ?? "-")")
                    print("codes       \(info.municipalityCodes.map(\.rawValue).joined(separator: ","))")
                    print("dns         \(info.dnsNames.joined(separator: ","))")
                    print("ip          \(info.ipAddresses.joined(separator: ","))")
                    print("not before  \(iso(info.notBefore))")
                    print("not after   \(iso(info.notAfter))")
                    print("serial      \(info.serial)")
                    print("spki sha256 \(info.spkiSHA256)")
                    print("issuer      \(info.issuer)")
                }
            }
        }
    }
}

/// Options shared by `ca issue node|vault|dr`.
struct IssueOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The CA directory.", valueName: "dir"))
    var dir: String
    @Option(help: "The holder's name: certificate CN and file name (letters, digits, '.', '_', '-').")
    var name: String
    @Option(help: ArgumentHelp("Municipality codes it speaks for, comma-separated (check digits verified). Required for a node.", valueName: "codes"))
    var codes: String?
    @Option(help: ArgumentHelp("DNS names, comma-separated.", valueName: "names"))
    var dns: String?
    @Option(help: ArgumentHelp("IP addresses, comma-separated.", valueName: "addresses"))
    var ip: String?
    @Option(help: "Days the certificate is valid.")
    var validDays = 397
    @Option(help: ArgumentHelp("Where to write NAME.pem, NAME.key and ca.pem (created if missing).", valueName: "dir"))
    var out: String

    func validate() throws {
        guard validDays > 0 else { throw ValidationError("--valid-days must be positive") }
    }

    func issue(role: PKIRole, command: some ParsableCommand) throws {
        let codeList = try list(codes).map { try municipalityCode($0, option: "--codes") }
        if role == .node && codeList.isEmpty {
            throw ValidationError("--codes: a node certificate needs at least one municipality code")
        }
        try command.reportingFailures {
            try pki {
                let ca = try CADirectory(dir).load()
                let request = CertificateRequest(name: name, role: role, municipalityCodes: codeList,
                                                 dnsNames: list(dns), ipAddresses: list(ip), validDays: validDays)
                let issued = try ca.issue(request)
                try issued.write(to: out)
                let info = try issued.info
                print("issued \(role.rawValue) certificate \(name): serial \(info.serial)")
                if !info.municipalityCodes.isEmpty {
                    print("  codes \(info.municipalityCodes.map(\.rawValue).joined(separator: ","))")
                }
                print("  \(out)/\(name).pem, \(out)/\(name).key (mode 0600), \(out)/ca.pem")
                print("  valid until \(iso(info.notAfter)); spki sha256 \(info.spkiSHA256)")
            }
        }
    }

    private func list(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

/// Runs `body`, turning a `PKIError` into a `CLIFailure`: bad input and
/// rejected documents or certificates exit 2, everything else 1.
func pki(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as PKIError {
        let rejected: Set<PKIError.Code> = [
            .invalidInput, .unsigned, .malformedDocument, .signatureInvalid, .wrongKey, .documentExpired,
            .documentNotYetValid, .wrongDocumentType, .untrusted, .expired, .notYetValid, .revoked,
            .missingCodes, .codeNotCarried, .wrongRole, .malformedCertificate,
        ]
        throw CLIFailure(error.description, exitCode: rejected.contains(error.code) ? CLIFailure.rejected : .failure)
    }
}

func readFile(_ path: String, what: String) throws -> Data {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CLIFailure("cannot read \(what) \(path): no such file or not readable")
    }
    return data
}

func writeFile(_ bytes: [UInt8], to path: String) throws {
    do {
        try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw CLIFailure("cannot write \(path): \(error.localizedDescription)")
    }
}

func iso(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
