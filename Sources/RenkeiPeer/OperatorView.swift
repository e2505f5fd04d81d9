import Foundation
import RenkeiCore

/// One municipality's operator view of its node: the directory an operator
/// passes as `--node DIR`. It holds `operator.json`, which names the
/// municipality the operator acts as and the node configuration (and through
/// it the node's certificates, directory and admin socket).
///
/// On a shared node each hosted municipality has its own view, so
/// `--node $D/322016` acts as Matsue and `--node $D/322024` as Hamada on the
/// same node process. In production `--node` points at the node's
/// configuration directory, which holds the same file.
public struct OperatorView: Sendable, Codable, Equatable {
    /// The file name inside the view directory.
    public static let fileName = "operator.json"

    /// The municipality code this view acts as (6 digits).
    public var actsAs: String
    /// The node configuration file, relative to the view directory or absolute.
    public var nodeConfigPath: String

    public init(actsAs: String, nodeConfigPath: String) {
        self.actsAs = actsAs
        self.nodeConfigPath = nodeConfigPath
    }

    /// Reads `DIR/operator.json`; `nodeConfigPath` comes back absolute.
    public static func load(directory: String) throws(PeerError) -> OperatorView {
        let path = directory + "/" + fileName
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw PeerError(.configuration, "\(directory) is not an operator view: cannot read \(fileName)", cause: error)
        }
        var view: OperatorView
        do {
            view = try JSONDecoder().decode(OperatorView.self, from: data)
        } catch {
            throw PeerError(.configuration, "\(path) is not a valid operator view: \(error)")
        }
        do throws(ValidationError) {
            _ = try MunicipalityCode(view.actsAs)
        } catch {
            throw PeerError(.configuration, "\(path): actsAs: \(error.message)")
        }
        if !view.nodeConfigPath.hasPrefix("/") {
            view.nodeConfigPath = URL(fileURLWithPath: directory).standardizedFileURL.path + "/" + view.nodeConfigPath
        }
        return view
    }

    /// The municipality this view acts as.
    public var municipality: MunicipalityCode {
        // Checked by `load`; a hand-built view with a bad code is a programming error.
        try! MunicipalityCode(actsAs)
    }

    /// Writes `DIR/operator.json` (pretty JSON).
    public func write(directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: URL(fileURLWithPath: directory + "/" + Self.fileName))
    }
}
