import Foundation

/// `vault.json` in a vault *operator view* directory (`$D/vault` of a local
/// cluster): how DR staff reach the vault and with which certificate. The
/// lead's `cluster up` writes it; `renkei restore --vault DIR` reads it.
///
/// ```json
/// {
///   "host": "127.0.0.1", "port": 7443, "serverName": "vault",
///   "certificate": "dr-operator.crt", "privateKey": "dr-operator.key",
///   "caCertificate": "ca.crt", "revocationList": "ca.crl",
///   "dataDirectory": "../vault-data",
///   "tenants": { "322016": "matsue" }
/// }
/// ```
///
/// Relative paths are relative to the directory holding `vault.json`. The
/// private key file must be readable only by its owner.
public struct VaultOperatorView: Codable, Sendable, Equatable {
    public static let fileName = "vault.json"
    /// A `vault.json` is a few hundred bytes; refuse anything far bigger.
    static let maximumFileBytes = 1 << 20

    /// The vault's gRPC endpoint.
    public var host: String
    public var port: Int
    /// The name to expect in the vault's certificate, if not `host`.
    public var serverName: String?
    /// The DR operator certificate (PEM; role `dr-operator`) and its key.
    public var certificate: String
    public var privateKey: String
    /// The federation CA certificate (PEM) the vault's certificate chains to.
    public var caCertificate: String
    /// The federation's revocation list, if any.
    public var revocationList: String?
    /// The vault's data directory, when it is reachable from here (a local
    /// cluster, or the vault's disks mounted at the DR site): a restore can
    /// then read it directly, without the vault process.
    public var dataDirectory: String?
    /// Which node hosts which municipality (code → node name), so a
    /// `--code` restore needs no `--node`. Optional.
    public var tenants: [String: String]?

    public init(host: String, port: Int, serverName: String? = nil, certificate: String, privateKey: String,
                caCertificate: String, revocationList: String? = nil, dataDirectory: String? = nil, tenants: [String: String]? = nil) {
        self.host = host
        self.port = port
        self.serverName = serverName
        self.certificate = certificate
        self.privateKey = privateKey
        self.caCertificate = caCertificate
        self.revocationList = revocationList
        self.dataDirectory = dataDirectory
        self.tenants = tenants
    }

    /// Whether `directory` holds a `vault.json`.
    public static func isOperatorView(_ directory: String) -> Bool {
        FileManager.default.fileExists(atPath: directory + "/" + fileName)
    }

    /// Reads `directory/vault.json`, with its relative paths made absolute.
    public static func load(directory: String) throws(RestoreError) -> VaultOperatorView {
        let path = directory + "/" + fileName
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RestoreError(.notFound, "\(path) cannot be read")
        }
        guard data.count <= maximumFileBytes else {
            throw RestoreError(.limit, "\(path) has \(data.count) bytes; a vault.json is small")
        }
        var view: VaultOperatorView
        do {
            view = try JSONDecoder().decode(VaultOperatorView.self, from: data)
        } catch {
            throw RestoreError(.invalidArgument, "\(path) is not a vault operator view", cause: RestoreCause(error))
        }
        guard (1...65_535).contains(view.port), !view.host.isEmpty else {
            throw RestoreError(.invalidArgument, "\(path): host must be set and port be 1–65535")
        }
        let base = URL(fileURLWithPath: directory, isDirectory: true)
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : base.appendingPathComponent(p).standardizedFileURL.path }
        view.certificate = resolve(view.certificate)
        view.privateKey = resolve(view.privateKey)
        view.caCertificate = resolve(view.caCertificate)
        view.revocationList = view.revocationList.map(resolve)
        view.dataDirectory = view.dataDirectory.map(resolve)
        return view
    }
}
