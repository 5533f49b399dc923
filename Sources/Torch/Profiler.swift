// Where time goes: libtorch's op profiler (Kineto, the engine of torch.profiler) around a body,
// aggregated per op name into calls, total time and self time (time not spent in ops it called).
import CTorch
import Foundation

public enum Profiler {
    /// One op name's calls in a profile; times in seconds.
    public struct Entry: Sendable {
        public var name: String
        public var calls = 0
        /// Summed durations (nested calls of the same op counted in each).
        public var total = 0.0
        /// Summed durations less those of the ops each call made.
        public var selfTime = 0.0
        /// A device kernel (CUDA) rather than a host op.
        public var device = false
    }

    /// Runs `body` under the profiler and returns its result with the ops by self time, largest
    /// first. With `trace`, also writes a Chrome trace (chrome://tracing, Perfetto, TensorBoard).
    /// One profile at a time per process.
    public static func profile<R>(cuda: Bool = false, trace: URL? = nil, _ body: () throws -> R) throws -> (result: R, ops: [Entry]) {
        let table = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-profile-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).tsv")
        defer { try? FileManager.default.removeItem(at: table) }
        try check(ct_profiler_start(cuda))
        let result: R
        do { result = try body() } catch {
            _ = ct_profiler_stop(table.path, nil)
            throw error
        }
        try check(ct_profiler_stop(table.path, trace?.path))
        return (result, try aggregate(String(contentsOf: table, encoding: .utf8)))
    }

    /// Per-op sums from the event table: each thread's events nest by time, so a call's self time
    /// is its duration less its direct children's.
    static func aggregate(_ text: String) throws -> [Entry] {
        struct Event { var name: String; var thread: String; var start: Int; var duration: Int }
        var events: [Event] = []
        for line in text.split(separator: "\n") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count == 4, let start = Int(f[2]), let duration = Int(f[3]) else {
                throw TorchError(op: "profiler", message: "unreadable profile line: \(line)")
            }
            events.append(Event(name: String(f[0]), thread: String(f[1]), start: start, duration: duration))
        }
        var entries: [String: Entry] = [:]
        for (thread, list) in Dictionary(grouping: events, by: \.thread) {
            // Parents before children: earlier start first, and the longer of two that start together.
            let sorted = list.sorted { ($0.start, -$0.duration) < ($1.start, -$1.duration) }
            var selfTimes = sorted.map(\.duration)
            var open: [Int] = []  // indices of calls still running at the current start
            for (i, e) in sorted.enumerated() {
                while let top = open.last, sorted[top].start + sorted[top].duration <= e.start { open.removeLast() }
                if thread != "device", let parent = open.last { selfTimes[parent] -= e.duration }
                open.append(i)
            }
            for (i, e) in sorted.enumerated() {
                var entry = entries[e.name] ?? Entry(name: e.name, device: thread == "device")
                entry.calls += 1
                entry.total += Double(e.duration) / 1e9
                entry.selfTime += Double(Swift.max(selfTimes[i], 0)) / 1e9
                entries[e.name] = entry
            }
        }
        return entries.values.sorted { $0.selfTime > $1.selfTime }
    }

    /// The first `limit` ops as a table: self time, its share of all self time, total time, calls.
    public static func table(_ ops: [Entry], limit: Int = 20) -> String {
        let all = ops.reduce(0) { $0 + $1.selfTime }
        var lines = ["self s    share  total s   calls  op"]
        for e in ops.prefix(limit) {
            lines.append(String(format: "%7.3f  %5.1f%%  %7.3f  %6d  %@%@", e.selfTime, 100 * e.selfTime / Swift.max(all, 1e-12), e.total, e.calls,
                                e.name, e.device ? " (device)" : ""))
        }
        lines.append(String(format: "%7.3f  100.0%%  (all %d ops)", all, ops.count))
        return lines.joined(separator: "\n")
    }
}
