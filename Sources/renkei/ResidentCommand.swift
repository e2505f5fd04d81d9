import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiTenantStore

struct ResidentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resident",
        abstract: "Look up residents and record moves.",
        subcommands: [Show.self, MarkMovedOut.self]
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a resident, their vaccination file and the files received for them, found by Individual Number.",
            discussion: """
            The number is looked up only in the municipality named by --code, through that \
            municipality's blind index. A number that municipality does not hold is "not found" \
            (exit code 3), even if another tenant of the node holds it. Give the number with \
            --number, or on standard input to keep it out of the shell history.
            """)

        @OptionGroup var node: NodeOptions
        @Option(help: "The municipality (tenant) to look in.")
        var code: String
        @Option(help: "The 12-digit Individual Number (個人番号); read from standard input if omitted.")
        var number: String?

        func run() throws {
            try reportingFailures {
                let code = try municipalityCode(code)
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

/// The operator's view of one resident.
enum ResidentReport {
    static func render(_ file: ResidentFile, tenant: TenantInfo) -> String {
        let r = file.resident
        var lines = [
            "municipality  \(tenant.code) \(tenant.name)",
            "宛名番号      \(r.addressNumber.digits)",
            "個人番号      \(r.individualNumber.digits)",
            "氏名          \(r.name) (\(r.nameKana))",
            "生年月日      \(r.dateOfBirth.iso)",
            "性別          \(r.sex.japanese)",
            "住所          \(r.address)",
        ]
        lines.append("転入          " + (r.movedIn.map { "\($0.date.iso) from \($0.otherMunicipality)" } ?? "-"))
        lines.append("転出          " + (r.movedOut.map { "\($0.date.iso) to \($0.otherMunicipality)" } ?? "-"))
        if let d = r.deceasedOn { lines.append("死亡          \(d.iso)") }
        lines.append("")
        lines.append("vaccinations  \(file.vaccinations.count)")
        if !file.vaccinations.isEmpty {
            let rows = file.vaccinations.map { v in
                [String(v.doseNumber), v.vaccinationDate.iso, v.judgement.rawValue, v.kind.rawValue,
                 v.productName ?? v.manufacturer ?? "-", v.lotNumber ?? "-",
                 v.doseMicroliters.map { VaccinationCSVFormat.formatMilliliters($0) + "mL" } ?? "-",
                 v.medicalInstitution, String(v.ageAtVaccination)]
            }
            lines.append(Table.render(header: ["回", "接種日", "判定", "種別", "製品", "Lot", "量", "医療機関", "年齢"], rows: rows))
        }
        return lines.joined(separator: "\n")
    }

    /// Files received from other municipalities (転入): who sent them, when, how many doses.
    static func renderReceived(_ files: [ReceivedFile]) -> String {
        var lines = ["received files  \(files.count)"]
        if !files.isEmpty {
            let rows = files.map { f in [f.source.rawValue, f.receivedOn.iso, String(f.doses.count), f.requestID] }
            lines.append(Table.render(header: ["送付元", "受領日", "接種記録", "照会ID"], rows: rows))
        }
        return lines.joined(separator: "\n")
    }
}
