import ArgumentParser
import Foundation
import RenkeiTenantStore

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a node data directory and its master key.",
        discussion: """
        Creates DATA/node.json, DATA/db (RocksDB), DATA/keys and the node master key \
        (DATA/master.key, mode 0600, unless --master-key-file or RENKEI_MASTER_KEY says otherwise). \
        Keep a copy of the master key somewhere safe and separate: without it the node's data cannot be read.
        """
    )

    @OptionGroup var node: NodeOptions

    func run() throws {
        try reportingFailures {
            let logger = node.logger()
            do throws(NodeError) {
                let manifest = try NodeStore.initialize(at: NodeDirectory(node.data), masterKey: node.masterKeySource, logger: logger)
                print("initialized node \(manifest.nodeID) in \(node.data)")
                print("master key fingerprint: \(manifest.masterKeyFingerprint)")
            } catch {
                throw CLIFailure(error.description)
            }
        }
    }
}
