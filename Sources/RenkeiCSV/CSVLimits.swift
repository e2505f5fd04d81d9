/// Upper bounds that keep a malformed or hostile file from exhausting
/// memory (an unterminated quote would otherwise swallow the whole file).
///
/// Sizes are counted in UTF-8 bytes after decoding, excluding the quotes
/// around a field and the record terminator.
public struct CSVLimits: Sendable {
    /// Largest field, in bytes. Default 64 KiB.
    public var maxFieldBytes = 64 << 10
    /// Largest record, in bytes including separators and quotes. Default 1 MiB.
    public var maxRecordBytes = 1 << 20
    /// Most fields in one record. Default 256.
    public var maxFields = 256

    /// Creates limits; every parameter defaults to the values above.
    public init(maxFieldBytes: Int = 64 << 10, maxRecordBytes: Int = 1 << 20, maxFields: Int = 256) {
        self.maxFieldBytes = maxFieldBytes
        self.maxRecordBytes = maxRecordBytes
        self.maxFields = maxFields
    }
}

/// One CSV record (row).
public struct CSVRecord: Sendable {
    /// The 1-based physical line where the record starts. Later records'
    /// lines account for newlines embedded in quoted fields.
    public let line: Int
    /// The field values, unquoted and unescaped.
    public let fields: [String]

    /// Creates a record, e.g. for tests of code that consumes records.
    public init(line: Int, fields: [String]) {
        self.line = line
        self.fields = fields
    }
}
