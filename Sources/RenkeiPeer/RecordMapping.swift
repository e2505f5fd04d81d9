import RenkeiCore
import RenkeiTenantStore
import RenkeiWire

/// Maps a stored resident file to the contract's `VaccinationFile`: the four
/// identity facts a requester needs (no address, no 宛名番号) and every dose.
public enum RecordMapping {
    /// The file as the wire carries it.
    public static func vaccinationFile(_ file: ResidentFile) -> Renkei_V1_VaccinationFile {
        var out = Renkei_V1_VaccinationFile()
        out.resident = summary(file.resident)
        out.doses = file.vaccinations.map(dose)
        return out
    }

    /// 氏名, 氏名カナ, 生年月日, 性別 — nothing else.
    public static func summary(_ r: Resident) -> Renkei_V1_ResidentSummary {
        var s = Renkei_V1_ResidentSummary()
        s.name = r.name
        s.nameKana = r.nameKana
        s.dateOfBirth = r.dateOfBirth.iso
        s.sex = r.sex == .male ? .male : .female
        return s
    }

    /// One dose, without 宛名番号, 請求日, VRS dates and certificate-only items.
    public static func dose(_ v: VaccinationRecord) -> Renkei_V1_VaccinationDose {
        var d = Renkei_V1_VaccinationDose()
        d.fiscalYear = Int32(v.fiscalYear)
        d.vaccinationDate = v.vaccinationDate.iso
        d.kind = switch v.kind {
        case .specialTemporary: .specialTemporary
        case .routine: .routine
        case .voluntary: .voluntary
        }
        d.doseNumber = Int32(v.doseNumber)
        d.judgement = v.judgement == .vaccinated ? .vaccinated : .screeningOnly
        d.ageAtVaccination = Int32(v.ageAtVaccination)
        d.ageAtFiscalYearEnd = Int32(v.ageAtFiscalYearEnd)
        d.medicalInstitution = v.medicalInstitution
        d.place = v.place
        d.implementationCategory = switch v.implementationCategory {
        case .individual: .individual
        case .mass: .mass
        case .workplace: .workplace
        case .visiting: .visiting
        case .other: .other
        }
        d.screeningDoctor = v.screeningDoctor
        d.vaccinatingDoctor = v.vaccinatingDoctor ?? ""
        d.vaccinationNumber = v.vaccinationNumber ?? ""
        d.manufacturer = v.manufacturer ?? ""
        d.lotNumber = v.lotNumber ?? ""
        d.doseMicroliters = UInt32(v.doseMicroliters ?? 0)
        d.reasonNotVaccinated = v.reasonNotVaccinated ?? ""
        d.notes = v.notes ?? ""
        d.vaccinatingMunicipalityCode = v.vaccinatingMunicipality.rawValue
        if let platform = v.vaccinePlatform {
            d.vaccinePlatform = switch platform {
            case .mRNA: .mrna
            case .selfAmplifyingMRNA: .selfAmplifyingMrna
            case .recombinantProtein: .recombinantProtein
            case .viralVector: .viralVector
            }
        }
        d.productName = v.productName ?? ""
        return d
    }
}
