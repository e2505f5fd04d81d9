import Foundation
import Testing
import GRPCCore
import RenkeiVault
@testable import RenkeiVaultServer

@Suite struct VaultConfigTests {
    func load(_ json: String) throws -> VaultConfig {
        let dir = try TempDir()
        let path = dir.file("vault.json")
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return try VaultConfig.load(contentsOf: path)
    }

    func failure(_ json: String) -> String? {
        do {
            _ = try load(json)
            return nil
        } catch let error as VaultNetworkError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    let required = #""dataDirectory": "data", "certificatePath": "v.pem", "privateKeyPath": "v.key", "caCertificatePath": "ca.pem""#

    @Test func defaultsAndRelativePaths() throws {
        let config = try load("{\(required)}")
        #expect(config.name == "vault")
        #expect(config.listenPort == VaultConfig.defaultPort)
        #expect(config.keepChangeDays == 30 && config.keepSnapshots == 7)
        #expect(config.limits == VaultConfig.Limits())
        #expect(config.limits.maxRecordsPerShip == 1_000 && config.limits.maxChunkBytes == 1 << 20)
        #expect(config.dataDirectory.hasPrefix("/") && config.dataDirectory.hasSuffix("/data"))
        #expect(config.pidPath == config.dataDirectory + "/vault.pid")
    }

    @Test(arguments: [
        (#", "listenPort": 70000"#, "listenPort"),
        (#", "keepChangeDays": 0"#, "keepChangeDays"),
        (#", "keepSnapshots": -1"#, "keepSnapshots"),
        (#", "retentionIntervalSeconds": 0"#, "retentionIntervalSeconds"),
        (#", "limits": {"maxRecordsPerShip": 5000}"#, "limits.maxRecordsPerShip"),
        (#", "limits": {"maxMessageBytes": 99999999}"#, "limits.maxMessageBytes"),
        (#", "limits": {"maxChunkBytes": 0}"#, "limits.maxChunkBytes"),
        (#", "name": """#, "name"),
    ])
    func invalidValuesNameTheField(extra: String, field: String) throws {
        let message = try #require(failure("{\(required)\(extra)}"))
        #expect(message.contains(field + ":"), "\(message)")
    }

    @Test func missingFieldIsNamed() throws {
        let message = try #require(failure(#"{"dataDirectory": "d", "certificatePath": "c", "privateKeyPath": "k"}"#))
        #expect(message.contains("caCertificatePath"), "\(message)")
    }
}

/// What a node hears of a store failure: the code, and paths relative to the
/// vault's data directory, never where that directory is on the vault machine.
@Suite struct VaultErrorStatusTests {
    @Test func diskFullNamesTheFileRelativeToTheDataDirectory() {
        let root = "/srv/renkei-vault/data"
        let error = VaultError(.diskFull, "the vault's disk is full: writing \(root)/nodes/matsue/segments/.tmp-0001",
                               cause: VaultSystemError(call: "write", errno: ENOSPC))
        let status = VaultService.status(for: error, dataRoot: root)
        #expect(status.code == .resourceExhausted)
        #expect(status.message.contains("nodes/matsue/segments/.tmp-0001"), "\(status.message)")
        #expect(!status.message.contains("/srv/renkei-vault"), "\(status.message)")
    }

    @Test func eachStoreErrorCodeHasItsStatus() {
        let cases: [(VaultError.Code, RPCError.Code)] = [
            (.gap, .failedPrecondition), (.diskFull, .resourceExhausted), (.limit, .resourceExhausted),
            (.invalidName, .invalidArgument), (.notFound, .notFound), (.corrupt, .dataLoss), (.io, .internalError),
        ]
        for (code, expected) in cases {
            #expect(VaultService.status(for: VaultError(code, "x"), dataRoot: "/d").code == expected, "\(code)")
        }
    }
}
