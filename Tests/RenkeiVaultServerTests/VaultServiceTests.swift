import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import RenkeiPKI
import RenkeiVault
import RenkeiWire
import Testing
@testable import RenkeiVaultServer

/// The vault over real mutual TLS on loopback.
@Suite struct VaultServiceTests {
    @Test func shipIsAcknowledgedAndResumesWithoutGapOrDuplicate() async throws {
        let fed = try TestFederation()
        try fed.issue("vault", role: .vault)
        try fed.issue("node-a", role: .node)
        let creds = try fed.credentials("node-a")
        try await withVault(fed.vaultConfig(), fed: fed) { endpoint, store in
            let first = try await VaultTransport.withClient(endpoint, credentials: creds) { vault in
                try await ship(vault, [shipRequest(nil), shipRequest(1...3), shipRequest(4...5)])
            }
            #expect(first == [0, 3, 5])
            // A new connection: the empty request asks where to resume; a
            // resend of 4...5 (a lost ack) is skipped, 6...8 stored.
            let second = try await VaultTransport.withClient(endpoint, credentials: creds) { vault in
                try await ship(vault, [shipRequest(nil), shipRequest(4...8)])
            }
            #expect(second == [5, 8])
            var cursor = try store.records(node: "node-a", after: 0)
            #expect(try cursor.next(max: 100).map(\.seq) == Array(1...8))
            #expect(try cursor.next(max: 100).isEmpty)
            var again = try store.records(node: "node-a", after: 0)
            #expect(try again.next()?.payload == Array(record(1).payload))
        }
    }

    @Test func gapIsRefusedNamingBothNumbers() async throws {
        let fed = try TestFederation()
        try fed.issue("vault", role: .vault)
        try fed.issue("node-a", role: .node)
        let creds = try fed.credentials("node-a")
        try await withVault(fed.vaultConfig(), fed: fed) { endpoint, store in
            let error = await thrown {
                _ = try await VaultTransport.withClient(endpoint, credentials: creds) { vault in
                    try await ship(vault, [shipRequest(1...2), shipRequest(7...8)])
                }
            }
            #expect(rpcCode(error!) == .failedPrecondition)
            let message = "\(error!)"
            #expect(message.contains("3") && message.contains("7"), "\(message)")
            let last = try store.lastSequence(node: "node-a")
            #expect(last == 2)
        }
    }

    @Test func aNodeWritesAndReadsOnlyTheStreamOfItsCommonName() async throws {
        let fed = try TestFederation()
        try fed.issue("vault", role: .vault)
        try fed.issue("node-a", role: .node)
        try fed.issue("node-b", role: .node, codes: [izumo])
        let a = try fed.credentials("node-a"), b = try fed.credentials("node-b")
        try await withVault(fed.vaultConfig(), fed: fed) { endpoint, store in
            _ = try await VaultTransport.withClient(endpoint, credentials: a) { vault in
                try await ship(vault, [shipRequest(1...4)])
            }
            // B asks for A's status by name: the field is ignored, B gets its own.
            let status = try await VaultTransport.withClient(endpoint, credentials: b) { vault in
                var request = Renkei_Vault_V1_StatusRequest()
                request.node = "node-a"
                return try await vault.status(request)
            }
            #expect(status.node == "node-b")
            #expect(status.lastSeq == 0)
            // B's first change lands in B's stream, not after A's 4.
            let acks = try await VaultTransport.withClient(endpoint, credentials: b) { vault in
                try await ship(vault, [shipRequest(nil), shipRequest(1...1)])
            }
            #expect(acks == [0, 1])
            #expect(try store.lastSequence(node: "node-a") == 4)
            #expect(try store.lastSequence(node: "node-b") == 1)
            // A node may not read the catalog or files, its own included.
            for call in ["catalog", "fetch"] {
                let error = await thrown {
                    _ = try await VaultTransport.withClient(endpoint, credentials: b) { vault in
                        if call == "catalog" {
                            var request = Renkei_Vault_V1_CatalogRequest()
                            request.node = "node-a"
                            _ = try await vault.catalog(request)
                        } else {
                            var request = Renkei_Vault_V1_FetchFileRequest()
                            request.node = "node-a"
                            request.segment = try store.segments(node: "node-a")[0].fileName
                            try await vault.fetchFile(request) { response in for try await _ in response.messages {} }
                        }
                    }
                }
                #expect(rpcCode(error!) == .permissionDenied, "\(call)")
            }
        }
    }

    @Test func drOperatorReadsCatalogAndFetchesAMatchingSegmentButCannotShip() async throws {
        let fed = try TestFederation()
        try fed.issue("vault", role: .vault)
        try fed.issue("node-a", role: .node)
        try fed.issue("dr-staff", role: .drOperator)
        let node = try fed.credentials("node-a"), dr = try fed.credentials("dr-staff")
        try await withVault(fed.vaultConfig(), fed: fed) { endpoint, store in
            _ = try await VaultTransport.withClient(endpoint, credentials: node) { vault in
                try await ship(vault, [shipRequest(1...50, bytes: 3000), shipRequest(51...60)])
            }
            let (catalog, status, fetched) = try await VaultTransport.withClient(endpoint, credentials: dr) { vault in
                var request = Renkei_Vault_V1_CatalogRequest()
                request.node = "node-a"
                let catalog = try await vault.catalog(request)
                var statusRequest = Renkei_Vault_V1_StatusRequest()
                statusRequest.node = "node-a"
                let status = try await vault.status(statusRequest)
                var fetch = Renkei_Vault_V1_FetchFileRequest()
                fetch.node = "node-a"
                fetch.segment = catalog.segments[0].name
                let bytes = try await vault.fetchFile(fetch) { response in
                    var data = Data()
                    for try await chunk in response.messages {
                        #expect(chunk.offset == UInt64(data.count))
                        data.append(chunk.data)
                    }
                    return data
                }
                return (catalog, status, bytes)
            }
            #expect(catalog.node == "node-a")
            #expect(catalog.segments.map(\.firstSeq) == [1, 51])
            #expect(catalog.segments.map(\.lastSeq) == [50, 60])
            #expect(status.lastSeq == 60 && status.segments == 2)
            #expect(UInt64(fetched.count) == catalog.segments[0].sizeBytes)
            #expect(sha256Hex(fetched) == catalog.segments[0].sha256)
            // What was fetched is the stored LZ4 segment: it decodes to the shipped records.
            let records = try SegmentReader.records(frame: Array(fetched), name: "fetched")
            #expect(records.map(\.seq) == Array(1...50))

            // A DR operator writes nothing.
            let error = await thrown {
                _ = try await VaultTransport.withClient(endpoint, credentials: dr) { vault in
                    try await ship(vault, [shipRequest(nil)])
                }
            }
            #expect(rpcCode(error!) == .permissionDenied)
            #expect(try store.nodes() == ["node-a"])
            // An unknown node is NOT_FOUND for the operator, and a bad name is refused.
            for (name, code) in [("node-z", RPCError.Code.notFound), ("../node-a", .invalidArgument)] {
                let error = await thrown {
                    _ = try await VaultTransport.withClient(endpoint, credentials: dr) { vault in
                        var request = Renkei_Vault_V1_CatalogRequest()
                        request.node = name
                        _ = try await vault.catalog(request)
                    }
                }
                #expect(rpcCode(error!) == code, "\(name)")
            }
        }
    }

    @Test func aServerWithoutTheVaultRoleIsRefusedInTheHandshake() async throws {
        let fed = try TestFederation()
        try fed.issue("impostor", role: .node)
        try fed.issue("node-a", role: .node)
        let creds = try fed.credentials("node-a")
        try await withVault(fed.vaultConfig("impostor"), fed: fed, checkOwnRole: false) { endpoint, store in
            let error = await thrown {
                _ = try await VaultTransport.withClient(endpoint, credentials: creds) { vault in
                    try await ship(vault, [shipRequest(1...3)])
                }
            }
            let refusal = error as? VaultNetworkError
            #expect(refusal?.code == .refusedPeer, "\(String(describing: error))")
            #expect(refusal?.message.contains("urn:renkei:role:vault") == true, "\(String(describing: error))")
            // Nothing reached the store.
            let nodes = try store.nodes()
            #expect(nodes.isEmpty)
        }
    }

    @Test func aVaultWithAnotherNameIsRefused() async throws {
        let fed = try TestFederation()
        try fed.issue("vault", role: .vault)
        try fed.issue("node-a", role: .node)
        let creds = try fed.credentials("node-a")
        try await withVault(fed.vaultConfig(), fed: fed) { endpoint, _ in
            var wrong = endpoint
            wrong.serverName = "vault-osaka"
            let error = await thrown {
                _ = try await VaultTransport.withClient(wrong, credentials: creds) { vault in try await vault.status(.init()) }
            }
            #expect((error as? VaultNetworkError)?.code == .refusedPeer, "\(String(describing: error))")
            var right = endpoint
            right.serverName = "vault"
            let status = try await VaultTransport.withClient(right, credentials: creds) { vault in try await vault.status(.init()) }
            #expect(status.node == "node-a")
        }
    }

    @Test func oversizeShipRequestsAreRefused() async throws {
        let fed = try TestFederation()
        try fed.issue("vault", role: .vault)
        try fed.issue("node-a", role: .node)
        let creds = try fed.credentials("node-a")
        try await withVault(fed.vaultConfig(), fed: fed) { endpoint, store in
            // More than 1,000 records.
            let tooMany = await thrown {
                _ = try await VaultTransport.withClient(endpoint, credentials: creds) { vault in
                    try await ship(vault, [shipRequest(1...1001, bytes: 1)])
                }
            }
            #expect(rpcCode(tooMany!) == .resourceExhausted)
            // Over 4 MiB (5 × 1 MiB payloads): the service refuses it even
            // when the client lets it through.
            var options = CallOptions.defaults
            options.maxRequestMessageBytes = 16 << 20
            let tooBig = await thrown {
                _ = try await VaultTransport.withClient(endpoint, credentials: creds) { vault in
                    try await ship(vault, [shipRequest(1...5, bytes: 1 << 20)], options: options)
                }
            }
            #expect(rpcCode(tooBig!) == .resourceExhausted, "\(String(describing: tooBig))")
            let last = try store.lastSequence(node: "node-a")
            #expect(last == 0)
        }
    }

    @Test func snapshotUploadIsIncrementalAndMovesTheNodePastADroppedBacklog() async throws {
        let fed = try TestFederation()
        try fed.issue("vault", role: .vault)
        try fed.issue("node-a", role: .node)
        let creds = try fed.credentials("node-a")
        let sst = Data(repeating: 7, count: 3 << 20), keys = Data("wrapped keyring".utf8)
        try await withVault(fed.vaultConfig(), fed: fed) { endpoint, store in
            try await VaultTransport.withClient(endpoint, credentials: creds) { vault in
                _ = try await ship(vault, [shipRequest(1...3)])
                // Snapshot 1 covers 10 although the vault holds up to 3.
                let (needed, commit) = try await upload(vault, id: "s1", covers: 10, files: ["db/000001.sst": sst, "keys/node.keys": keys])
                #expect(needed == ["db/000001.sst", "keys/node.keys"])
                #expect(commit.files == 2 && commit.linkedFiles == 0)
                // The node continues from 11.
                #expect(try await ship(vault, [shipRequest(nil), shipRequest(11...12)]) == [10, 12])
                // Snapshot 2 repeats the table file: only the new keys file is sent.
                let (needed2, commit2) = try await upload(vault, id: "s2", covers: 12,
                                                          files: ["db/000001.sst": sst, "keys/node.keys": Data("rotated".utf8)])
                #expect(needed2 == ["keys/node.keys"])
                #expect(commit2.files == 2 && commit2.linkedFiles == 1)
            }
            #expect(try store.snapshots(node: "node-a").map(\.id) == ["s1", "s2"])
            // The verifier accepts the bridged gap (4...10 are in snapshot s1).
            let report = try VaultVerifier(root: store.root).verify(node: "node-a")
            #expect(report.isIntact, "\(report.problems)")
            #expect(report.lastSeq == 12)
        }
    }
}

/// Uploads a snapshot through the service: begin, the needed files in 1 MiB chunks, commit.
func upload(_ vault: Renkei_Vault_V1_Vault.Client<HTTP2ClientTransport.Posix>, id: String, covers: UInt64,
            files: [String: Data]) async throws -> ([String], Renkei_Vault_V1_CommitSnapshotResponse) {
    var begin = Renkei_Vault_V1_BeginSnapshotRequest()
    begin.snapshotID = id
    begin.coversSeq = covers
    begin.createdUnixMillis = UInt64(Date().timeIntervalSince1970 * 1000)
    begin.files = files.keys.sorted().map { name in
        var f = Renkei_Vault_V1_SnapshotFile()
        f.name = name
        f.sizeBytes = UInt64(files[name]!.count)
        f.sha256 = sha256Hex(files[name]!)
        return f
    }
    let needed = try await vault.beginSnapshot(begin, options: VaultTransport.callOptions).needed
    for name in needed {
        let data = files[name]!
        let response = try await vault.putSnapshotFile(request: StreamingClientRequest { writer in
            var offset = 0
            while offset < data.count {
                var chunk = Renkei_Vault_V1_FileChunk()
                if offset == 0 {
                    chunk.snapshotID = id
                    chunk.name = name
                }
                chunk.offset = UInt64(offset)
                chunk.data = data.subdata(in: offset..<min(data.count, offset + (1 << 20)))
                try await writer.write(chunk)
                offset += chunk.data.count
            }
        }, options: VaultTransport.callOptions)
        #expect(response.sizeBytes == UInt64(data.count))
    }
    var commit = Renkei_Vault_V1_CommitSnapshotRequest()
    commit.snapshotID = id
    return (needed, try await vault.commitSnapshot(commit))
}
