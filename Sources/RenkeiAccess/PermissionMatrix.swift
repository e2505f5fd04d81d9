/// An operator role. An account has one or more; what each allows is
/// `PermissionMatrix`.
///
/// Ordered as declared (clerk first), so sets of roles print in a stable order.
public enum Role: String, CaseIterable, Sendable, Codable, Comparable {
    /// Day-to-day records work: import, export, view a resident, 転出, media erasure.
    case clerk
    /// Sends transfer (転入) inquiries to other municipalities, single and bulk.
    case inquirer
    /// Manages the accounts of its own municipality, deletes its data, runs backups.
    case administrator
    /// Reads the operation log and reviews accounts; nothing else.
    case auditor
    /// Disaster recovery: backups and restore.
    case drOperator = "dr-operator"

    public static func < (lhs: Role, rhs: Role) -> Bool {
        lhs.order < rhs.order
    }

    private var order: Int { Role.allCases.firstIndex(of: self)! }
}

/// An operation an operator can ask a node to do. The raw value is the name
/// used in the operation log and in `renkei user roles`.
public enum Operation: String, CaseIterable, Sendable {
    case importRecords = "import"
    case exportRecords = "export"
    case viewResident = "resident-show"
    case markMovedOut = "mark-moved-out"
    case inquireTransfer = "inquire-transfer"
    case inquireBulk = "inquire-bulk"
    case manageUsers = "user-manage"
    case reviewUsers = "user-review"
    case readAudit = "audit-read"
    case deleteResident = "resident-delete"
    case deleteTenant = "tenant-delete"
    case backup = "backup"
    case backupStatus = "backup-status"
    case restore = "restore"
    case reportMediaErasure = "media-erasure"
    case rotateTenantKey = "key-rotate"
    case keyStatus = "key-status"
}

/// Which roles may do which operations: least privilege, each role only what
/// its job needs.
///
/// | operation        | clerk | inquirer | administrator | auditor | dr-operator |
/// |------------------|:-----:|:--------:|:-------------:|:-------:|:-----------:|
/// | import           |   ✓   |          |               |         |             |
/// | export           |   ✓   |          |               |         |             |
/// | resident-show    |   ✓   |          |               |         |             |
/// | mark-moved-out   |   ✓   |          |               |         |             |
/// | inquire-transfer |       |    ✓     |               |         |             |
/// | inquire-bulk     |       |    ✓     |               |         |             |
/// | user-manage      |       |          |       ✓       |         |             |
/// | user-review      |       |          |       ✓       |    ✓    |             |
/// | audit-read       |       |          |               |    ✓    |             |
/// | resident-delete  |       |          |       ✓       |         |             |
/// | tenant-delete    |       |          |       ✓       |         |             |
/// | backup           |       |          |       ✓       |         |      ✓      |
/// | backup-status    |       |          |       ✓       |         |      ✓      |
/// | restore          |       |          |               |         |      ✓      |
/// | media-erasure    |   ✓   |          |               |         |             |
/// | key-rotate       |       |          |       ✓       |         |             |
/// | key-status       |       |          |       ✓       |    ✓    |             |
///
/// Why these lines: an administrator manages accounts and can delete its
/// municipality's data, but does not see residents' records (it can give
/// itself the clerk role, which the operation log records); an auditor reads
/// the log and the account review without touching records; deletion is the
/// administrator's alone, so only the owning municipality's administrator can
/// shred its data (the caller checks the account's municipality is the
/// tenant's). Rotating the municipality's data key is the administrator's
/// (it changes what a recovery kit must hold); its progress is also the
/// auditor's to check. The matrix says what a role may do, never for whom: every
/// operation is also limited to the account's own municipality.
public enum PermissionMatrix {
    private static let table: [Role: Set<Operation>] = [
        .clerk: [.importRecords, .exportRecords, .viewResident, .markMovedOut, .reportMediaErasure],
        .inquirer: [.inquireTransfer, .inquireBulk],
        .administrator: [.manageUsers, .reviewUsers, .deleteResident, .deleteTenant, .backup, .backupStatus, .rotateTenantKey, .keyStatus],
        .auditor: [.readAudit, .reviewUsers, .keyStatus],
        .drOperator: [.backup, .backupStatus, .restore],
    ]

    /// Whether any of `roles` allows `operation`. No roles allow nothing.
    public static func allows(_ roles: Set<Role>, _ operation: Operation) -> Bool {
        roles.contains { table[$0]?.contains(operation) == true }
    }

    /// The roles that allow `operation`, in `Role` order.
    public static func roles(allowing operation: Operation) -> [Role] {
        Role.allCases.filter { table[$0]?.contains(operation) == true }
    }

    /// The matrix as a Markdown table (roles as columns), for docs and `renkei user roles`.
    public static func markdownTable() -> String {
        let header = ["operation"] + Role.allCases.map(\.rawValue)
        var lines = ["| " + header.joined(separator: " | ") + " |",
                     "|" + header.map { _ in "---" }.joined(separator: "|") + "|"]
        for operation in Operation.allCases {
            let cells = Role.allCases.map { allows([$0], operation) ? "✓" : " " }
            lines.append("| " + ([operation.rawValue] + cells).joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
