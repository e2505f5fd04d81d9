import RenkeiAudit

extension AuditEvent {
    /// The provider answered one bulk batch's items for one hosted target
    /// tenant. `requestID` is the batch_id; `detail` holds the counts per
    /// outcome, never a number.
    public static let bulkAnswered = AuditEvent(rawValue: "bulk-answered")

    /// This node sent one bulk inquiry batch to a provider and got it
    /// answered (the requester's side). One entry per batch, never per item:
    /// the detail holds counts (items, matches, stored…), never a number.
    public static let bulkSent = AuditEvent(rawValue: "bulk-sent")

    /// An administrator or auditor read the node's figures for the
    /// assessment form (`renkei assessment report`). Kept apart from
    /// `accounts-reviewed`, which is what the report shows as the last access review.
    public static let assessmentReported = AuditEvent(rawValue: "assessment-reported")
}
