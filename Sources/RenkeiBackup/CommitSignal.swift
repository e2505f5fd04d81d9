import Synchronization

/// Wakes the shipper when something is committed, without a queue: any
/// number of notifications between two waits collapse into one, so the
/// signal needs no bound and a burst of commits costs one wake-up.
///
/// One waiter at a time (the shipper's loop); notifying is cheap and never
/// blocks, so it is safe inside the database's commit observer.
final class CommitSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    /// Marks a commit; wakes the waiter if there is one.
    func notify() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            s.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns at once if a commit was signalled since the last wait, else
    /// at the next one, or when the task is cancelled.
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.pending || Task.isCancelled {
                        s.pending = false
                        return true
                    }
                    s.waiter = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume()
        }
    }

    /// Like `wait()`, but returns at `deadline` at the latest (nil: no
    /// bound). A commit signalled after the deadline stays pending for the
    /// next wait.
    func wait(until deadline: ContinuousClock.Instant?) async {
        guard let deadline else { return await wait() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait() }
            group.addTask { try? await Task.sleep(until: deadline) }
            // Whichever ends first ends the other (a cancelled wait resumes).
            _ = await group.next()
            group.cancelAll()
        }
    }
}
