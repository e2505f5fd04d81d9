import Foundation
import RenkeiCore
import RenkeiSynth

/// A local cluster, as declared in a cluster file such as `Cluster/local.json`:
/// which nodes run, where they listen, and which municipalities each hosts
/// with how many generated residents.
///
/// ```json
/// {"seed": 1,
///  "nodes": [
///    {"name": "matsue", "port": 17441,
///     "municipalities": [{"code": "322016", "name": "松江市", "residents": 2000}]},
///    {"name": "hamada-yasugi", "host": "127.0.0.1", "port": 17443,
///     "municipalities": [{"code": "322024", "residents": 1000}, {"code": "322067", "residents": 1000}]}
///  ]}
/// ```
///
/// Decoding only reads the shape; `validated()` checks every rule and names
/// the field that breaks one.
public struct ClusterSpec: Sendable, Codable, Equatable {
    /// One municipality (tenant) of a node.
    public struct Municipality: Sendable, Codable, Equatable {
        /// The 6-digit local-government code, check digit included.
        public var code: String
        /// Its name; when omitted, the name RenkeiSynth knows for the code.
        public var name: String?
        /// How many synthetic residents to generate and import.
        public var residents: Int

        public init(code: String, name: String? = nil, residents: Int) {
            self.code = code
            self.name = name
            self.residents = residents
        }
    }

    /// One node process.
    public struct Node: Sendable, Codable, Equatable {
        /// The node's name: its directory, certificate CN and directory entry name.
        public var name: String
        /// The address its peer API listens on (an IP address; default 127.0.0.1).
        public var host: String
        /// The port its peer API listens on.
        public var port: Int
        /// The municipalities it hosts (one, or several on a shared node).
        public var municipalities: [Municipality]
        /// The port of its `/metrics`, `/healthz` and `/readyz` endpoint (on `host`); none if absent.
        public var metricsPort: Int?
        /// The Linux network namespace it runs in (`ip netns exec NAME`), which
        /// must exist and hold `host`; none: the namespace of `cluster up`.
        public var netns: String?

        public init(name: String, host: String = "127.0.0.1", port: Int, municipalities: [Municipality], metricsPort: Int? = nil,
                    netns: String? = nil) {
            self.name = name
            self.host = host
            self.port = port
            self.municipalities = municipalities
            self.metricsPort = metricsPort
            self.netns = netns
        }

        enum CodingKeys: String, CodingKey { case name, host, port, municipalities, metricsPort, netns }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            host = try c.decodeIfPresent(String.self, forKey: .host) ?? "127.0.0.1"
            port = try c.decode(Int.self, forKey: .port)
            municipalities = try c.decode([Municipality].self, forKey: .municipalities)
            metricsPort = try c.decodeIfPresent(Int.self, forKey: .metricsPort)
            netns = try c.decodeIfPresent(String.self, forKey: .netns)
        }
    }

    /// The backup vault at the "remote site" (issue 5): a `renkei vault`
    /// process every node ships its changes to. Optional: a cluster file
    /// without one runs nodes without backup.
    public struct Vault: Sendable, Codable, Equatable {
        /// Its name: the vault certificate's common name (default "vault").
        public var name: String
        /// The address it listens on (default 127.0.0.1).
        public var host: String
        /// Its port.
        public var port: Int
        /// `async` (default) or `sync` shipping from every node.
        public var mode: String
        /// The Linux network namespace it runs in, as for a node.
        public var netns: String?

        public init(name: String = "vault", host: String = "127.0.0.1", port: Int, mode: String = "async", netns: String? = nil) {
            self.name = name
            self.host = host
            self.port = port
            self.mode = mode
            self.netns = netns
        }

        enum CodingKeys: String, CodingKey { case name, host, port, mode, netns }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decodeIfPresent(String.self, forKey: .name) ?? "vault"
            host = try c.decodeIfPresent(String.self, forKey: .host) ?? "127.0.0.1"
            port = try c.decode(Int.self, forKey: .port)
            mode = try c.decodeIfPresent(String.self, forKey: .mode) ?? "async"
            netns = try c.decodeIfPresent(String.self, forKey: .netns)
        }
    }

    /// The seed of the synthetic populations: municipality C with N residents
    /// holds exactly what `renkei gen --code C --count N --seed SEED` writes.
    public var seed: UInt64
    /// Days the signed directory and the revocation list stay valid (default 30).
    public var directoryValidDays: Int
    /// The nodes.
    public var nodes: [Node]
    /// The backup vault, if the cluster has one.
    public var vault: Vault?

    /// The default validity of the directory: a local cluster left running
    /// for a few weeks keeps answering.
    public static let defaultDirectoryValidDays = 30
    /// The most residents one municipality may be given in a cluster file.
    public static let maxResidents = 1_000_000

    public init(seed: UInt64 = 1, directoryValidDays: Int = ClusterSpec.defaultDirectoryValidDays, nodes: [Node], vault: Vault? = nil) {
        self.seed = seed
        self.directoryValidDays = directoryValidDays
        self.nodes = nodes
        self.vault = vault
    }

    enum CodingKeys: String, CodingKey { case seed, directoryValidDays, nodes, vault }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 1
        directoryValidDays = try c.decodeIfPresent(Int.self, forKey: .directoryValidDays) ?? Self.defaultDirectoryValidDays
        nodes = try c.decode([Node].self, forKey: .nodes)
        vault = try c.decodeIfPresent(Vault.self, forKey: .vault)
    }

    /// Parses a cluster file and validates it; `source` names it in errors.
    public static func parse(_ data: Data, source: String) throws(ClusterError) -> ClusterSpec {
        let spec: ClusterSpec
        do {
            spec = try JSONDecoder().decode(ClusterSpec.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw ClusterError(.invalidSpec, "\(source): \(Self.path(context.codingPath + [key])): required")
        } catch let DecodingError.typeMismatch(_, context) {
            throw ClusterError(.invalidSpec, "\(source): \(Self.path(context.codingPath)): wrong type (\(context.debugDescription))")
        } catch let DecodingError.valueNotFound(_, context) {
            throw ClusterError(.invalidSpec, "\(source): \(Self.path(context.codingPath)): must not be null")
        } catch {
            throw ClusterError(.invalidSpec, "\(source): not a cluster file (JSON {\"seed\", \"nodes\": [{\"name\", \"port\", \"municipalities\": [{\"code\", \"residents\"}]}]})")
        }
        do throws(ClusterError) {
            return try spec.validated()
        } catch {
            throw ClusterError(.invalidSpec, "\(source): \(error.message)")
        }
    }

    /// Reads and validates the cluster file at `path`.
    public static func load(contentsOf path: String) throws(ClusterError) -> ClusterSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ClusterError(.invalidSpec, "cannot read cluster file \(path): no such file or not readable")
        }
        return try parse(data, source: path)
    }

    /// `nodes[1].municipalities[0].code` from a coding path.
    static func path(_ keys: [any CodingKey]) -> String {
        var text = ""
        for key in keys {
            if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
        }
        return text.isEmpty ? "(top level)" : text
    }

    /// Checks every rule and fills in omitted municipality names.
    ///
    /// - Throws: `.invalidSpec` naming the field (`nodes[2].municipalities[0].code`)
    ///   and the rule it breaks.
    public func validated() throws(ClusterError) -> ClusterSpec {
        func fail(_ field: String, _ rule: String) -> ClusterError { ClusterError(.invalidSpec, "\(field): \(rule)") }
        guard !nodes.isEmpty else { throw fail("nodes", "list at least one node") }
        guard (1...3650).contains(directoryValidDays) else { throw fail("directoryValidDays", "must be between 1 and 3650") }
        var result = self
        var nodeNames: [String: Int] = [:]
        var hostedBy: [String: String] = [:]
        var endpoints: [String: String] = [:]
        for (n, node) in nodes.enumerated() {
            let at = "nodes[\(n)]"
            guard Self.isValidNodeName(node.name) else {
                throw fail("\(at).name", "must be 1 to 64 of a-z, A-Z, 0-9, '.', '_', '-', starting with a letter or digit")
            }
            if let other = nodeNames[node.name] {
                throw fail("\(at).name", "\"\(node.name)\" is already the name of nodes[\(other)]; node names are unique")
            }
            nodeNames[node.name] = n
            guard Self.isIPAddress(node.host) else {
                throw fail("\(at).host", "must be an IPv4 or IPv6 address (the node certificate carries it)")
            }
            guard (1...65_535).contains(node.port) else { throw fail("\(at).port", "must be between 1 and 65535") }
            if let netns = node.netns, !Self.isValidNetnsName(netns) { throw fail("\(at).netns", Self.netnsRule) }
            let endpoint = Self.endpoint(host: node.host, port: node.port)
            if let other = endpoints[endpoint] {
                throw fail("\(at).port", "\(endpoint) is also the endpoint of node \(other); each node needs its own port")
            }
            endpoints[endpoint] = node.name
            if let metricsPort = node.metricsPort {
                guard (1...65_535).contains(metricsPort) else { throw fail("\(at).metricsPort", "must be between 1 and 65535") }
                let metricsEndpoint = Self.endpoint(host: node.host, port: metricsPort)
                if let other = endpoints[metricsEndpoint] {
                    throw fail("\(at).metricsPort", "\(metricsEndpoint) is also used by node \(other); each endpoint needs its own port")
                }
                endpoints[metricsEndpoint] = node.name
            }
            guard !node.municipalities.isEmpty else {
                throw fail("\(at).municipalities", "a node hosts at least one municipality")
            }
            for (m, municipality) in node.municipalities.enumerated() {
                let field = "\(at).municipalities[\(m)]"
                let code: MunicipalityCode
                do throws(ValidationError) {
                    code = try MunicipalityCode(municipality.code)
                } catch {
                    throw fail("\(field).code", "\(error.message) [\(error.rule.rawValue)]")
                }
                if let other = hostedBy[code.rawValue] {
                    throw fail("\(field).code", "\(code) is already hosted by node \(other); a municipality is hosted by exactly one node")
                }
                hostedBy[code.rawValue] = node.name
                if let name = municipality.name {
                    guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.count <= 64 else {
                        throw fail("\(field).name", "must be 1 to 64 characters")
                    }
                } else {
                    guard let known = MunicipalityNames.name(of: code) else {
                        throw fail("\(field).name", "required: \(code) is not a municipality whose name is built in")
                    }
                    result.nodes[n].municipalities[m].name = known
                }
                guard (1...Self.maxResidents).contains(municipality.residents) else {
                    throw fail("\(field).residents", "must be between 1 and \(Self.maxResidents)")
                }
            }
        }
        if let vault {
            guard Self.isValidNodeName(vault.name) else {
                throw fail("vault.name", "must be 1 to 64 of a-z, A-Z, 0-9, '.', '_', '-', starting with a letter or digit")
            }
            if let other = nodeNames[vault.name] {
                throw fail("vault.name", "\"\(vault.name)\" is already the name of nodes[\(other)]; the vault needs its own name")
            }
            guard Self.isIPAddress(vault.host) else { throw fail("vault.host", "must be an IPv4 or IPv6 address (the vault certificate carries it)") }
            guard (1...65_535).contains(vault.port) else { throw fail("vault.port", "must be between 1 and 65535") }
            let endpoint = Self.endpoint(host: vault.host, port: vault.port)
            if let other = endpoints[endpoint] {
                throw fail("vault.port", "\(endpoint) is also the endpoint of node \(other); the vault needs its own port")
            }
            guard ["async", "sync"].contains(vault.mode) else { throw fail("vault.mode", "must be \"async\" or \"sync\"") }
            if let netns = vault.netns, !Self.isValidNetnsName(netns) { throw fail("vault.netns", Self.netnsRule) }
        }
        return result
    }

    /// Every municipality code of the cluster, in file order.
    public var codes: [String] { nodes.flatMap { $0.municipalities.map(\.code) } }

    /// The node hosting `code`, if any.
    public func node(hosting code: String) -> Node? {
        nodes.first { $0.municipalities.contains { $0.code == code } }
    }

    /// The municipality `code`, if the cluster has it.
    public func municipality(_ code: String) -> Municipality? {
        nodes.lazy.flatMap(\.municipalities).first { $0.code == code }
    }

    static func isValidNodeName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count) else { return false }
        func alnum(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }
        return alnum(bytes[0]) && bytes.allSatisfy { alnum($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
    }

    /// What a `netns` field must be.
    static let netnsRule = "must be 1 to 15 of a-z, 0-9 and '-', not starting with '-' (a network namespace made with `ip netns add`)"

    /// 1 to 15 of a-z, 0-9, '-', not starting with '-': nothing `ip netns exec`
    /// could read as an option or a path.
    static func isValidNetnsName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        func allowed(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2D }
        return (1...15).contains(bytes.count) && bytes[0] != 0x2D && bytes.allSatisfy(allowed)
    }

    static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// `host:port`, or `[v6]:port`.
    public static func endpoint(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
