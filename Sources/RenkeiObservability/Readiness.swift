import Synchronization

/// Readiness as the node reports it: each named check is ready or not, with a
/// short reason. `/readyz` answers 200 only when every check is ready.
///
/// Check names and reasons are chosen by the node's code ("store", "peers",
/// "directory: expired"), never taken from requests or records: they are
/// served without authentication, so they must carry no personal data.
/// Both are bounded (a name to ``maxNameLength`` and a reason to
/// ``maxReasonLength`` characters, control characters replaced by spaces, so
/// one check is always one line), and so is the number of checks
/// (``maxChecks``; beyond that the node reports itself not ready, because a
/// check that could not be recorded might be the failing one).
///
/// Thread-safe: a `Mutex` guards the state; `set` may be called from any
/// task or thread.
public final class Readiness: Sendable {
    /// The most checks kept.
    public static let maxChecks = 64
    /// The longest check name kept, in characters.
    public static let maxNameLength = 64
    /// The longest reason kept, in characters.
    public static let maxReasonLength = 160
    /// The check reported when more than ``maxChecks`` were set.
    static let overflowCheck = "readiness-overflow"

    private struct Entry: Sendable {
        var ready: Bool
        var reason: String
    }

    private struct State: Sendable {
        var checks: [String: Entry] = [:]
        var overflowed = false
    }

    private let state = Mutex(State())

    public init() {}

    /// Records the state of one check, replacing what it said before.
    /// - Parameters:
    ///   - check: the check's name (from code; no personal data).
    ///   - ready: whether this part of the node is ready to serve.
    ///   - reason: why not, when not ready (short; no personal data).
    public func set(_ check: String, ready: Bool, reason: String = "") {
        let cleanedName = Self.clean(check, limit: Self.maxNameLength)
        let name = cleanedName.isEmpty ? "unnamed" : cleanedName
        let entry = Entry(ready: ready, reason: Self.clean(reason, limit: Self.maxReasonLength))
        state.withLock { state in
            if state.checks[name] == nil && state.checks.count >= Self.maxChecks {
                state.overflowed = true
                return
            }
            state.checks[name] = entry
        }
    }

    /// Every check, sorted by name.
    public var snapshot: [(check: String, ready: Bool, reason: String)] {
        state.withLock { state in
            var result = state.checks
                .map { (check: $0.key, ready: $0.value.ready, reason: $0.value.reason) }
            if state.overflowed {
                result.append((check: Self.overflowCheck, ready: false, reason: "more than \(Self.maxChecks) checks set"))
            }
            return result.sorted { $0.check < $1.check }
        }
    }

    /// Whether every check is ready and at least one is registered (a node
    /// that has not reported anything yet has not finished starting).
    public var isReady: Bool {
        state.withLock { state in
            !state.overflowed && !state.checks.isEmpty && state.checks.values.allSatisfy(\.ready)
        }
    }

    /// Truncates to `limit` characters and replaces control characters
    /// (line breaks above all) with spaces, so `/readyz` stays one line per check.
    static func clean(_ text: String, limit: Int) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.prefix(limit).unicodeScalars {
            scalars.append(scalar.properties.generalCategory == .control ? " " : scalar)
        }
        return String(scalars)
    }
}
