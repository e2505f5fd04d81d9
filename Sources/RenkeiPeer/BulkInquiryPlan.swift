import RenkeiCore
import RenkeiPKI

/// One row of a bulk transfer-in, as the operator's input gives it (values
/// trimmed, nil when empty). Holds personal data: never log it.
public struct BulkRow: Sendable, Equatable {
    /// The operator's row number (1-based data row), echoed in the results.
    public var index: Int
    /// 前住所地市区町村コード as written.
    public var targetCode: String?
    /// 個人番号 as written.
    public var individualNumber: String?
    /// 氏名カナ hint, if given.
    public var nameKanaHint: String?
    /// 生年月日 hint, if given.
    public var dateOfBirthHint: String?

    public init(index: Int, targetCode: String?, individualNumber: String?, nameKanaHint: String? = nil, dateOfBirthHint: String? = nil) {
        self.index = index
        self.targetCode = targetCode
        self.individualNumber = individualNumber
        self.nameKanaHint = nameKanaHint
        self.dateOfBirthHint = dateOfBirthHint
    }
}

/// What became of one row.
public enum BulkRowOutcome: String, Sendable, CaseIterable, Codable {
    /// The provider holds the person; the file was stored here.
    case match = "MATCH"
    case noMatch = "NO_MATCH"
    /// A field broke its rule (locally, or as the provider judged it).
    case invalid = "INVALID"
    /// The target's node could not be asked, or its answer could not be kept.
    case unreachable = "UNREACHABLE"
}

/// The settled result of one row: no number, no name, no file.
public struct BulkRowResult: Sendable, Equatable {
    public var index: Int
    public var outcome: BulkRowOutcome
    /// INVALID: "<field>: <rule>"; UNREACHABLE: the provider failure; else empty.
    public var reason: String
    /// MATCH: doses in the received file; else 0.
    public var doses: Int

    public init(index: Int, outcome: BulkRowOutcome, reason: String = "", doses: Int = 0) {
        self.index = index
        self.outcome = outcome
        self.reason = reason
        self.doses = doses
    }
}

/// A row that kept every rule, ready to be sent.
public struct BulkInquiryItem: Sendable, Equatable {
    public let index: Int
    public let target: MunicipalityCode
    public let number: IndividualNumber
    /// Empty when not given (the wire's "no hint").
    public let nameKanaHint: String
    /// "YYYY-MM-DD", or empty when not given.
    public let dateOfBirthHint: String

    public init(index: Int, target: MunicipalityCode, number: IndividualNumber, nameKanaHint: String = "", dateOfBirthHint: String = "") {
        self.index = index
        self.target = target
        self.number = number
        self.nameKanaHint = nameKanaHint
        self.dateOfBirthHint = dateOfBirthHint
    }
}

/// The input's field rules. Field names are the input's column names, so an
/// INVALID reason points the operator at the column to fix.
public enum BulkRowRules {
    /// Most rows in one bulk run (one input file, one admin call): a whole
    /// campaign's movers, and a bound on what the run holds in memory.
    public static let maxRowsPerRun = 1_000_000
    public static let targetField = "前住所地市区町村コード"
    public static let numberField = "個人番号"
    public static let nameKanaField = "氏名カナ"
    public static let dateOfBirthField = "生年月日"
    /// Longest 氏名カナ hint, in characters (a register's kana field is far shorter).
    public static let maxNameKanaCharacters = 100

    /// The item for `row`, or the first rule it breaks (never the value).
    /// A bad check digit is caught here, so such a number is never sent.
    public static func validate(_ row: BulkRow) -> Result<BulkInquiryItem, BrokenRule> {
        do throws(BrokenRule) {
            let target = try InquiryRules.code(row.targetCode ?? "", field: targetField)
            let number = try InquiryRules.individualNumber(row.individualNumber ?? "", field: numberField)
            var kana = ""
            if let hint = row.nameKanaHint {
                guard hint.count <= maxNameKanaCharacters else {
                    throw BrokenRule(field: nameKanaField, rule: "must be at most \(maxNameKanaCharacters) characters")
                }
                guard !hint.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                    throw BrokenRule(field: nameKanaField, rule: "must not contain control characters")
                }
                kana = hint
            }
            var dob = ""
            if let hint = row.dateOfBirthHint {
                do throws(ValidationError) {
                    dob = try LocalDate(parsing: hint, field: FieldName("dateOfBirth", dateOfBirthField)).iso
                } catch {
                    throw BrokenRule(field: dateOfBirthField, rule: error.message)
                }
            }
            return .success(BulkInquiryItem(index: row.index, target: target, number: number, nameKanaHint: kana, dateOfBirthHint: dob))
        } catch {
            return .failure(error)
        }
    }
}

/// The items for one provider node: every target code it hosts among the
/// rows, so a node hosting several requested municipalities gets one set of
/// streams (and its certificate must carry every one of them).
public struct BulkProviderGroup: Sendable, Equatable {
    public let entry: DirectoryEntry
    /// The requested codes this node hosts, ascending.
    public let targets: [MunicipalityCode]
    /// In input order.
    public let items: [BulkInquiryItem]
}

/// What a bulk run does, decided from the rows and the directory alone: the
/// rows settled before anything is sent (INVALID, or UNREACHABLE when the
/// directory lists no node for the code), and the items per provider node.
public struct BulkRequestPlan: Sendable, Equatable {
    /// Rows settled locally, in input order.
    public var settled: [BulkRowResult]
    /// Provider groups, ordered by their first row.
    public var groups: [BulkProviderGroup]

    /// Plans `rows`; `route` gives the directory entry of a code, or nil.
    public static func make(_ rows: [BulkRow], route: (MunicipalityCode) -> DirectoryEntry?) -> BulkRequestPlan {
        var settled: [BulkRowResult] = []
        var order: [DirectoryEntry] = []
        var items: [DirectoryEntry: [BulkInquiryItem]] = [:]
        var targets: [DirectoryEntry: Set<MunicipalityCode>] = [:]
        var routes: [MunicipalityCode: DirectoryEntry?] = [:]
        for row in rows {
            switch BulkRowRules.validate(row) {
            case .failure(let broken):
                settled.append(BulkRowResult(index: row.index, outcome: .invalid, reason: broken.message))
            case .success(let item):
                let entry: DirectoryEntry?
                if let known = routes[item.target] {
                    entry = known
                } else {
                    entry = route(item.target)
                    routes[item.target] = .some(entry)
                }
                guard let entry else {
                    settled.append(BulkRowResult(index: row.index, outcome: .unreachable,
                                                 reason: "the federation directory lists no node for municipality \(item.target)"))
                    continue
                }
                if items[entry] == nil { order.append(entry) }
                items[entry, default: []].append(item)
                targets[entry, default: []].insert(item.target)
            }
        }
        let groups = order.map { entry in
            BulkProviderGroup(entry: entry, targets: targets[entry, default: []].sorted { $0.rawValue < $1.rawValue },
                              items: items[entry, default: []])
        }
        return BulkRequestPlan(settled: settled, groups: groups)
    }
}

/// Puts results in input order, one per row: the order of the results file.
public enum BulkResultOrder {
    /// `results` sorted by row index. Every index in `indices` must have a
    /// result; a missing one is reported (a bug, never silently skipped).
    public static func ordered(_ results: [Int: BulkRowResult], indices: [Int]) -> Result<[BulkRowResult], BulkMissingResult> {
        var out: [BulkRowResult] = []
        out.reserveCapacity(indices.count)
        for index in indices.sorted() {
            guard let r = results[index] else { return .failure(BulkMissingResult(index: index)) }
            out.append(r)
        }
        return .success(out)
    }
}

/// A row without a result.
public struct BulkMissingResult: Error, Sendable, Equatable {
    public let index: Int
}
