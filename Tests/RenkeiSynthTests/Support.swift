import RenkeiCore
@testable import RenkeiSynth

let matsue = try! MunicipalityCode("322016")
let izumo = try! MunicipalityCode("322032")
let sapporo = try! MunicipalityCode("011002")
let chiyoda = try! MunicipalityCode("131016")
/// A valid code that no table knows: 32999 + check digit.
let unknownShimane: MunicipalityCode = {
    let first5 = [3, 2, 9, 9, 9]
    return try! MunicipalityCode("32999" + String(MunicipalityCode.checkDigit(forFirstFive: first5)))
}()

func people(_ code: MunicipalityCode, count: Int, seed: UInt64) -> [GeneratedPerson] {
    Array(PopulationGenerator(spec: PopulationSpec(municipality: code, count: count, seed: seed)))
}
