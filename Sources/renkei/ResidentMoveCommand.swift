import ArgumentParser
import Foundation
import Logging
import RenkeiAudit
import RenkeiCore
import RenkeiPeer
import RenkeiTenantStore
import RenkeiWire

extension ResidentCommand {
    struct MarkMovedOut: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mark-moved-out",
            abstract: "Mark a resident as moved out (転出) to another municipality.",
            discussion: """
            Acts as the municipality of the operator view --node DIR, or as --code in the node data \
            directory --data. When the node runs (its admin socket exists) the node does it; \
            otherwise the store is opened here. The resident and their vaccination records stay, \
            because this municipality still answers inquiries about them. Every call writes a \
            moved-out-marked entry to the municipality's audit log, with the number's blind index, \
            never the number. Give the number with --number, or on standard input to keep it out of \
            the shell history.

            Exit codes: 0 marked (or already marked), 2 a date the resident's record cannot take \
            (before their birth or move-in), 3 no such resident, 64 an invalid option value.
            """)

        @Option(help: ArgumentHelp("The operator view of the municipality's node (a directory with operator.json).", valueName: "dir"))
        var node: String?
        @Option(help: ArgumentHelp("Instead of --node: the node data directory (no node running on it); needs --code.", valueName: "dir"))
        var data: String?
        @Option(help: "With --data: the municipality (tenant) the resident is registered in.")
        var code: String?
        @Option(help: "The 12-digit Individual Number (個人番号); read from standard input if omitted.")
        var number: String?
        @Option(help: "The municipality code the resident moved to (転出先).")
        var to: String
        @Option(help: "The move-out date (転出日), YYYY-MM-DD. Default: today in Japan.")
        var on: String?

        func validate() throws {
            switch (node, data, code) {
            case (.some, nil, nil), (nil, .some, .some): break
            case (.some, _, _): throw ValidationError("--node: give either --node, or --data with --code, not both")
            case (nil, .some, nil): throw ValidationError("--code: --data needs --code, the resident's municipality")
            default: throw ValidationError("--node: say where: --node DIR, or --data DIR --code CODE")
            }
        }

        func run() async throws {
            try await reportingFailuresAsync {
                let destination = try municipalityCode(to, option: "--to")
                let date: LocalDate
                do throws(RenkeiCore.ValidationError) {
                    date = try on.map { (text) throws(RenkeiCore.ValidationError) in try LocalDate(parsing: text) } ?? .todayInJapan()
                } catch {
                    throw CLIFailure("--on: \(error.message)", exitCode: .validationFailure)
                }
                let (config, acting) = try resolve()
                let individualNumber = try individualNumber(number)

                let outcome: Renkei_Admin_V1_MarkMovedOutResponse.Result
                let sequence: UInt64
                do throws(PeerError) {
                    if let config, FileManager.default.fileExists(atPath: config.adminSocket) {
                        var request = Renkei_Admin_V1_MarkMovedOutRequest()
                        request.actingCode = acting.rawValue
                        request.individualNumber = individualNumber.digits
                        request.toCode = destination.rawValue
                        request.movedOutOn = date.iso
                        let sent = request
                        let response = try await withOperatorSession(view: node, socket: config.adminSocket, sent) { signed throws(PeerError) in
                            try await AdminClient.withAdmin(socket: config.adminSocket) { try await $0.markMovedOut(signed) }
                        }
                        (outcome, sequence) = (response.result, response.auditSequence)
                    } else {
                        let dataDirectory = config?.dataDirectory ?? data!
                        CLILogging.bootstrap(level: .warning)
                        let store: NodeStore
                        do throws(NodeError) {
                            store = try NodeStore.open(NodeDirectory(dataDirectory), options: NodeStoreOptions(masterKey: environmentMasterKey()),
                                                       logger: Logger(label: "renkei"))
                        } catch {
                            throw PeerError(.storage, error.description, cause: error)
                        }
                        let result = try MoveOut.mark(store: store, code: acting, number: individualNumber, to: destination, on: date)
                        outcome = switch result.outcome {
                        case .marked: .marked
                        case .alreadyMarked: .alreadyMarked
                        case .notFound: .notFound
                        }
                        sequence = result.auditEntry.seq
                    }
                } catch {
                    throw CLIFailure(error.description, exitCode: error.code == .invalidInput ? CLIFailure.rejected : .failure)
                }
                switch outcome {
                case .notFound:
                    throw CLIFailure("no resident with this 個人番号 in municipality \(acting) (audit entry \(sequence))", exitCode: CLIFailure.notFound)
                case .alreadyMarked:
                    print("already marked as moved out to \(destination) on \(date.iso) (audit entry \(sequence))")
                default:
                    print("marked as moved out to \(destination) on \(date.iso) (audit entry \(sequence))")
                }
            }
        }

        /// The node configuration (with --node) and the municipality acted as.
        func resolve() throws -> (NodeConfig?, MunicipalityCode) {
            if let node {
                let view = try operatorView(node)
                return (view.config, view.actsAs)
            }
            return (nil, try municipalityCode(code!))
        }
    }
}
