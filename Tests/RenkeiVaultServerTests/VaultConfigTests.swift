import Foundation
import Testing
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
