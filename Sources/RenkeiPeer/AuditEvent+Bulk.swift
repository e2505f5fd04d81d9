import RenkeiAudit

extension AuditEvent {
    /// This node sent one bulk inquiry batch to a provider and got it
    /// answered (the requester's side). One entry per batch, never per item:
    /// the detail holds counts (items, matches, stored…), never a number.
    public static let bulkSent = AuditEvent(rawValue: "bulk-sent")
}
