/// The numeric rules of the renkei.v1 contract, in one place. The .proto
/// comments and Protos/README.md state the same numbers; a test keeps them in
/// step with the padding rule.
public enum WireLimits {
    /// The contract's name, as Health reports it.
    public static let protocolVersion = "renkei.v1"
    /// Items in one BulkInquiryRequest: 1 to this many.
    public static let maxBulkItemsPerMessage = 1_000
    /// Largest serialized message, either direction (4 MiB). gRPC's own
    /// receive limit on both sides should be set to this.
    public static let maxMessageBytes = 4 * 1024 * 1024
    /// Batches a requester may have in flight on one InquireBulk stream.
    public static let maxBatchesInFlight = 8
    /// How far `sent_at_unix_millis` may be from the provider's clock.
    public static let maxClockSkewMillis: Int64 = 300_000
    /// Length of `request_id` and `batch_id`: a lowercase canonical UUID.
    public static let requestIDLength = 36
    /// Longest `consent_reference` (printable ASCII).
    public static let maxConsentReferenceLength = 64
}
