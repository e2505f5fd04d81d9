import ArgumentParser
import Foundation
import RenkeiAudit
import RenkeiCore
import RenkeiTenantStore

extension ResidentCommand {
    struct MarkMovedOut: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mark-moved-out",
            abstract: "Mark a resident as moved out (転出) to another municipality.",
            discussion: """
            Offline: opens the node data directory, so no node process may be running on it. \
            The resident and their vaccination records stay, because this municipality still \
            answers inquiries about them. Every call writes a moved-out-marked entry to the \
            municipality's audit log, with the number's blind index, never the number. Give the \
            number with --number, or on standard input to keep it out of the shell history.

            Exit codes: 0 marked (or already marked), 2 a date the resident's record cannot take \
            (before their birth or move-in), 3 no such resident, 64 an invalid option value.
            """)

        @OptionGroup var node: NodeOptions
        @Option(help: "The municipality (tenant) the resident is registered in.")
        var code: String
        @Option(help: "The 12-digit Individual Number (個人番号); read from standard input if omitted.")
        var number: String?
        @Option(help: "The municipality code the resident moved to (転出先).")
        var to: String
        @Option(help: "The move-out date (転出日), YYYY-MM-DD. Default: today in Japan.")
        var on: String?

        func run() throws {
            try reportingFailures {
                let code = try municipalityCode(code)
                let destination = try municipalityCode(to, option: "--to")
                let date: LocalDate
                do throws(RenkeiCore.ValidationError) {
                    date = try on.map { (text) throws(RenkeiCore.ValidationError) in try LocalDate(parsing: text) } ?? Self.todayInJapan()
                } catch {
                    throw CLIFailure("--on: \(error.message)", exitCode: .validationFailure)
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

                let store = try node.openStore()
                let tenant: TenantPartition
                let log: AuditLog
                do throws(NodeError) {
                    tenant = try store.tenant(code)
                    // Opened before the change, so a log that cannot be
                    // written stops the change instead of leaving it unrecorded.
                    log = try store.auditLog(code)
                } catch {
                    throw CLIFailure(error.description, exitCode: error.code == .tenantNotFound ? CLIFailure.notFound : .failure)
                }
                var entry = AuditRecord(event: .movedOutMarked, outcome: .error, targetCode: destination,
                                        numberIndex: tenant.numberIndexHex(individualNumber), detail: "on \(date.iso)")
                let outcome: MoveMarkOutcome
                do throws(NodeError) {
                    outcome = try tenant.markMovedOut(number: individualNumber, to: destination, on: date)
                } catch {
                    entry.outcome = error.code == .invalidArgument ? .invalidArgument : .error
                    try record(entry, in: log)
                    throw CLIFailure(error.description, exitCode: error.code == .invalidArgument ? CLIFailure.rejected : .failure)
                }
                switch outcome {
                case .notFound:
                    entry.outcome = .notFound
                    try record(entry, in: log)
                    throw CLIFailure("no resident with this 個人番号 in municipality \(code)", exitCode: CLIFailure.notFound)
                case .alreadyMarked:
                    entry.outcome = .alreadyMarked
                    let written = try record(entry, in: log)
                    print("already marked as moved out to \(destination) on \(date.iso) (audit entry \(written.seq))")
                case .marked(let previous):
                    entry.outcome = .marked
                    let written = try record(entry, in: log)
                    let replaced = previous.map { " (replacing: to \($0.otherMunicipality) on \($0.date.iso))" } ?? ""
                    print("marked as moved out to \(destination) on \(date.iso)\(replaced) (audit entry \(written.seq))")
                }
            }
        }

        @discardableResult
        private func record(_ entry: AuditRecord, in log: AuditLog) throws -> AuditEntry {
            do throws(AuditError) {
                return try log.append(entry)
            } catch {
                throw CLIFailure("the audit entry could not be written: \(error.description)")
            }
        }

        /// Municipal dates are Japanese calendar days, whatever the machine's time zone.
        static func todayInJapan() -> LocalDate {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "Asia/Tokyo")!
            let c = calendar.dateComponents([.year, .month, .day], from: Date())
            // The calendar's own date is always a valid one.
            return try! LocalDate(year: c.year!, month: c.month!, day: c.day!)
        }
    }
}
