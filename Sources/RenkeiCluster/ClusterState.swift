import Foundation

/// `D/cluster.json`: what `cluster up` made, for `down`, `status` and
/// `sample`. It holds the effective spec (ports and resident counts after
/// overrides) and each node's process ids; never personal data.
public struct ClusterState: Sendable, Codable, Equatable {
    /// The file name inside the cluster directory.
    public static let fileName = "cluster.json"
    /// The format this version writes and reads.
    public static let currentFormat = 1

    /// A node process as started.
    public struct NodeProcess: Sendable, Codable, Equatable {
        /// The node's name.
        public var name: String
        /// The `renkei node` process.
        public var pid: Int32
        /// The supervisor that waits for it and records how it ended.
        public var supervisorPID: Int32
        /// When it was started (ISO 8601).
        public var startedAt: String

        public init(name: String, pid: Int32, supervisorPID: Int32, startedAt: String) {
            self.name = name
            self.pid = pid
            self.supervisorPID = supervisorPID
            self.startedAt = startedAt
        }
    }

    /// The file format (`currentFormat`).
    public var format: Int
    /// The spec the cluster was made from, overrides applied.
    public var spec: ClusterSpec
    /// Where the spec came from.
    public var source: String
    /// When the cluster was created (ISO 8601).
    public var createdAt: String
    /// The node processes of the last `cluster up`; empty after `cluster down`.
    public var processes: [NodeProcess]

    public init(spec: ClusterSpec, source: String, createdAt: String, processes: [NodeProcess] = []) {
        self.format = Self.currentFormat
        self.spec = spec
        self.source = source
        self.createdAt = createdAt
        self.processes = processes
    }

    /// The process record of node `name`, if it was started.
    public func process(of name: String) -> NodeProcess? { processes.first { $0.name == name } }

    /// Reads `DIR/cluster.json`.
    public static func load(directory: String) throws(ClusterError) -> ClusterState {
        let path = directory + "/" + fileName
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ClusterError(.noCluster, "\(directory) holds no cluster (no \(fileName)); start one with: renkei cluster up FILE --dir \(directory)")
        }
        let state: ClusterState
        do {
            state = try JSONDecoder().decode(ClusterState.self, from: data)
        } catch {
            throw ClusterError(.noCluster, "\(path) is not a cluster state file", cause: SendableText(String(describing: error)))
        }
        guard state.format == currentFormat else {
            throw ClusterError(.noCluster, "\(path) has format \(state.format); this renkei reads format \(currentFormat)")
        }
        return state
    }

    /// Writes `DIR/cluster.json` atomically.
    public func write(directory: String) throws(ClusterError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            try encoder.encode(self).write(to: URL(fileURLWithPath: directory + "/" + Self.fileName), options: .atomic)
        } catch {
            throw ClusterError(.setup, "cannot write \(directory)/\(Self.fileName)", cause: SendableText(error.localizedDescription))
        }
    }
}

/// An error's text, for causes whose type is not Sendable.
public struct SendableText: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ text: String) { description = text }
}
