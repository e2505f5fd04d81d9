import RenkeiCore

/// A tenant (municipality) hosted by the node, as kept in the node's metadata.
public struct TenantInfo: Codable, Sendable, Equatable {
    public var code: MunicipalityCode
    /// The municipality's name, e.g. 松江市. Public information, not personal data.
    public var name: String
    public var createdAt: String

    public init(code: MunicipalityCode, name: String, createdAt: String) {
        self.code = code
        self.name = name
        self.createdAt = createdAt
    }
}

/// Record counts of a tenant, maintained atomically with every write.
public struct TenantCounts: Sendable, Equatable, Codable {
    public var residents: Int = 0
    public var vaccinations: Int = 0
    /// Files received from other municipalities (one per person and source).
    public var receivedFiles: Int = 0
    public init(residents: Int = 0, vaccinations: Int = 0, receivedFiles: Int = 0) {
        self.residents = residents
        self.vaccinations = vaccinations
        self.receivedFiles = receivedFiles
    }
}

/// The column families that make up one tenant's logically separated area.
public enum TenantColumnFamily: String, CaseIterable, Sendable {
    /// blind(宛名番号) → sealed resident
    case residents
    /// blind(個人番号) → blind(宛名番号) of the resident
    case numberIndex = "number-index"
    /// blind(宛名番号) ‖ blind(dose identity)[0..<16] → sealed vaccination record
    case vaccinations
    /// blind(個人番号) ‖ source municipality code → sealed received file (転入).
    /// Added after the first three: `NodeStore.open` creates it for tenants
    /// that predate it.
    case received

    public func name(for code: MunicipalityCode) -> String { "t\(code.rawValue).\(rawValue)" }
}
