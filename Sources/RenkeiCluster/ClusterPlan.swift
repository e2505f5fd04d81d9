import Foundation
import RenkeiObservability
import RenkeiBackup
import RenkeiPKI
import RenkeiPeer

/// How `cluster up` may change the cluster file's numbers without editing it.
public struct ClusterOverrides: Sendable, Equatable {
    /// Residents per municipality.
    public enum Residents: Sendable, Equatable {
        /// As the file says.
        case asDeclared
        /// Every municipality gets exactly this many.
        case each(Int)
        /// The file's counts times this factor (at least one resident each).
        case scaled(Double)
    }

    /// Node `i` (in file order) listens on `portBase + i` instead of its declared port.
    public var portBase: Int?
    /// Residents per municipality.
    public var residents: Residents

    public init(portBase: Int? = nil, residents: Residents = .asDeclared) {
        self.portBase = portBase
        self.residents = residents
    }

    /// The spec with the overrides applied, validated again (a port base can
    /// push the last node past 65535).
    public func apply(to spec: ClusterSpec) throws(ClusterError) -> ClusterSpec {
        var result = spec
        if let portBase {
            for i in result.nodes.indices { result.nodes[i].port = portBase + i }
            if result.vault != nil { result.vault!.port = portBase + result.nodes.count }
        }
        for n in result.nodes.indices {
            for m in result.nodes[n].municipalities.indices {
                let declared = result.nodes[n].municipalities[m].residents
                switch residents {
                case .asDeclared: break
                case .each(let count): result.nodes[n].municipalities[m].residents = count
                case .scaled(let factor):
                    result.nodes[n].municipalities[m].residents = max(1, Int((Double(declared) * factor).rounded()))
                }
            }
        }
        do throws(ClusterError) {
            return try result.validated()
        } catch {
            throw ClusterError(.invalidSpec, "with the overrides: \(error.message)")
        }
    }
}

/// The exact layout of a cluster directory, computed from a validated spec
/// and a base directory. Pure: nothing is read or written.
///
/// ```
/// D/cluster.json                      state: the effective spec, pids (cluster up/down/status)
/// D/pki/ca.pem, ca.key                the throwaway federation CA
/// D/federation/directory.json         the unsigned directory (operator input)
/// D/federation/directory.signed.json  the signed directory every node loads
/// D/federation/revocations.signed.json
/// D/nodes/NAME/node.json              node configuration (paths relative to it)
/// D/nodes/NAME/data/                  node data directory (master key, RocksDB)
/// D/nodes/NAME/tls/NAME.pem, NAME.key, ca.pem
/// D/nodes/NAME/node.log, node.pid, node.exit, supervisor.pid
/// D/CODE/operator.json                that municipality's operator view (--node D/CODE)
/// D/vault-site/config.json, data/, tls/  the vault process (when the spec has a vault)
/// D/vault-site/vault.log, vault.pid, vault.exit, supervisor.pid
/// D/vault/vault.json, tls/             the vault's operator view for DR staff (renkei restore --vault D/vault)
/// ```
public struct ClusterPlan: Sendable, Equatable {
    /// One node's files.
    public struct NodePlan: Sendable, Equatable {
        /// The node as (effectively) declared.
        public let spec: ClusterSpec.Node
        /// The cluster's vault, which the node ships to, if there is one.
        public var vault: ClusterSpec.Vault? = nil
        /// `D/nodes/NAME`.
        public let directory: String
        /// `D/nodes/NAME/node.json`.
        public var configPath: String { directory + "/node.json" }
        /// `D/nodes/NAME/data`.
        public var dataDirectory: String { directory + "/data" }
        /// `D/nodes/NAME/tls`: the node certificate and key, and the CA certificate.
        public var tlsDirectory: String { directory + "/tls" }
        /// The node certificate.
        public var certificatePath: String { tlsDirectory + "/\(spec.name).pem" }
        /// The node's private key (0600).
        public var privateKeyPath: String { tlsDirectory + "/\(spec.name).key" }
        /// Standard output and error of the node process.
        public var logPath: String { directory + "/node.log" }
        /// The node process's id, written by its supervisor.
        public var pidPath: String { directory + "/node.pid" }
        /// How the node process ended, written by its supervisor.
        public var exitPath: String { directory + "/node.exit" }
        /// The supervisor's process id.
        public var supervisorPIDPath: String { directory + "/supervisor.pid" }
        /// `host:port`.
        public var endpoint: String { ClusterSpec.endpoint(host: spec.host, port: spec.port) }

        /// The node configuration, with paths relative to `node.json` so that
        /// the cluster directory can be moved.
        public var config: NodeConfig {
            NodeConfig(
                dataDirectory: "data", listenHost: spec.host, listenPort: spec.port,
                certificatePath: "tls/\(spec.name).pem", privateKeyPath: "tls/\(spec.name).key",
                caCertificatePath: "tls/ca.pem",
                revocationListPath: "../../federation/revocations.signed.json",
                directoryPath: "../../federation/directory.signed.json",
                adminSocketPath: "admin.sock",
                vault: vault.map { VaultSettings(host: $0.host, port: $0.port, serverName: $0.name,
                                                 mode: $0.mode == "sync" ? .sync : .async,
                                                 reconnectDelaySecondsMax: Self.reconnectDelaySecondsMax) },
                metrics: spec.metricsPort.map { ObservabilitySettings(host: spec.host, port: $0) })
        }

        /// The longest wait between attempts to reach an unreachable vault.
        /// The vault of a local cluster is on loopback and comes back within
        /// seconds of `cluster restart`; at the 30 s default the nodes could
        /// idle that long after it is back (a demo or a fault test waits for
        /// them), while retrying a loopback port every 5 s costs nothing.
        public static let reconnectDelaySecondsMax: Double = 5

        /// What the CA is asked to issue: the node's codes, its IP and localhost.
        public var certificateNames: (dns: [String], ip: [String]) { (["localhost"], [spec.host]) }

        /// The node process, for the supervisor.
        public var process: SupervisedProcess {
            SupervisedProcess(name: spec.name, command: .node, configPath: configPath, logPath: logPath,
                              pidPath: pidPath, exitPath: exitPath, supervisorPIDPath: supervisorPIDPath, netns: spec.netns)
        }
    }

    /// The vault's files: the process at `D/vault-site`, and the operator view
    /// DR staff restore with at `D/vault`.
    public struct VaultPlan: Sendable, Equatable {
        /// The vault as declared.
        public let spec: ClusterSpec.Vault
        /// `D/vault-site`.
        public let directory: String
        /// `D/vault`: the DR operator's view (endpoint, DR certificate).
        public let viewDirectory: String
        /// `D/vault-site/config.json`.
        public var configPath: String { directory + "/config.json" }
        /// `D/vault-site/data`: the vault's storage.
        public var dataDirectory: String { directory + "/data" }
        /// `D/vault-site/tls`: the vault certificate and key, and the CA certificate.
        public var tlsDirectory: String { directory + "/tls" }
        /// `D/vault/tls`: the DR operator certificate and key, and the CA certificate.
        public var viewTLSDirectory: String { viewDirectory + "/tls" }
        /// The DR operator certificate's name.
        public static let drOperatorName = "dr-operator"
        /// `host:port`.
        public var endpoint: String { ClusterSpec.endpoint(host: spec.host, port: spec.port) }

        /// The vault process, for the supervisor.
        public var process: SupervisedProcess {
            SupervisedProcess(name: spec.name, command: .vault, configPath: configPath, logPath: directory + "/vault.log",
                              pidPath: directory + "/vault.pid", exitPath: directory + "/vault.exit",
                              supervisorPIDPath: directory + "/supervisor.pid", netns: spec.netns)
        }
    }

    /// One municipality's operator view.
    public struct ViewPlan: Sendable, Equatable {
        /// The municipality code.
        public let code: String
        /// Its name.
        public let name: String
        /// The node hosting it.
        public let nodeName: String
        /// `D/CODE`.
        public let directory: String
        /// `D/CODE/recovery-kit.json`: the tenant's recovery kit, exported by `cluster up`.
        public var recoveryKitPath: String { directory + "/recovery-kit.json" }
        /// `D/CODE/recovery-kit.passphrase`: the kit's throwaway passphrase.
        /// Demo only: a real kit's passphrase is never stored next to it.
        public var recoveryKitPassphrasePath: String { directory + "/recovery-kit.passphrase" }
        /// The view: acts as `code`, configuration `../nodes/NAME/node.json`.
        public var view: OperatorView { OperatorView(actsAs: code, nodeConfigPath: "../nodes/\(nodeName)/node.json") }
    }

    /// The effective spec (overrides applied).
    public let spec: ClusterSpec
    /// The cluster directory.
    public let baseDirectory: String
    /// The nodes, in file order.
    public let nodes: [NodePlan]
    /// The operator views, in file order.
    public let views: [ViewPlan]
    /// The vault, if the spec has one.
    public let vault: VaultPlan?

    /// `D/cluster.json`.
    public var statePath: String { baseDirectory + "/" + ClusterState.fileName }
    /// `D/pki`: the federation CA (ca.pem, ca.key).
    public var caDirectory: String { baseDirectory + "/pki" }
    /// `D/federation`.
    public var federationDirectory: String { baseDirectory + "/federation" }
    /// `D/federation/directory.json`: the unsigned directory input.
    public var directoryInputPath: String { federationDirectory + "/directory.json" }
    /// `D/federation/directory.signed.json`.
    public var signedDirectoryPath: String { federationDirectory + "/directory.signed.json" }
    /// `D/federation/revocations.signed.json`.
    public var revocationListPath: String { federationDirectory + "/revocations.signed.json" }

    /// Plans `spec` (validated, overrides applied) under `baseDirectory`.
    public init(spec: ClusterSpec, baseDirectory: String) {
        let base = baseDirectory.count > 1 && baseDirectory.hasSuffix("/") ? String(baseDirectory.dropLast()) : baseDirectory
        self.spec = spec
        self.baseDirectory = base
        self.nodes = spec.nodes.map { NodePlan(spec: $0, vault: spec.vault, directory: base + "/nodes/" + $0.name) }
        self.views = spec.nodes.flatMap { node in
            node.municipalities.map {
                ViewPlan(code: $0.code, name: $0.name ?? $0.code, nodeName: node.name, directory: base + "/" + $0.code)
            }
        }
        self.vault = spec.vault.map { VaultPlan(spec: $0, directory: base + "/vault-site", viewDirectory: base + "/vault") }
    }

    /// The node named `name`.
    public func node(named name: String) -> NodePlan? { nodes.first { $0.spec.name == name } }

    /// The supervised process named `name`: a node or the vault.
    public func process(named name: String) -> SupervisedProcess? {
        if let node = node(named: name) { return node.process }
        if let vault, vault.spec.name == name { return vault.process }
        return nil
    }

    /// The unsigned directory: each node's endpoint, codes and certificate
    /// (relative to `federation/`).
    public var directoryInput: DirectoryInput {
        DirectoryInput(nodes: nodes.map { node in
            DirectoryInput.Node(name: node.spec.name, endpoint: node.endpoint,
                                codes: node.spec.municipalities.map(\.code),
                                certificate: "../nodes/\(node.spec.name)/tls/\(node.spec.name).pem")
        })
    }

    /// Every path `cluster up` creates directly under the base directory,
    /// for a check that a directory given with `--force` really held a cluster.
    public var topLevelEntries: [String] {
        [ClusterState.fileName, "pki", "federation", "nodes"] + views.map(\.code) + (vault == nil ? [] : ["vault-site", "vault"])
    }
}
