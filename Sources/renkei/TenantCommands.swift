import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiWire
import RenkeiTenantStore
import RenkeiPeer

struct TenantCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant",
        abstract: "Manage the municipalities (tenants) a node hosts.",
        subcommands: [Add.self, List.self, Delete.self, RecoveryKitExport.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Host a municipality: create its encrypted area with fresh keys.",
            discussion: """
            With --recovery-kit FILE the new keys are also exported as a recovery kit right away \
            (see `renkei tenant recovery-kit --help`); the passphrase is read before the tenant is created.
            """)

        @OptionGroup var node: NodeOptions
        @Option(help: "The municipality's 6-digit local-government code (check digit verified).")
        var code: String
        @Option(help: "The municipality's name, e.g. 松江市.")
        var name: String
        @Option(help: ArgumentHelp("Also export the tenant's recovery kit to this file (must not exist).", valueName: "file"))
        var recoveryKit: String?
        @OptionGroup var passphrase: KitPassphraseOptions

        func run() throws {
            try reportingFailures {
                let code = try municipalityCode(code)
                // Everything the kit needs is checked first, so a bad
                // passphrase or path does not leave a tenant without a kit.
                var secret: String?
                if let recoveryKit {
                    try refuseExisting(recoveryKit)
                    secret = try passphrase.read()
                } else if passphrase.passphraseFile != nil {
                    throw CLIFailure("--passphrase-file is only used with --recovery-kit", exitCode: .validationFailure)
                }
                let store = try node.openStore()
                do throws(NodeError) {
                    let info = try store.addTenant(code, name: name)
                    print("added tenant \(info.code) \(info.name)")
                } catch {
                    throw CLIFailure(error.description)
                }
                if let recoveryKit, let secret {
                    do {
                        try writeKit(store: store, code: code, passphrase: secret, parameters: passphrase.parameters, to: recoveryKit)
                    } catch let failure as CLIFailure {
                        throw CLIFailure("tenant \(code) was added, but its recovery kit was not written: \(failure.message); run: renkei tenant recovery-kit --data \(node.data) --code \(code) --out FILE")
                    }
                }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List hosted municipalities with exact record counts.")

        @OptionGroup var node: NodeOptions

        func run() throws {
            try reportingFailures {
                let store = try node.openStore()
                let rows = try store.tenants.map { info -> [String] in
                    let counts = try store.tenant(info.code).counts()
                    return [info.code.rawValue, info.name, String(counts.residents), String(counts.vaccinations), info.createdAt]
                }
                print(Table.render(header: ["CODE", "NAME", "RESIDENTS", "VACCINATIONS", "CREATED"], rows: rows))
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a municipality's data by destroying its keys (crypto-shredding).",
            discussion: """
            The tenant's keyring is erased first: from then on its records, here and in every backup, \
            cannot be decrypted. Then its column families are dropped. This cannot be undone. \
            Repeat the code with --confirm to proceed.

            With --node DIR the running node deletes the view's municipality, and only for a logged-in \
            administrator of that municipality; anyone else is refused and the attempt is logged. The \
            municipality's operation log survives; its accounts are disabled.
            """)

        @OptionGroup var place: NodeOrViewOptions
        @Option(help: "With --data: the municipality code to delete.")
        var code: String?
        @Option(help: "The same code again, to confirm.")
        var confirm: String

        var node: NodeOptions { place.offline }

        func validate() throws { try place.check(code: code) }

        func run() async throws {
            if let view = place.node {
                try await reportingFailuresAsync {
                    let target = try ViewTarget(view)
                    guard confirm == target.acting.rawValue else {
                        throw CLIFailure("--confirm must repeat the code \(target.acting) exactly; nothing was deleted", exitCode: .validationFailure)
                    }
                    var request = Renkei_Admin_V1_TenantDeleteRequest()
                    request.actingCode = target.acting.rawValue
                    request.confirmCode = confirm
                    let answer = try await target.call(request) { client, call in
                        return try await Renkei_Admin_V1_Records.Client(wrapping: client).tenantDelete(call)
                    }
                    print("deleted tenant \(target.acting): keys destroyed, column families dropped; \(answer.accountsDisabled) account(s) disabled (operation-log entry \(answer.auditSequence))")
                }
                return
            }
            try reportingFailures {
                let code = try municipalityCode(code!)
                guard confirm == code.rawValue else {
                    throw CLIFailure("--confirm must repeat the code \(code) exactly; nothing was deleted", exitCode: .validationFailure)
                }
                let store = try node.openStore()
                do throws(NodeError) {
                    try store.deleteTenant(code)
                    print("deleted tenant \(code): keys destroyed, column families dropped")
                } catch {
                    throw CLIFailure(error.description, exitCode: error.code == .tenantNotFound ? CLIFailure.notFound : .failure)
                }
            }
        }
    }
}
