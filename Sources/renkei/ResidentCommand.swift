import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiWire
import RenkeiTenantStore
import RenkeiPeer

struct ResidentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resident",
        abstract: "Look up residents and record moves.",
        subcommands: [Show.self, MarkMovedOut.self, Delete.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a resident, their vaccination file and the files received for them, found by Individual Number.",
            discussion: """
            The number is looked up only in the municipality named by --code, through that \
            municipality's blind index. A number that municipality does not hold is "not found" \
            (exit code 3), even if another tenant of the node holds it. Give the number with \
            --number, or on standard input to keep it out of the shell history.

            With --node DIR the running node looks the number up for a logged-in clerk and writes a \
            resident-viewed entry (the number's blind index, never the number) to the operation log.
            """)

        @OptionGroup var place: NodeOrViewOptions
        @Option(help: "With --data: the municipality (tenant) to look in.")
        var code: String?
        @Option(help: "The 12-digit Individual Number (個人番号); read from standard input if omitted.")
        var number: String?

        var node: NodeOptions { place.offline }

        func validate() throws { try place.check(code: code) }

        func run() async throws {
            if let view = place.node {
                try await reportingFailuresAsync {
                    let target = try ViewTarget(view)
                    var request = Renkei_Admin_V1_ResidentShowRequest()
                    request.actingCode = target.acting.rawValue
                    request.individualNumber = try individualNumber(number).digits
                    let answer = try await target.call(request) { client, call in
                        return try await Renkei_Admin_V1_Records.Client(wrapping: client).residentShow(call)
                    }
                    guard answer.found else {
                        throw CLIFailure("no resident with this 個人番号 in municipality \(target.acting)", exitCode: CLIFailure.notFound)
                    }
                    print(answer.report)
                }
                return
            }
            try reportingFailures {
                let code = try municipalityCode(code!)
                let number = try individualNumber(number)
                let store = try node.openStore()
                let tenant: TenantPartition
                let file: ResidentFile?
                let received: [ReceivedFile]
                do throws(NodeError) {
                    tenant = try store.tenant(code)
                    file = try tenant.residentFile(number: number)
                    received = try tenant.receivedFiles(number: number)
                } catch {
                    throw CLIFailure(error.description, exitCode: error.code == .tenantNotFound ? CLIFailure.notFound : .failure)
                }
                guard file != nil || !received.isEmpty else {
                    throw CLIFailure("no resident with this 個人番号 in municipality \(code)", exitCode: CLIFailure.notFound)
                }
                var report = file.map { ResidentReport.render($0, tenant: tenant.info) }
                    ?? "municipality  \(tenant.info.code) \(tenant.info.name)\nno resident registered with this 個人番号"
                report += "\n\n" + ResidentReport.renderReceived(received)
                print(report)
            }
        }
    }
}

extension ResidentCommand {
    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete everything the municipality holds for one person (administrator, through the running node).",
            discussion: """
            Removes the resident record, its number index entry, every vaccination record and every file \
            received for the person, in one atomic write, and writes a resident-deleted entry (the number's \
            blind index, never the number) to the operation log. Only an administrator of the view's \
            municipality may; anyone else is refused and the attempt is logged. The deleted values stay, as \
            ciphertext, in older vault snapshots until retention drops them. Give the number with --number, \
            or on standard input. Cannot be undone: add --confirm.

            Exit codes: 0 deleted, 3 nothing held for the number, 4 not allowed, 64 an invalid option.
            """)

        @Option(help: ArgumentHelp("The operator view of the running node.", valueName: "dir"))
        var node: String
        @Option(help: "The 12-digit Individual Number (個人番号); read from standard input if omitted.")
        var number: String?
        @Flag(help: "Confirm the deletion.")
        var confirm = false

        func validate() throws {
            guard confirm else { throw ValidationError("--confirm: deleting a person's records cannot be undone; add --confirm") }
        }

        func run() async throws {
            try await reportingFailuresAsync {
                let target = try ViewTarget(node)
                var request = Renkei_Admin_V1_ResidentDeleteRequest()
                request.actingCode = target.acting.rawValue
                request.individualNumber = try individualNumber(number).digits
                let answer = try await target.call(request) { client, call in
                    return try await Renkei_Admin_V1_Records.Client(wrapping: client).residentDelete(call)
                }
                guard answer.found else {
                    throw CLIFailure("municipality \(target.acting) holds nothing for this 個人番号 (operation-log entry \(answer.auditSequence))",
                                     exitCode: CLIFailure.notFound)
                }
                print("deleted from \(target.acting): the resident record, \(answer.vaccinationsDeleted) vaccination records, \(answer.receivedFilesDeleted) received files (operation-log entry \(answer.auditSequence))")
            }
        }
    }
}
