import RenkeiCore

/// Walks one person through the campaign's rounds and writes their
/// vaccination file.
struct DoseHistoryBuilder: Sendable {
    /// The facts about a person that their doses depend on.
    struct Person {
        let dob: LocalDate
        let dobDay: Int
        let kana: String
        let addressNumber: AddressNumber
        /// No dose after this day (asOf, or the day before death or move-out).
        let lastDay: Int
        /// Doses before this day were given by the previous municipality.
        let movedInDay: Int?
        let previousMunicipality: MunicipalityCode?
    }

    /// One planned entry in the file, before it becomes a record.
    private struct Event {
        let day: Int
        let doseNumber: Int
        let product: CatalogEntry?
        let category: ImplementationCategory
        let institution: Institution
        let reasonNotVaccinated: String?
    }

    /// Phases in ProductChooser order: children, primary, then the boosters.
    private let phases: [CampaignPhase]
    private let chooser: ProductChooser

    static let screeningReasons = [
        "発熱のため", "体調不良のため", "予診の結果、接種不適当と判断", "本人の希望により中止", "接種間隔不足のため", "血圧高値のため",
    ]
    static let certificateStart = day(2021, 7, 26)
    /// Under the 6-month rule a third dose came ≥ 183 days after the second;
    /// from March 2022 five months sufficed.
    static let fiveMonthRuleFrom = day(2022, 3, 1)

    init() {
        phases = [CampaignSchedule.children, CampaignSchedule.primary] + CampaignSchedule.boosters
        chooser = ProductChooser(phases: phases)
    }

    func build(_ p: Person, context: GenerationContext, _ rng: inout SeededGenerator) -> [VaccinationRecord] {
        // Most people never get a dose past asOf or past their last day; the
        // first round starts in 2021.
        guard p.lastDay >= CampaignSchedule.elderlyPrimaryStart else { return [] }
        let willingness = rng.below(1000)
        let isElderly = p.dob.age(on: LocalDate(daysSinceEpoch: CampaignSchedule.elderlyPriorityReference)) >= 65
        let ageAtChildrenStart = p.dob.age(on: LocalDate(daysSinceEpoch: CampaignSchedule.childrenReference))
        // A regular clinic: most people go back to the same doctor.
        let homeClinic = rng.pick(context.institutions.clinics)

        let turning12 = Self.dayTurning(12, dob: p.dob)
        var events: [Event] = []
        events.reserveCapacity(10)
        var doses = 0
        var lastDoseDay = Int.min

        phaseLoop: for (phaseIndex, phase) in phases.enumerated() {
            if phaseIndex == 0 && ageAtChildrenStart >= 12 { continue }
            if phaseIndex == 1 && ageAtChildrenStart < 12 { continue }
            guard doses >= phase.requiresDoses else { continue }
            let ageAtStart = max(phase.minAge, p.dob.age(on: phase.startDate))
            guard willingness < phase.uptake(age: ageAtStart) else { continue }

            var d: Int
            if phaseIndex == 1 && isElderly {
                d = phase.sampleDay(start: CampaignSchedule.elderlyPrimaryStart,
                                    peakEnd: CampaignSchedule.elderlyPrimaryPeakEnd, &rng)
            } else {
                d = phase.sampleDay(start: phase.start, peakEnd: phase.peakEnd, &rng)
            }
            d = max(d, phase.minAge == 12 ? turning12 : Self.dayTurning(phase.minAge, dob: p.dob))
            if doses > 0 {
                d = max(d, lastDoseDay + phase.minGapDays)
                if phaseIndex == 2 && d < Self.fiveMonthRuleFrom { d = max(d, lastDoseDay + 183) }
            }
            if d > phase.end { continue }
            // A round's late tail can run past the start of later rounds, so
            // a later round may still fit before the last day.
            if d > p.lastDay { continue }
            let ageOnDay = p.dob.age(on: LocalDate(daysSinceEpoch: d))
            if ageOnDay > phase.maxAge { continue }

            let (category, institution) = Self.site(phaseIndex: phaseIndex, age: ageOnDay, home: homeClinic,
                                                     context.institutions, &rng)
            let preferModerna = category == .workplace || (category == .mass && rng.chance(perMille: 300))
            guard let product = chooser.choose(phaseIndex: phaseIndex, day: d, preferModerna: preferModerna, &rng) else {
                continue
            }
            Self.maybeScreening(before: d, dose: doses + 1, after: events.last?.day ?? p.dobDay,
                                category: category, institution: institution, into: &events, &rng)
            doses += 1
            events.append(Event(day: d, doseNumber: doses, product: product, category: category,
                                institution: institution, reasonNotVaccinated: nil))
            lastDoseDay = d

            if phase.doses == 2 {
                // About 1% stopped after a first dose (side effects, illness).
                if rng.chance(perMille: 10) { continue }
                let d2 = d + product.secondDoseInterval + rng.below(8)
                // Every later dose would come even later.
                if d2 > p.lastDay { break phaseLoop }
                let product2 = product.isInUse(onDay: d2)
                    ? product : chooser.choose(phaseIndex: phaseIndex, day: d2, preferModerna: false, &rng)
                guard let product2 else { continue }
                doses += 1
                events.append(Event(day: d2, doseNumber: doses, product: product2, category: category,
                                    institution: institution, reasonNotVaccinated: nil))
                lastDoseDay = d2
            }
        }
        return records(events, p, context, &rng)
    }

    /// The day someone born on `dob` turns `age` (29 February birthdays
    /// count from 1 March in common years, as `LocalDate.age(on:)` does).
    static func dayTurning(_ age: Int, dob: LocalDate) -> Int {
        let year = dob.year + age
        if dob.month == 2 && dob.day == 29 && !LocalDate.isLeap(year) {
            return try! LocalDate(year: year, month: 3, day: 1).daysSinceEpoch
        }
        return try! LocalDate(year: year, month: dob.month, day: dob.day).daysSinceEpoch
    }

    /// Where a dose was given: mass sites and workplaces in the big early
    /// rounds, care-home visits for the very old, the family clinic otherwise.
    private static func site(phaseIndex: Int, age: Int, home: Institution, _ dir: InstitutionDirectory,
                             _ rng: inout SeededGenerator) -> (ImplementationCategory, Institution) {
        if age >= 80, rng.chance(perMille: 120) { return (.visiting, rng.pick(dir.careHomes)) }
        if phaseIndex <= 2, age >= 18, age < 65, rng.chance(perMille: 150) { return (.workplace, rng.pick(dir.workplaces)) }
        let massShare = phaseIndex == 1 ? 300 : (phaseIndex == 2 ? 200 : (phaseIndex == 7 ? 0 : 100))
        if rng.chance(perMille: massShare) { return (.mass, rng.pick(dir.massSites)) }
        if rng.chance(perMille: 650) { return (.individual, home) }
        if rng.chance(perMille: 250) { return (.individual, rng.pick(dir.hospitals)) }
        return (.individual, rng.pick(dir.clinics))
    }

    /// About 1% of visits ended at the screening: a 予診のみ record some days
    /// before the dose that was given later, with the same dose number.
    private static func maybeScreening(before d: Int, dose: Int, after previous: Int, category: ImplementationCategory,
                                       institution: Institution, into events: inout [Event], _ rng: inout SeededGenerator) {
        guard rng.chance(perMille: 10) else { return }
        let s = d - rng.between(3...14)
        guard s > previous else { return }
        events.append(Event(day: s, doseNumber: dose, product: nil, category: category, institution: institution,
                            reasonNotVaccinated: rng.pick(screeningReasons)))
    }

    private func records(_ events: [Event], _ p: Person, _ context: GenerationContext,
                         _ rng: inout SeededGenerator) -> [VaccinationRecord] {
        guard !events.isEmpty else { return [] }

        // About 0.5% asked for a vaccination certificate (接種証明書), e.g. to travel.
        var certificateDay: Int?
        var certificateID: String?
        var passport: PassportDetails?
        // rng.pick, not randomElement(using:): the standard library's choice
        // of algorithm is not promised to stay the same across versions.
        if rng.chance(perMille: 5), case let given = events.filter({ $0.product != nil }), !given.isEmpty {
            let given = rng.pick(given)
            let issued = max(given.day + rng.between(1...60), Self.certificateStart)
            if issued <= p.lastDay {
                certificateDay = issued
                certificateID = context.code.rawValue + "-" + zeroPadded(UInt64(rng.below(100_000_000)), width: 8)
                passport = PassportDetails(romanName: Romanization.passportName(fromKatakana: p.kana), nationality: "JPN",
                                           passportNumber: "TK" + zeroPadded(UInt64(rng.below(10_000_000)), width: 7))
            }
        }

        var out: [VaccinationRecord] = []
        out.reserveCapacity(events.count)
        for e in events {
            let date = LocalDate(daysSinceEpoch: e.day)
            let age = p.dob.age(on: date)
            let fiscalYear = date.fiscalYear
            // Age on 31 March closing the fiscal year, without building the date.
            let ageAtFiscalYearEnd = fiscalYear + 1 - p.dob.year - ((3, 31) < (p.dob.month, p.dob.day) ? 1 : 0)
            let billing = date.month == 12
                ? try! YearMonth(year: date.year + 1, month: 1)
                : try! YearMonth(year: date.year, month: date.month + 1)
            let municipality = (p.movedInDay.map { e.day < $0 } ?? false) ? p.previousMunicipality! : context.code
            let screeningDoctor = e.institution.doctors.isEmpty
                ? rng.pick(context.institutions.allDoctors) : rng.pick(e.institution.doctors)
            let imported = min(e.day + rng.skewedIndex(8), context.asOfDay)
            // Dose-only fields, decided before the record is built so that
            // the record is constructed once, in place, never copied.
            let entry = e.product
            var vaccinatingDoctor: String?
            var lot: String?
            var microliters: Int?
            var notes: String?
            var certified = false
            if let entry {
                vaccinatingDoctor = rng.chance(perMille: 800) || e.institution.doctors.count < 2
                    ? screeningDoctor : rng.pick(e.institution.doctors)
                lot = entry.lot(day: e.day, &rng)
                // Children under 12 had Pfizer's paediatric formulation, 0.2 mL.
                microliters = age < 12 && entry.isPfizer ? 200 : entry.product.adultDoseMicroliters
                if rng.chance(perMille: 5) { notes = "接種後30分経過観察" }
                if let certificateDay, e.day <= certificateDay { certified = true }
            }
            out.append(VaccinationRecord(
                fiscalYear: fiscalYear, addressNumber: p.addressNumber, vaccinationDate: date,
                kind: CampaignSchedule.kind(onDay: e.day, age: age), doseNumber: e.doseNumber,
                judgement: entry == nil ? .screeningOnly : .vaccinated,
                ageAtVaccination: age, ageAtFiscalYearEnd: ageAtFiscalYearEnd,
                // A month not yet reached at asOf has not been billed.
                billingMonth: billing > context.asOfMonth ? nil : billing,
                medicalInstitution: e.institution.name, place: e.institution.place,
                implementationCategory: e.category, screeningDoctor: screeningDoctor,
                vaccinatingDoctor: vaccinatingDoctor, vaccinationNumber: p.addressNumber.digits,
                manufacturer: entry?.product.manufacturer, lotNumber: lot, doseMicroliters: microliters,
                reasonNotVaccinated: e.reasonNotVaccinated, notes: notes,
                vaccinatingMunicipality: municipality, vrsImportedOn: LocalDate(daysSinceEpoch: imported),
                vaccinePlatform: entry?.product.platform, productName: entry?.product.productName,
                passport: certified ? passport : nil, certificateID: certified ? certificateID : nil,
                certificateIssuedOn: certified ? certificateDay.map { LocalDate(daysSinceEpoch: $0) } : nil))
        }
        return out
    }
}
