import RenkeiCore
import RenkeiTenantStore

/// The operator's view of one resident.
public enum ResidentReport {
    public static func render(_ file: ResidentFile, tenant: TenantInfo) -> String {
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
    public static func renderReceived(_ files: [ReceivedFile]) -> String {
        var lines = ["received files  \(files.count)"]
        if !files.isEmpty {
            let rows = files.map { f in [f.source.rawValue, f.receivedOn.iso, String(f.doses.count), f.requestID] }
            lines.append(Table.render(header: ["送付元", "受領日", "接種記録", "照会ID"], rows: rows))
        }
        return lines.joined(separator: "\n")
    }
}

/// Plain aligned columns for terminals.
public enum Table {
    public static func render(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        var widths = [Int](repeating: 0, count: header.count)
        for row in all { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], displayWidth(cell)) } }
        return all.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - displayWidth(cell) + 2)
            }.joined()
        }.joined(separator: "\n")
    }

    /// East Asian wide characters take two terminal columns.
    public static func displayWidth(_ s: String) -> Int {
        s.unicodeScalars.reduce(0) { $0 + ($1.value >= 0x1100 && ($1.value <= 0x115F || (0x2E80...0xFFDC).contains($1.value)) ? 2 : 1) }
    }
}
