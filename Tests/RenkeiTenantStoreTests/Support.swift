import Foundation
import Logging
import RenkeiCore
import RenkeiSynth
@testable import RenkeiTenantStore

/// A fresh node in a temporary directory, removed when the test ends.
final class TemporaryNode {
    let root: String
    let directory: NodeDirectory
    let logger = Logger(label: "test")

    init() throws {
        root = NSTemporaryDirectory() + "renkei-test-\(UUID().uuidString)"
        directory = NodeDirectory(root + "/node")
        try NodeStore.initialize(at: directory, logger: logger)
    }

    func open(_ options: NodeStoreOptions = .init()) throws(NodeError) -> NodeStore {
        try NodeStore.open(directory, options: options, logger: logger)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }
}

let matsue = try! MunicipalityCode("322016")
let izumo = try! MunicipalityCode("322032")

func people(_ code: MunicipalityCode, count: Int, seed: UInt64 = 1) -> [GeneratedPerson] {
    let generator = PopulationGenerator(spec: PopulationSpec(municipality: code, count: count, seed: seed))
    return (0..<count).map { generator.person(at: $0) }
}

/// Every regular file under `path`, recursively.
func allFiles(under path: String) -> [String] {
    guard let e = FileManager.default.enumerator(atPath: path) else { return [] }
    var result: [String] = []
    while let item = e.nextObject() as? String {
        var isDir: ObjCBool = false
        let full = path + "/" + item
        if FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue { result.append(full) }
    }
    return result
}

