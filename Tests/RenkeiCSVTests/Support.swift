import Foundation
@testable import RenkeiCSV

/// A unique path under the temporary directory, removed by `cleanup`.
func temporaryPath(_ name: String = "test.csv") -> String {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("renkei-csv-tests-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory.appendingPathComponent(name).path
}

func removeDirectory(of path: String) {
    try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
}

func readAll(_ reader: CSVReader) throws -> [CSVRecord] {
    var records: [CSVRecord] = []
    while let record = try reader.next() {
        records.append(record)
    }
    return records
}

func records(_ text: String, chunkSize: Int = 1 << 20, limits: CSVLimits = .init()) throws -> [CSVRecord] {
    try readAll(CSVReader(bytes: Array(text.utf8), encoding: .utf8, limits: limits, chunkSize: chunkSize))
}

/// Reads until the first error and returns it, or nil when none is thrown.
func firstError(_ reader: CSVReader) -> CSVError? {
    do {
        while try reader.next() != nil {}
        return nil
    } catch let error as CSVError {
        return error
    } catch {
        return CSVError(.io, "unexpected error type \(type(of: error))")
    }
}

func firstError(_ text: String, chunkSize: Int = 1 << 20, limits: CSVLimits = .init()) throws -> CSVError? {
    firstError(try CSVReader(bytes: Array(text.utf8), encoding: .utf8, limits: limits, chunkSize: chunkSize))
}

/// Chunk sizes that put boundaries everywhere, up to "no boundary".
let chunkSizes = [1, 2, 3, 5, 1 << 20]
