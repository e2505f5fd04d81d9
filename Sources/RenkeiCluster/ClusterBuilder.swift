import Foundation
import RenkeiAccess
import Logging
import RenkeiCore
import RenkeiCrypto
import RenkeiPKI
import RenkeiPeer
import RenkeiRestore
import RenkeiSynth
import RenkeiTenantStore
import RenkeiVaultServer

/// Makes the files of a planned cluster, in process: the throwaway CA, node
/// certificates, the signed directory and revocation list, node
/// configurations, operator views, node data directories with their tenants,
/// and the generated residents.
///
/// Residents go from the generator straight into the encrypted store, so no
/// plaintext CSV of personal data is ever written.
public struct ClusterBuilder: Sendable {
    /// What is being built.
    public let plan: ClusterPlan
    /// The scrypt cost of the recovery kits `loadData` exports.
    public let recoveryKitParameters: RecoveryKitParameters
    let logger: Logger

    /// The scrypt cost of a local cluster's demo kits: N = 2^14, r = 8, p = 1
    /// (16 MiB). With `.standard` (128 MiB) a debug build spent 3 s of CPU,
    /// 8 s on a loaded 2-core machine, per tenant, which made `cluster up`
    /// and its tests noticeably slower; and a demo kit's passphrase lies
    /// beside it anyway, so its cost protects nothing.
    public static let demoRecoveryKitParameters = RecoveryKitParameters(costLog2: 14, blockSize: 8, parallelism: 1)

    /// A builder for `plan`; `logger` gets codes and counts, never personal data.
    public init(plan: ClusterPlan, recoveryKitParameters: RecoveryKitParameters = demoRecoveryKitParameters, logger: Logger) {
        self.plan = plan
        self.recoveryKitParameters = recoveryKitParameters
        self.logger = logger
    }

    /// Progress of loading one municipality.
    public struct LoadProgress: Sendable {
        /// The municipality code.
        public let code: String
        /// Its name.
        public let name: String
        /// The node it is loaded into.
        public let nodeName: String
        /// Residents stored so far.
        public let residentsDone: Int
        /// Residents to store.
        public let residentsTotal: Int
        /// Vaccination records stored so far.
        public let vaccinations: Int
    }

    /// What was loaded into one municipality.
    public struct LoadReport: Sendable, Equatable {
        /// The municipality code.
        public let code: String
        /// Residents stored.
        public let residents: Int
        /// Vaccination records stored.
        public let vaccinations: Int
        /// Time taken, generation included.
        public let seconds: Double
    }

    // MARK: PKI and layout

    /// Creates the CA, one certificate per node, the signed directory, the
    /// revocation list, each node's `node.json` and each municipality's
    /// operator view. The base directory must not hold a cluster.
    public func createPKIAndLayout(now: Date = Date()) throws(ClusterError) {
        let ca: FederationCA
        do throws(PKIError) {
            ca = try FederationCA.create(name: "Renkei local cluster CA", validDays: 3650, now: now)
            try CADirectory(plan.caDirectory).create(ca)
            for node in plan.nodes {
                let codes = try node.spec.municipalities.map { m throws(PKIError) in try Self.code(m.code) }
                let names = node.certificateNames
                let issued = try ca.issue(CertificateRequest(
                    name: node.spec.name, role: .node, municipalityCodes: codes,
                    dnsNames: names.dns, ipAddresses: names.ip, validDays: 397, now: now))
                try issued.write(to: node.tlsDirectory)
            }
            if let vault = plan.vault {
                let server = try ca.issue(CertificateRequest(
                    name: vault.spec.name, role: .vault, municipalityCodes: [],
                    dnsNames: ["localhost"], ipAddresses: [vault.spec.host], validDays: 397, now: now))
                try server.write(to: vault.tlsDirectory)
                let drOperator = try ca.issue(CertificateRequest(
                    name: ClusterPlan.VaultPlan.drOperatorName, role: .drOperator, municipalityCodes: [],
                    dnsNames: [], ipAddresses: [], validDays: 397, now: now))
                try drOperator.write(to: vault.viewTLSDirectory)
            }
        } catch {
            throw ClusterError(.setup, "cannot create the cluster's PKI: \(error.message)", cause: error)
        }
        try makeDirectory(plan.federationDirectory)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let input = plan.directoryInput
        let inputBytes: [UInt8]
        do {
            inputBytes = Array(try encoder.encode(input))
        } catch {
            throw ClusterError(.setup, "cannot encode \(plan.directoryInputPath)", cause: SendableText("\(error)"))
        }
        try write(inputBytes, to: plan.directoryInputPath)
        let validFor = Double(plan.spec.directoryValidDays) * 86_400
        let signedDirectory: [UInt8], revocationList: [UInt8]
        do throws(PKIError) {
            let entries = try input.resolve(baseDirectory: plan.federationDirectory, trust: ca.trust, now: now)
            signedDirectory = try SignedDirectory.sign(entries, ca: ca, issuedAt: now, expiresAt: now.addingTimeInterval(validFor))
            revocationList = try CADirectory(plan.caDirectory).signRevocationList(validDays: plan.spec.directoryValidDays, now: now)
        } catch {
            throw ClusterError(.setup, "cannot sign the cluster's directory or revocation list: \(error.message)", cause: error)
        }
        try write(signedDirectory, to: plan.signedDirectoryPath)
        try write(revocationList, to: plan.revocationListPath)
        for node in plan.nodes {
            do {
                try node.config.write(to: node.configPath)
            } catch {
                throw ClusterError(.setup, "cannot write \(node.configPath)", cause: SendableText("\(error)"))
            }
        }
        if let vault = plan.vault { try writeVaultFiles(vault) }
        for view in plan.views {
            try makeDirectory(view.directory)
            do {
                try view.view.write(directory: view.directory)
            } catch {
                throw ClusterError(.setup, "cannot write the operator view \(view.directory)/\(OperatorView.fileName)", cause: SendableText("\(error)"))
            }
        }
    }

    /// The vault's configuration (paths relative to it, like the nodes')
    /// and the DR operator's view of it.
    func writeVaultFiles(_ vault: ClusterPlan.VaultPlan) throws(ClusterError) {
        let config = VaultConfig(
            name: vault.spec.name, listenHost: vault.spec.host, listenPort: vault.spec.port, dataDirectory: "data",
            certificatePath: "tls/\(vault.spec.name).pem", privateKeyPath: "tls/\(vault.spec.name).key",
            caCertificatePath: "tls/ca.pem", revocationListPath: "../federation/revocations.signed.json")
        do {
            try config.write(to: vault.configPath)
        } catch {
            throw ClusterError(.setup, "cannot write \(vault.configPath)", cause: SendableText("\(error)"))
        }
        var tenants: [String: String] = [:]
        for view in plan.views { tenants[view.code] = view.nodeName }
        let drName = ClusterPlan.VaultPlan.drOperatorName
        let view = VaultOperatorView(
            host: vault.spec.host, port: vault.spec.port, serverName: vault.spec.name,
            certificate: "tls/\(drName).pem", privateKey: "tls/\(drName).key", caCertificate: "tls/ca.pem",
            revocationList: "../federation/revocations.signed.json", dataDirectory: "../vault-site/data", tenants: tenants)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            try write(Array(try encoder.encode(view)), to: vault.viewDirectory + "/" + VaultOperatorView.fileName)
        } catch let error as ClusterError {
            throw error
        } catch {
            throw ClusterError(.setup, "cannot encode the vault's operator view", cause: SendableText("\(error)"))
        }
    }

    // MARK: Data

    /// Initializes each node's data directory, adds its tenants, exports
    /// each tenant's recovery kit (see `exportRecoveryKit`) and loads each
    /// municipality's generated population (residents, then their
    /// vaccinations, batch by batch). Each node's store is closed before
    /// this returns, so the node processes can open it.
    public func loadData(progress: (LoadProgress) -> Void = { _ in }) throws(ClusterError) -> [LoadReport] {
        var reports: [LoadReport] = []
        for node in plan.nodes {
            reports += try loadNode(node, progress: progress)
        }
        return reports
    }

    private func loadNode(_ node: ClusterPlan.NodePlan, progress: (LoadProgress) -> Void) throws(ClusterError) -> [LoadReport] {
        let directory = NodeDirectory(node.dataDirectory)
        let store: NodeStore
        do throws(NodeError) {
            try NodeStore.initialize(at: directory, masterKey: .dataDirectory, logger: logger)
            store = try NodeStore.open(directory, logger: logger)
        } catch {
            throw ClusterError(.setup, "node \(node.spec.name): cannot create its data directory: \(error.description)")
        }
        var reports: [LoadReport] = []
        for municipality in node.spec.municipalities {
            let started = ContinuousClock.now
            let name = municipality.name ?? municipality.code
            let partition: TenantPartition
            let code: MunicipalityCode
            do throws(NodeError) {
                do throws(PKIError) { code = try Self.code(municipality.code) } catch {
                    throw NodeError(.invalidArgument, error.message)
                }
                _ = try store.addTenant(code, name: name)
                partition = try store.tenant(code)
            } catch {
                throw ClusterError(.setup, "node \(node.spec.name): cannot add tenant \(municipality.code): \(error.description)")
            }
            try exportRecoveryKit(store: store, code: code)
            try createDemoAccount(store: store, code: code)
            let generator = PopulationGenerator(spec: PopulationSpec(
                municipality: code, count: municipality.residents, seed: plan.spec.seed))
            let batchSize = 1_000
            var done = 0, doses = 0
            var residents: [Resident] = []
            var vaccinations: [VaccinationRecord] = []
            residents.reserveCapacity(batchSize)
            for person in generator {
                residents.append(person.resident)
                vaccinations += person.vaccinations
                if residents.count == batchSize || done + residents.count == municipality.residents {
                    // Residents before their doses: a dose needs its resident stored.
                    // Only the last batch waits for the WAL sync, which covers
                    // every earlier write; a crash before it leaves a cluster to
                    // rebuild, not a record to lose.
                    let last = done + residents.count == municipality.residents
                    do throws(NodeError) {
                        _ = try partition.upsertResidents(residents, sync: last && vaccinations.isEmpty)
                        var start = 0
                        while start < vaccinations.count {
                            let end = min(start + TenantPartition.maxBatchRows, vaccinations.count)
                            _ = try partition.upsertVaccinations(Array(vaccinations[start..<end]), sync: last && end == vaccinations.count)
                            start = end
                        }
                    } catch {
                        throw ClusterError(.setup, "node \(node.spec.name): loading \(municipality.code) failed: \(error.description)")
                    }
                    done += residents.count
                    doses += vaccinations.count
                    residents.removeAll(keepingCapacity: true)
                    vaccinations.removeAll(keepingCapacity: true)
                    progress(LoadProgress(code: municipality.code, name: name, nodeName: node.spec.name,
                                          residentsDone: done, residentsTotal: municipality.residents, vaccinations: doses))
                }
            }
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            logger.info("loaded generated population", metadata: [
                "node": "\(node.spec.name)", "code": "\(municipality.code)",
                "residents": "\(done)", "vaccinations": "\(doses)",
            ])
            reports.append(LoadReport(code: municipality.code, residents: done, vaccinations: doses, seconds: seconds))
        }
        return reports
    }

    // MARK: Recovery kits

    /// Writes tenant `code`'s recovery kit to `D/CODE/recovery-kit.json`
    /// and its passphrase to `D/CODE/recovery-kit.passphrase`, both 0600.
    ///
    /// Demo only: the passphrase is random and throwaway, and it sits next
    /// to the kit so a disaster-recovery drill on a local cluster can run
    /// unattended (`--passphrase-file`). A real kit's passphrase is chosen by
    /// and kept with its custodians, never stored beside the kit.
    func exportRecoveryKit(store: NodeStore, code: MunicipalityCode) throws(ClusterError) {
        guard let view = plan.views.first(where: { $0.code == code.rawValue }) else { return }
        // 128 random bits as 32 hex characters: over the 16-character minimum.
        var generator = SystemRandomNumberGenerator()
        let passphrase = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
        do {
            let kit = try store.exportRecoveryKit(code: code, passphrase: passphrase, parameters: recoveryKitParameters)
            try makeDirectory(view.directory)
            try SecureFile.writeAtomically(Array((passphrase + "\n").utf8), toPath: view.recoveryKitPassphrasePath, mode: 0o600)
            try kit.save(toPath: view.recoveryKitPath)
        } catch let error as NodeError {
            throw ClusterError(.setup, "cannot export the recovery kit of \(code): \(error.description)")
        } catch let error as ClusterError {
            throw error
        } catch {
            throw ClusterError(.setup, "cannot write the recovery kit of \(code) to \(view.directory)", cause: SendableText("\(error)"))
        }
    }

    // MARK: Demo operator accounts

    /// Adds `op-CODE`, an operator account holding every role, and writes its
    /// password and TOTP secret to `D/CODE/demo-credentials.json` (0600) so
    /// the CLI logs in by itself on a throwaway cluster.
    ///
    /// Demo only, like the recovery-kit passphrase beside it: one account
    /// with all roles is not least privilege, and a real operator keeps the
    /// password in their head and the secret in an authenticator. The cheap
    /// scrypt cost matches the demo kits'.
    func createDemoAccount(store: NodeStore, code: MunicipalityCode) throws(ClusterError) {
        guard let view = plan.views.first(where: { $0.code == code.rawValue }) else { return }
        var generator = SystemRandomNumberGenerator()
        let password = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
        var policy = AccountPolicy()
        policy.passwordCostLog2 = recoveryKitParameters.costLog2
        do {
            let account = try store.openAccountBook(policy: policy).add(
                NewAccount(login: "op-\(code.rawValue)", code: code.rawValue, roles: Set(Role.allCases),
                           people: ["Demo Operator"], terminals: [], password: password), now: Date())
            try makeDirectory(view.directory)
            try DemoCredentials(login: account.login, password: password,
                                totpSecretHex: hexEncode(account.totpSecret),
                                terminal: "demo-terminal").save(viewDirectory: view.directory)
        } catch let error as AccessError {
            throw ClusterError(.setup, "cannot add the demo operator account of \(code): \(error.message)")
        } catch let error as ClusterError {
            throw error
        } catch {
            throw ClusterError(.setup, "cannot write the demo credentials of \(code) to \(view.directory)", cause: SendableText("\(error)"))
        }
    }

    // MARK: Helpers

    static func code(_ text: String) throws(PKIError) -> MunicipalityCode {
        do throws(ValidationError) {
            return try MunicipalityCode(text)
        } catch {
            throw PKIError(.invalidInput, "\(text): \(error.message)")
        }
    }

    private func makeDirectory(_ path: String) throws(ClusterError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw ClusterError(.setup, "cannot create directory \(path)", cause: SendableText(error.localizedDescription))
        }
    }

    private func write(_ bytes: [UInt8], to path: String) throws(ClusterError) {
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ClusterError(.setup, "cannot write \(path)", cause: SendableText(error.localizedDescription))
        }
    }
}

/// Regenerates the Individual Numbers a cluster loaded, without storing them:
/// the populations are a pure function of code, count and seed.
public enum ClusterSample {
    /// `count` numbers of municipality `code`, spread evenly over its
    /// population (synthetic data).
    public static func individualNumbers(code: String, in spec: ClusterSpec, count: Int) throws(ClusterError) -> [IndividualNumber] {
        guard let municipality = spec.municipality(code) else {
            throw ClusterError(.invalidSpec, "--code: \(code) is not a municipality of this cluster (it has \(spec.codes.joined(separator: ", ")))")
        }
        let parsed: MunicipalityCode
        do throws(ValidationError) { parsed = try MunicipalityCode(code) } catch {
            throw ClusterError(.invalidSpec, "--code: \(error.message)")
        }
        let generator = PopulationGenerator(spec: PopulationSpec(municipality: parsed, count: municipality.residents, seed: spec.seed))
        let n = min(max(count, 0), municipality.residents)
        return ClusterSample.indices(count: n, population: municipality.residents).map { generator.person(at: $0).resident.individualNumber }
    }

    /// `count` distinct indices spread evenly over `0..<population`, starting at 0.
    public static func indices(count: Int, population: Int) -> [Int] {
        guard count > 0, population > 0 else { return [] }
        let n = min(count, population)
        return (0..<n).map { $0 * population / n }
    }
}
