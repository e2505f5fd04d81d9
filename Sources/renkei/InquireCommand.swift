import ArgumentParser
import Foundation
import Logging
import RenkeiCore
import RenkeiPeer
import RenkeiTenantStore
import RenkeiWire

struct InquireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inquire",
        abstract: "Ask another municipality's node over the peer protocol.",
        subcommands: [Transfer.self, InquireBulk.self]
    )

    struct Transfer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask the previous municipality for a resident's vaccination records (転入) and keep them.",
            discussion: """
            Acts as the municipality of the operator view --node DIR (DIR/operator.json, as laid out \
            by `renkei cluster up` or by the node's installer), or as --as with the node configuration \
            --config. When the node runs, the command goes through its admin socket and the node asks; \
            otherwise it opens the node's store itself. Either way --from is looked up in the signed \
            federation directory (an unsigned, tampered or expired one is refused), the connection is \
            mutual TLS, and the server's certificate must carry --from and be the one the directory \
            pins before the number is sent. The number is checked locally first (a bad check digit is \
            never sent); give it with --number or on standard input.

            A MATCH is stored in the asking municipality's tenant, marked with --from as its source, \
            and sets the person's 転入 flag when they are registered there. The inquiry and the \
            storing are written to that tenant's audit log (renkei audit verify).

            Exit codes: 0 MATCH (records printed and stored), 3 NO_MATCH, 1 failure (including a \
            wrongly routed server: the number was not sent), 64 invalid input.
            """)

        @Option(help: ArgumentHelp("The operator view of the asking municipality's node (a directory with operator.json).", valueName: "dir"))
        var node: String?

        @Option(help: ArgumentHelp("Instead of --node: the node configuration file (JSON); needs --as.", valueName: "file"))
        var config: String?

        @Option(name: .customLong("as"), help: ArgumentHelp("With --config: the asking municipality's code (hosted by the node, in its certificate).", valueName: "code"))
        var requester: String?

        @Option(help: ArgumentHelp("The previous municipality's code: the node to ask, and the tenant searched there.", valueName: "code"))
        var from: String

        @Option(help: "The 12-digit Individual Number (個人番号); read from standard input if omitted.")
        var number: String?

        @Option(help: "Why: transfer-in or certificate.")
        var purpose: String = "transfer-in"

        @Option(help: ArgumentHelp("The reference of the person's written consent (1-64 printable ASCII).", valueName: "ref"))
        var consent: String = "consent-on-file"

        func validate() throws {
            switch (node, config, requester) {
            case (.some, nil, nil), (nil, .some, .some): break
            case (.some, _, _): throw ValidationError("--node: give either --node, or --config with --as, not both")
            case (nil, .some, nil): throw ValidationError("--as: --config needs --as, the asking municipality's code")
            default: throw ValidationError("--node: say which node asks: --node DIR, or --config FILE --as CODE")
            }
        }

        func run() async throws {
            try await reportingFailuresAsync {
                let target = try municipalityCode(from, option: "--from")
                let wirePurpose: Renkei_V1_Purpose
                switch purpose {
                case "transfer-in": wirePurpose = .transferIn
                case "certificate": wirePurpose = .certificate
                default: throw CLIFailure("--purpose: must be transfer-in or certificate", exitCode: .validationFailure)
                }
                do throws(BrokenRule) {
                    try InquiryRules.checkConsentReference(consent, field: "--consent")
                } catch {
                    throw CLIFailure(error.message, exitCode: .validationFailure)
                }
                let (nodeConfig, asking) = try resolveNode()
                let individualNumber = try individualNumber(number)
                let inquiry = TransferInquiry(requester: asking, target: target, number: individualNumber,
                                              purpose: wirePurpose, consentReference: consent)
                let outcome: InquiryOutcome
                do throws(PeerError) {
                    if FileManager.default.fileExists(atPath: nodeConfig.adminSocket) {
                        outcome = try await Self.throughRunningNode(inquiry, socket: nodeConfig.adminSocket, view: node)
                    } else {
                        outcome = try await Self.withoutRunningNode(inquiry, config: nodeConfig)
                    }
                } catch {
                    let note = error.code == .misrouted && !error.message.contains("not sent") ? " (the number was not sent)" : ""
                    throw CLIFailure(error.description + note, exitCode: error.code == .invalidInput ? .validationFailure : .failure)
                }
                print(InquiryReport.render(outcome, target: target))
                if outcome.outcome != .match { throw CLIFailure.notFound }
            }
        }

        /// The node configuration and the asking municipality, from --node or --config/--as.
        func resolveNode() throws -> (NodeConfig, MunicipalityCode) {
            if let node { return try operatorView(node) }
            // validate() guarantees --config and --as here.
            return (try loadNodeConfig(config!), try municipalityCode(requester!, option: "--as"))
        }

        /// The running node asks, on its admin socket.
        static func throughRunningNode(_ inquiry: TransferInquiry, socket: String, view: String?) async throws(PeerError) -> InquiryOutcome {
            var request = Renkei_Admin_V1_InquireTransferRequest()
            request.actingCode = inquiry.requester.rawValue
            request.targetCode = inquiry.target.rawValue
            request.individualNumber = inquiry.number.digits
            request.purpose = inquiry.purpose
            request.consentReference = inquiry.consentReference
            let sent = request
            let response = try await withOperatorSession(view: view, socket: socket, sent) { signed throws(PeerError) in
                try await AdminClient.withAdmin(socket: socket) { admin in try await admin.inquireTransfer(signed) }
            }
            return InquiryOutcome(requestID: response.requestID, outcome: response.outcome, file: response.match,
                                  stored: response.stored.isEmpty ? nil : response.stored,
                                  residentRegistered: response.residentRegistered)
        }

        /// No node runs on this data directory: open its store here and ask.
        static func withoutRunningNode(_ inquiry: TransferInquiry, config: NodeConfig) async throws(PeerError) -> InquiryOutcome {
            CLILogging.bootstrap(level: .warning)
            let logger = Logger(label: "renkei.inquire")
            let store: NodeStore
            do throws(NodeError) {
                store = try NodeStore.open(NodeDirectory(config.dataDirectory), options: NodeStoreOptions(masterKey: environmentMasterKey()), logger: logger)
            } catch {
                throw PeerError(.storage, "cannot open the node's store (is a node running without its admin socket?): \(error.description)", cause: error)
            }
            let trust = try TrustSource(config: config, logger: logger)
            let result = try await TransferIn(store: store, config: config, trust: trust, logger: logger).run(inquiry)
            return InquiryOutcome(requestID: result.response.requestID, outcome: result.response.outcome, file: result.response.match,
                                  stored: result.stored?.storage.rawValue, residentRegistered: result.stored?.residentRegistered ?? false)
        }
    }
}

/// An answer as the operator sees it, whichever way it was asked.
struct InquiryOutcome {
    let requestID: String
    let outcome: Renkei_V1_Outcome
    let file: Renkei_V1_VaccinationFile
    /// How the MATCH was stored: new, replaced, unchanged.
    let stored: String?
    let residentRegistered: Bool
}

/// The requester's view of an answer.
enum InquiryReport {
    static func render(_ response: InquiryOutcome, target: MunicipalityCode) -> String {
        guard response.outcome == .match else {
            return "NO_MATCH  request \(response.requestID) to \(target)"
        }
        let r = response.file.resident
        var lines = [
            "MATCH     request \(response.requestID) from \(target)",
            "氏名      \(r.name) (\(r.nameKana))",
            "生年月日  \(r.dateOfBirth)",
            "性別      \(r.sex == .male ? "男" : r.sex == .female ? "女" : "-")",
            "doses     \(response.file.doses.count)",
        ]
        for d in response.file.doses {
            let judgement = d.judgement == .vaccinated ? "接種" : "予診のみ"
            let what = d.productName.isEmpty ? (d.manufacturer.isEmpty ? "-" : d.manufacturer) : d.productName
            lines.append("  #\(d.doseNumber)  \(d.vaccinationDate)  \(judgement)  \(what)  lot \(d.lotNumber.isEmpty ? "-" : d.lotNumber)  \(d.doseMicroliters > 0 ? "\(d.doseMicroliters)µL" : "-")  \(d.vaccinatingMunicipalityCode)")
        }
        if let stored = response.stored {
            lines.append("stored    \(stored), source \(target); " + (response.residentRegistered
                ? "転入 flag set on the registered resident"
                : "the person is not in the resident register yet: the file waits for the register import"))
        }
        return lines.joined(separator: "\n")
    }
}
