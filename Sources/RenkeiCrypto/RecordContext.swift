/// Where a record value lives. Sealing binds all of it to the ciphertext, so
/// an envelope copied to another tenant, column family or record key — by a
/// bug or by someone with write access to the database — fails to open.
public struct RecordContext: Sendable, Hashable {
    /// The tenant (municipality) code, e.g. `"322016"`.
    public var tenantCode: String
    /// The column family the value is stored in.
    public var columnFamily: String
    /// The record's key in that column family.
    public var recordKey: [UInt8]

    /// Describes where a value is stored.
    public init(tenantCode: String, columnFamily: String, recordKey: [UInt8]) {
        self.tenantCode = tenantCode
        self.columnFamily = columnFamily
        self.recordKey = recordKey
    }
}
