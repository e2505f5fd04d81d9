import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiPeer
import RenkeiWire

struct InquireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inquire",
        abstract: "Ask another municipality's node over the peer protocol.",
        subcommands: [Transfer.self]
    )

    struct Transfer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask the previous municipality for a resident's vaccination records (転入).",
            discussion: """
            Acts as municipality --as with the node's own certificate (from --config). Looks --from \
            up in the signed federation directory (an unsigned, tampered or expired directory is \
            refused), connects with mutual TLS and checks during the handshake that the server's \
            certificate carries --from and is the one the directory pins, before the number is sent. \
            The number is checked locally first (a bad check digit is never sent); give it with \
            --number or on standard input.

            Exit codes: 0 MATCH (records printed), 3 NO_MATCH, 1 failure (including a wrongly routed \
            server: the number was not sent), 64 invalid input.
            """)

        @Option(help: ArgumentHelp("The node configuration file (JSON) whose certificate and directory are used.", valueName: "file"))
        var config: String

        @Option(name: .customLong("as"), help: ArgumentHelp("The asking municipality's code (must be in the node's certificate).", valueName: "code"))
        var requester: String

        @Option(help: ArgumentHelp("The previous municipality's code: the node to ask, and the tenant searched there.", valueName: "code"))
        var from: String

        @Option(help: "The 12-digit Individual Number (個人番号); read from standard input if omitted.")
        var number: String?

        @Option(help: "Why: transfer-in or certificate.")
        var purpose: String = "transfer-in"

        @Option(help: ArgumentHelp("The reference of the person's written consent (1-64 printable ASCII).", valueName: "ref"))
        var consent: String = "consent-on-file"

        func run() async throws {
            try await reportingFailuresAsync {
                let requester = try municipalityCode(requester, option: "--as")
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
                if number == nil, isatty(STDIN_FILENO) == 1 {
                    FileHandle.standardError.write(Data("個人番号: ".utf8))
                }
                let text = number ?? (readLine(strippingNewline: true) ?? "")
                let individualNumber: IndividualNumber
                do throws(RenkeiCore.ValidationError) {
                    individualNumber = try IndividualNumber(text.trimmingCharacters(in: .whitespaces))
                } catch {
                    throw CLIFailure("--number: \(error.message)", exitCode: .validationFailure)
                }
                let nodeConfig = try loadNodeConfig(config)
                let inquiry = TransferInquiry(requester: requester, target: target, number: individualNumber,
                                              purpose: wirePurpose, consentReference: consent)
                let response: Renkei_V1_TransferInquiryResponse
                do throws(PeerError) {
                    response = try await TransferInquiryClient.inquire(inquiry, config: nodeConfig)
                } catch {
                    let note = error.code == .misrouted ? " (the number was not sent)" : ""
                    throw CLIFailure(error.description + note)
                }
                print(InquiryReport.render(response, target: target))
                if response.outcome != .match { throw CLIFailure.notFound }
            }
        }
    }
}

/// The requester's view of an answer.
enum InquiryReport {
    static func render(_ response: Renkei_V1_TransferInquiryResponse, target: MunicipalityCode) -> String {
        guard response.outcome == .match else {
            return "NO_MATCH  request \(response.requestID) to \(target)"
        }
        let r = response.match.resident
        var lines = [
            "MATCH     request \(response.requestID) from \(target)",
            "氏名      \(r.name) (\(r.nameKana))",
            "生年月日  \(r.dateOfBirth)",
            "性別      \(r.sex == .male ? "男" : r.sex == .female ? "女" : "-")",
            "doses     \(response.match.doses.count)",
        ]
        for d in response.match.doses {
            let judgement = d.judgement == .vaccinated ? "接種" : "予診のみ"
            let what = d.productName.isEmpty ? (d.manufacturer.isEmpty ? "-" : d.manufacturer) : d.productName
            lines.append("  #\(d.doseNumber)  \(d.vaccinationDate)  \(judgement)  \(what)  lot \(d.lotNumber.isEmpty ? "-" : d.lotNumber)  \(d.doseMicroliters > 0 ? "\(d.doseMicroliters)µL" : "-")  \(d.vaccinatingMunicipalityCode)")
        }
        return lines.joined(separator: "\n")
    }
}
