import RenkeiAudit

extension AuditEvent {
    /// The provider answered one bulk batch's items for one hosted target
    /// tenant. `requestID` is the batch_id; `detail` holds the counts per
    /// outcome, never a number.
    public static let bulkAnswered = AuditEvent(rawValue: "bulk-answered")
}
