import ArgumentParser
import Foundation
import Glibc
import RenkeiCore
import RenkeiCrypto
import RenkeiTenantStore

extension TenantCommand {
    struct RecoveryKitExport: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "recovery-kit",
            abstract: "Export a municipality's keys as a recovery kit sealed with a passphrase, for disaster recovery.",
            discussion: """
            The kit holds every key version of the tenant, sealed with AES-256-GCM under a key derived \
            from the passphrase by scrypt (N=2^17, r=8, p=1: 128 MiB per guess). Without it, a node \
            restored from the vault cannot read the tenant (the restored node has a new master key); \
            with it, `renkei restore --recovery-kit FILE` opens it.

            The passphrase comes from --passphrase-file, else from RENKEI_KIT_PASSPHRASE, else it is \
            asked for twice on the terminal (not echoed). It must have at least \
            \(RecoveryKit.minimumPassphraseCharacters) characters; use several random words. Store \
            the kit and the passphrase apart (e.g. different custodians). Export a new kit after each \
            key rotation. The kit file is written with mode 0600 and never overwrites a file.
            """)

        @OptionGroup var node: NodeOptions
        @Option(help: "The municipality code whose keys to export.")
        var code: String
        @Option(help: ArgumentHelp("Where to write the kit (must not exist).", valueName: "file"))
        var out: String
        @OptionGroup var passphrase: KitPassphraseOptions

        func run() throws {
            try reportingFailures {
                let code = try municipalityCode(code)
                try refuseExisting(out)
                let secret = try passphrase.read()
                let store = try node.openStore()
                try writeKit(store: store, code: code, passphrase: secret, parameters: passphrase.parameters, to: out)
            }
        }
    }
}

/// Where a recovery kit passphrase comes from, shared by `tenant recovery-kit` and `tenant add`.
struct KitPassphraseOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "A file holding the kit passphrase (one trailing newline is ignored). Otherwise RENKEI_KIT_PASSPHRASE, otherwise a prompt.",
        valueName: "file"))
    var passphraseFile: String?

    /// Only for tests, which cannot spend 128 MiB and a second per kit.
    @Option(help: .hidden)
    var insecureScryptCostLog2: Int?

    var parameters: RecoveryKitParameters {
        guard let log2 = insecureScryptCostLog2 else { return .standard }
        return RecoveryKitParameters(costLog2: log2, blockSize: 8, parallelism: 1)
    }

    static let environmentVariable = "RENKEI_KIT_PASSPHRASE"
    /// A passphrase file is a line of text; anything bigger is the wrong file.
    static let maximumFileBytes = 4096

    /// The passphrase from the file, the environment or the terminal, checked
    /// against the length rule. Its text never appears in messages.
    func read() throws -> String {
        let text: String
        if let passphraseFile {
            text = try Self.readFile(passphraseFile)
        } else if let value = ProcessInfo.processInfo.environment[Self.environmentVariable], !value.isEmpty {
            text = value
        } else if let typed = try Self.prompt() {
            text = typed
        } else {
            throw CLIFailure(
                "no recovery kit passphrase: give --passphrase-file FILE, set \(Self.environmentVariable), or run on a terminal to be asked",
                exitCode: .validationFailure)
        }
        do {
            try RecoveryKit.checkPassphrase(text)
        } catch let error as CryptoError {
            throw CLIFailure(error.message, exitCode: .validationFailure)
        }
        return text
    }

    static func readFile(_ path: String) throws -> String {
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > maximumFileBytes {
            throw CLIFailure("--passphrase-file \(path) is \(size) bytes; a passphrase file holds one line of at most \(maximumFileBytes) bytes",
                             exitCode: .validationFailure)
        }
        let bytes: [UInt8]
        do {
            bytes = try SecureFile.readAll(atPath: path)
        } catch let error as CryptoError {
            throw CLIFailure("--passphrase-file: \(error.message)", exitCode: .validationFailure)
        }
        guard var text = String(validating: bytes, as: UTF8.self) else {
            throw CLIFailure("--passphrase-file \(path) is not UTF-8 text", exitCode: .validationFailure)
        }
        if text.hasSuffix("\r\n") { text.removeLast(1) } else if text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    /// Asks on the controlling terminal with echo off (twice with `confirm`,
    /// for a new kit); nil without a terminal.
    static func prompt(label: String = "Recovery kit passphrase", confirm: Bool = true) throws -> String? {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard isatty(fd) == 1 else { return nil }
        func ask(_ label: String) -> String? {
            _ = label.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
            var saved = termios()
            let haveTermios = tcgetattr(fd, &saved) == 0
            if haveTermios {
                var quiet = saved
                quiet.c_lflag &= ~tcflag_t(ECHO)
                _ = tcsetattr(fd, TCSAFLUSH, &quiet)
            }
            defer {
                if haveTermios { _ = tcsetattr(fd, TCSAFLUSH, &saved) }
                _ = write(fd, "\n", 1)
            }
            var line: [UInt8] = []
            var byte: UInt8 = 0
            while Glibc.read(fd, &byte, 1) == 1, byte != 0x0A {
                if line.count < RecoveryKit.maximumPassphraseBytes + 1 { line.append(byte) }
            }
            if line.last == 0x0D { line.removeLast() }
            return String(validating: line, as: UTF8.self)
        }
        guard let first = ask(confirm ? "\(label) (at least \(RecoveryKit.minimumPassphraseCharacters) characters): " : "\(label): ") else {
            throw CLIFailure("the passphrase is not UTF-8 text", exitCode: .validationFailure)
        }
        // Say so before asking again.
        do {
            try RecoveryKit.checkPassphrase(first)
        } catch let error as CryptoError {
            throw CLIFailure(error.message, exitCode: .validationFailure)
        }
        guard confirm else { return first }
        guard let second = ask("Same passphrase again: "), second == first else {
            throw CLIFailure("the two passphrases differ; nothing was written", exitCode: .validationFailure)
        }
        return first
    }
}

/// A kit is never written over another file: that file may be another
/// tenant's only kit.
func refuseExisting(_ path: String) throws {
    if FileManager.default.fileExists(atPath: path) {
        throw CLIFailure("\(path) already exists; choose another path for the recovery kit (it is never overwritten)",
                         exitCode: .validationFailure)
    }
}

/// Exports tenant `code`'s kit from `store` and writes it to `path`.
func writeKit(store: NodeStore, code: MunicipalityCode, passphrase: String,
              parameters: RecoveryKitParameters, to path: String) throws {
    let kit: RecoveryKit
    do throws(NodeError) {
        kit = try store.exportRecoveryKit(code: code, passphrase: passphrase, parameters: parameters)
    } catch {
        throw CLIFailure(error.description, exitCode: error.code == .tenantNotFound ? CLIFailure.notFound : .failure)
    }
    try refuseExisting(path)
    do {
        try kit.save(toPath: path)
    } catch {
        throw CLIFailure("cannot write the recovery kit to \(path): \(error)")
    }
    print("wrote the recovery kit of \(code) to \(path) (keyring \(kit.keyringFingerprint), \(kit.parameters)); keep the passphrase apart from the kit")
}
