import ArgumentParser
import Foundation

/// How a long command shows its progress.
enum ProgressMode: String, ExpressibleByArgument, CaseIterable {
    /// A live bar on a terminal; nothing when stderr is not a terminal.
    case auto
    /// One line per step on stderr (for logs and scripts).
    case lines
    case none
}

/// Renders progress on stderr: items done, rate and ETA.
final class ProgressDisplay {
    private let mode: ProgressMode
    private let isTerminal: Bool
    private let started = ContinuousClock.now
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private var drewBar = false

    init(mode: ProgressMode) {
        self.mode = mode
        self.isTerminal = isatty(STDERR_FILENO) == 1
    }

    /// Reports `done` of `total` (when known) `unit`s in `phase`.
    func update(phase: String, done: Int, total: Int?, unit: String, force: Bool = false) {
        let now = ContinuousClock.now
        let elapsed = max((now - started) / .seconds(1), 0.001)
        let rate = Double(done) / elapsed
        switch mode {
        case .none:
            return
        case .lines:
            write("\(phase): \(done)\(total.map { "/\($0)" } ?? "") \(unit)\n")
        case .auto:
            guard isTerminal, force || now - lastDraw >= .milliseconds(100) else { return }
            lastDraw = now
            var line = "\r\u{1B}[2K\(phase): \(done.formatted())"
            if let total, total > 0 {
                let fraction = min(1, Double(done) / Double(total))
                let width = 24
                let filled = Int(fraction * Double(width))
                line += "/\(total.formatted()) \(unit) [" + String(repeating: "#", count: filled)
                    + String(repeating: ".", count: width - filled) + "] \(Int(fraction * 100))%"
                if rate > 0, done < total {
                    line += " ETA \(Self.duration(Double(total - done) / rate))"
                }
            } else {
                line += " \(unit)"
            }
            line += "  \(Int(rate).formatted()) \(unit)/s"
            write(line)
            drewBar = true
        }
    }

    /// Ends the bar line, if one was drawn.
    func finish() {
        if drewBar { write("\n") }
        drewBar = false
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : "\(s / 60):\(String(format: "%02d", s % 60))"
    }
}
