import Dispatch
import Foundation
import RenkeiCSV
import RenkeiCore
import Synchronization

/// One parsed row of an import, or why it is bad.
struct ImportItem<Row: Sendable>: Sendable {
    let line: Int
    let row: Row?
    let error: RowError?
}

/// What the reading thread hands over.
enum ProducedBatch<Row: Sendable>: Sendable {
    case batch([ImportItem<Row>], bytesRead: Int, totalBytes: Int?)
    case failure(ImportError)
}

/// A bounded hand-over between the thread that reads and parses a CSV file
/// and the thread that checks or stores its rows, so the two overlap on two
/// cores while at most `capacity` batches wait in memory.
final class BatchQueue<Element: Sendable>: Sendable {
    private struct State: Sendable {
        var items: [Element] = []
        var finished = false
        var cancelled = false
    }
    private let state = Mutex(State())
    private let slots: DispatchSemaphore
    private let available = DispatchSemaphore(value: 0)

    init(capacity: Int) {
        slots = DispatchSemaphore(value: capacity)
    }

    /// Blocks while the queue is full. Returns false once the consumer has cancelled.
    func put(_ element: Element) -> Bool {
        slots.wait()
        let accepted = state.withLock { state -> Bool in
            guard !state.cancelled else { return false }
            state.items.append(element)
            return true
        }
        if accepted { available.signal() }
        return accepted
    }

    /// No more elements will come.
    func finish() {
        state.withLock { $0.finished = true }
        available.signal()
    }

    /// Blocks until an element or the end; nil at the end.
    func take() -> Element? {
        while true {
            available.wait()
            let (element, done) = state.withLock { state -> (Element?, Bool) in
                if !state.items.isEmpty { return (state.items.removeFirst(), false) }
                return (nil, state.finished)
            }
            if let element {
                slots.signal()
                return element
            }
            if done {
                available.signal()  // keep later take() calls from blocking
                return nil
            }
        }
    }

    /// The consumer stops early: unblock and stop the producer.
    func cancel() {
        state.withLock { $0.cancelled = true }
        slots.signal()
    }
}

/// Reads a CSV file and parses its rows on its own thread.
struct BatchProducer<Row: Sendable>: Sendable {
    let path: String
    let encoding: TextEncoding
    let required: [String]
    let optional: [String]
    let batchRows: Int
    let parse: @Sendable (CSVHeader, CSVRecord) throws(ValidationError) -> Row
    let queue: BatchQueue<ProducedBatch<Row>>

    func start() {
        let thread = Thread { self.run() }
        thread.name = "renkei-import-reader"
        thread.start()
    }

    private func run() {
        defer { queue.finish() }
        let reader: CSVReader
        let header: CSVHeader
        do {
            reader = try CSVReader(path: path, encoding: encoding)
            guard let first = try reader.next() else {
                throw CSVError(.header, "the file is empty: a header row is required", line: 1)
            }
            header = try CSVHeader(first, required: required, optional: optional)
        } catch {
            _ = queue.put(.failure(unreadable(error)))
            return
        }
        var batch: [ImportItem<Row>] = []
        batch.reserveCapacity(batchRows)
        while true {
            let record: CSVRecord?
            do {
                record = try reader.next()
            } catch {
                _ = queue.put(.failure(unreadable(error)))
                return
            }
            guard let record else { break }
            if record.fields.count != header.names.count {
                batch.append(ImportItem(line: record.line, row: nil, error: RowError(
                    line: record.line, field: "row", rule: "columnCount",
                    message: "has \(record.fields.count) fields; the header has \(header.names.count)")))
            } else {
                do throws(ValidationError) {
                    batch.append(ImportItem(line: record.line, row: try parse(header, record), error: nil))
                } catch {
                    batch.append(ImportItem(line: record.line, row: nil, error: RowError(
                        line: record.line, field: error.field, rule: error.rule.rawValue, message: error.message)))
                }
            }
            if batch.count == batchRows {
                guard queue.put(.batch(batch, bytesRead: reader.bytesRead, totalBytes: reader.totalBytes)) else { return }
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty {
            _ = queue.put(.batch(batch, bytesRead: reader.bytesRead, totalBytes: reader.totalBytes))
        }
    }

    private func unreadable(_ error: any Error) -> ImportError {
        ImportError(code: .unreadable, message: "\(path): cannot be read as \(encoding.rawValue) CSV: \(error); nothing was stored",
                    rowErrors: [], badRowCount: 0, cause: error)
    }
}
