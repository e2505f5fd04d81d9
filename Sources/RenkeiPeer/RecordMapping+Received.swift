import RenkeiCore
import RenkeiWire

/// Why a received file could not be kept: the field and rule, never a value.
public struct ReceivedFileError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

extension RecordMapping {
    /// The requester's side: a MATCH's `VaccinationFile` as a `ReceivedFile`
    /// marked with its source municipality, checked against the record rules
    /// (a provider's bad file is refused, not stored half-right).
    public static func receivedFile(
        _ file: Renkei_V1_VaccinationFile, source: MunicipalityCode, requestID: String,
        number: IndividualNumber, receivedOn: LocalDate
    ) throws(ReceivedFileError) -> ReceivedFile {
        do throws(ValidationError) {
            let r = file.resident
            let sex: Sex = switch r.sex {
            case .male: .male
            case .female: .female
            default: throw ValidationError(field: Sex.field.description, rule: .unknownValue, message: "must be MALE or FEMALE in a MATCH")
            }
            var doses: [ReceivedDose] = []
            for (i, d) in file.doses.enumerated() {
                do throws(ValidationError) {
                    doses.append(try receivedDose(d))
                } catch {
                    throw ValidationError(field: "doses[\(i)].\(error.field)", rule: error.rule, message: error.message)
                }
            }
            return try ReceivedFile(
                source: source, requestID: requestID, receivedOn: receivedOn, individualNumber: number,
                name: r.name, nameKana: r.nameKana,
                dateOfBirth: try LocalDate(parsing: r.dateOfBirth, field: Resident.Field.dateOfBirth),
                sex: sex, doses: doses)
        } catch {
            throw ReceivedFileError(message: "\(error.field): \(error.message)")
        }
    }

    static func receivedDose(_ d: Renkei_V1_VaccinationDose) throws(ValidationError) -> ReceivedDose {
        typealias F = VaccinationRecord.Field
        let kind: VaccinationKind = switch d.kind {
        case .specialTemporary: .specialTemporary
        case .routine: .routine
        case .voluntary: .voluntary
        default: throw ValidationError(field: F.kind.description, rule: .unknownValue, message: "is not a known 接種種別")
        }
        let judgement: VaccinationJudgement = switch d.judgement {
        case .vaccinated: .vaccinated
        case .screeningOnly: .screeningOnly
        default: throw ValidationError(field: F.judgement.description, rule: .unknownValue, message: "is not a known 接種判定")
        }
        let category: ImplementationCategory = switch d.implementationCategory {
        case .individual: .individual
        case .mass: .mass
        case .workplace: .workplace
        case .visiting: .visiting
        case .other: .other
        default: throw ValidationError(field: F.implementationCategory.description, rule: .unknownValue, message: "is not a known 実施区分")
        }
        let platform: VaccinePlatform? = switch d.vaccinePlatform {
        case .mrna: .mRNA
        case .selfAmplifyingMrna: .selfAmplifyingMRNA
        case .recombinantProtein: .recombinantProtein
        case .viralVector: .viralVector
        default: nil
        }
        func optional(_ s: String) -> String? { s.isEmpty ? nil : s }
        return ReceivedDose(
            fiscalYear: Int(d.fiscalYear),
            vaccinationDate: try LocalDate(parsing: d.vaccinationDate, field: F.vaccinationDate),
            kind: kind, doseNumber: Int(d.doseNumber), judgement: judgement,
            ageAtVaccination: Int(d.ageAtVaccination), ageAtFiscalYearEnd: Int(d.ageAtFiscalYearEnd),
            medicalInstitution: d.medicalInstitution, place: d.place, implementationCategory: category,
            screeningDoctor: d.screeningDoctor, vaccinatingDoctor: optional(d.vaccinatingDoctor),
            vaccinationNumber: optional(d.vaccinationNumber), manufacturer: optional(d.manufacturer),
            lotNumber: optional(d.lotNumber), doseMicroliters: d.doseMicroliters == 0 ? nil : Int(d.doseMicroliters),
            reasonNotVaccinated: optional(d.reasonNotVaccinated), notes: optional(d.notes),
            vaccinatingMunicipality: try MunicipalityCode(d.vaccinatingMunicipalityCode, field: F.vaccinatingMunicipality),
            vaccinePlatform: platform, productName: optional(d.productName))
    }
}
