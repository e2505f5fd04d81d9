import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiPKI
import RenkeiPeer

struct DirectoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "directory",
        abstract: "Sign and check the federation directory: municipality code → node endpoint and key.",
        discussion: """
        The directory is signed with the federation CA key (CA_DIR/ca.key), the same key that issues \
        node certificates: a node that trusts ca.pem can check both. The signed file is JSON \
        {keyId, payload, signature}: payload is the base64 of sorted-keys JSON (type, issuer, \
        issuedAt, expiresAt, entries), signature the base64 DER ECDSA P-256 signature over exactly \
        those bytes, keyId the CA's SPKI SHA-256.
        """,
        subcommands: [Sign.self, Verify.self]
    )

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign an operator's directory.json.",
            discussion: """
            directory.json: {"nodes": [{"name": "matsue", "endpoint": "localhost:7443", \
            "codes": ["322016"], "certificate": "certs/matsue.pem"}]}. Instead of "certificate" (a path \
            relative to the file; checked: issued by this CA, a node certificate, carries every code) \
            a node may give "spkiSHA256" (64 hex characters).
            """)

        @Option(help: ArgumentHelp("The CA directory (its ca.key signs).", valueName: "dir"))
        var dir: String
        @Option(name: .customLong("in"), help: ArgumentHelp("The unsigned directory JSON.", valueName: "file"))
        var input: String
        @Option(help: ArgumentHelp("Where to write the signed directory.", valueName: "file"))
        var out: String
        @Option(help: "Hours until the directory expires.")
        var validHours = 24

        func validate() throws {
            guard validHours > 0 else { throw ValidationError("--valid-hours must be positive") }
        }

        func run() throws {
            try reportingFailures {
                try pki {
                    let ca = try CADirectory(dir).load()
                    let source = try DirectoryInput(bytes: Array(readFile(input, what: "directory input")), source: input)
                    let base = URL(fileURLWithPath: input).deletingLastPathComponent().path
                    let now = Date()
                    let entries: [RenkeiCore.MunicipalityCode: DirectoryEntry]
                    do throws(PKIError) {
                        entries = try source.resolve(baseDirectory: base, trust: ca.trust, now: now)
                    } catch {
                        throw PKIError(error.code, "\(input): \(error.message)", cause: error.cause)
                    }
                    let bytes = try SignedDirectory.sign(entries, ca: ca, issuedAt: now,
                                                         expiresAt: now.addingTimeInterval(Double(validHours) * 3600))
                    try writeFile(bytes, to: out)
                    let directory = try SignedDirectory.verify(bytes, trust: ca.trust, now: now)
                    print("signed directory \(out): \(directory.entries.count) municipalities, expires \(iso(directory.expiresAt))")
                }
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a signed directory against the federation CA and list its entries.")

        @Option(help: ArgumentHelp("The CA directory (only ca.pem is read).", valueName: "dir"))
        var dir: String
        @Argument(help: ArgumentHelp("The signed directory file.", valueName: "file"))
        var file: String

        func run() throws {
            try reportingFailures {
                try pki {
                    let trust = try CADirectory(dir).loadTrust()
                    let directory = try SignedDirectory.load(contentsOf: file, trust: trust)
                    let rows = directory.codes.map { code -> [String] in
                        let e = directory.entry(for: code)!
                        return [code.rawValue, e.nodeName, e.endpoint, e.spkiSHA256]
                    }
                    print("valid directory signed by \(directory.issuer), issued \(iso(directory.issuedAt)), expires \(iso(directory.expiresAt))")
                    print(Table.render(header: ["CODE", "NODE", "ENDPOINT", "SPKI-SHA256"], rows: rows))
                }
            }
        }
    }
}
