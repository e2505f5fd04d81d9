import Testing
import RenkeiAccess

@Suite struct PermissionMatrixTests {
    /// The agreed matrix, written out independently of the implementation.
    static let expected: [String: Set<String>] = [
        "clerk": ["import", "export", "resident-show", "mark-moved-out", "media-erasure"],
        "inquirer": ["inquire-transfer", "inquire-bulk"],
        "administrator": ["user-manage", "user-review", "resident-delete", "tenant-delete", "backup", "backup-status", "key-rotate", "key-status"],
        "auditor": ["audit-read", "user-review", "key-status"],
        "dr-operator": ["backup", "backup-status", "restore"],
    ]

    @Test func everyRoleTimesEveryOperation() throws {
        #expect(Role.allCases.count == 5)
        #expect(Operation.allCases.count == 17)
        for role in Role.allCases {
            let allowed = try #require(Self.expected[role.rawValue])
            for operation in Operation.allCases {
                #expect(PermissionMatrix.allows([role], operation) == allowed.contains(operation.rawValue),
                        "\(role.rawValue) × \(operation.rawValue)")
            }
        }
    }

    @Test func rolesAllowingEachOperation() {
        for operation in Operation.allCases {
            let expected = Role.allCases.filter { Self.expected[$0.rawValue]!.contains(operation.rawValue) }
            #expect(PermissionMatrix.roles(allowing: operation) == expected, "\(operation.rawValue)")
            #expect(!expected.isEmpty, "every operation is allowed to someone: \(operation.rawValue)")
        }
    }

    @Test func combinationsAndNoRoles() {
        for operation in Operation.allCases {
            #expect(!PermissionMatrix.allows([], operation))
            #expect(PermissionMatrix.allows(Set(Role.allCases), operation))
        }
        #expect(PermissionMatrix.allows([.auditor, .clerk], .importRecords))
        #expect(!PermissionMatrix.allows([.auditor, .inquirer], .deleteTenant))
    }

    @Test func markdownTableHasARowPerOperationAndAColumnPerRole() throws {
        let lines = PermissionMatrix.markdownTable().split(separator: "\n")
        #expect(lines.count == 2 + Operation.allCases.count)
        #expect(lines[0] == "| operation | clerk | inquirer | administrator | auditor | dr-operator |")
        let restore = try #require(lines.first { $0.hasPrefix("| restore |") })
        #expect(restore == "| restore |   |   |   |   | ✓ |")
    }

    @Test func rolesOrderAndRawValues() {
        #expect(Role.allCases.sorted() == [.clerk, .inquirer, .administrator, .auditor, .drOperator])
        #expect(Role(rawValue: "dr-operator") == .drOperator)
        #expect(Operation(rawValue: "media-erasure") == .reportMediaErasure)
    }
}
