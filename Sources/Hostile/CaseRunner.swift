// What the three campaigns share: the tally of their cases (how many, the slowest and what it was,
// refusals by their first words) and, for the two that run the `magvit` tool (the tool kinds and the
// fault campaign), their outcomes, their folders (a new one for each case beside the canary tree,
// which is checked after every case) and starting the tool: processes run together, each one's output
// in a log file (a pipe that nobody reads while waiting could fill and block the tool), a signal sent
// after a delay, a file size limit, and a time limit after which a process is killed as hung.
import Foundation

/// Cases counted as they run.
public struct CaseTally: Sendable {
    public var cases = 0
    /// The slowest case, in seconds, and what it was.
    public var slowest = 0.0
    public var slowestCase = ""
    /// Refusal messages by their first words, to see what was exercised.
    public var messages: [String: Int] = [:]

    /// Counts the case `label`, which started at `started`.
    mutating func count(_ label: String, since started: Date) {
        let seconds = Date().timeIntervalSince(started)
        if seconds > slowest { (slowest, slowestCase) = (seconds, label) }
        cases += 1
    }

    /// Counts a refusal under the first `words` words of its message (long words shortened).
    mutating func refused(_ message: Substring, words: Int) {
        let key = message.split(separator: " ").prefix(words).map { $0.count > 40 ? $0.prefix(37) + "..." : $0 }.joined(separator: " ")
        messages[key, default: 0] += 1
    }

    /// The most frequent messages, a line each.
    public func commonMessages(_ count: Int) -> [String] {
        messages.sorted { $0.value > $1.value }.prefix(count).map { "\($0.value)× \($0.key) ..." }
    }
}

/// How the cases of a campaign that runs the tool ended.
public struct ToolOutcomes: Sendable {
    public var completed = 0
    public var refused = 0
    public var crashes = 0
    public var hangs = 0
    /// Cases that changed a guarded file of their own folder (their input, a user's files, a link's target).
    public var clobbered = 0
    /// Cases after which a file outside the case's folder (the canary tree, the fixtures) had changed.
    public var canaryChanges = 0
    /// One line per failing case (and per raw message).
    public var problems: [String] = []
}

/// A campaign's folder: the canary tree and the fixtures, watched, and a new folder for each case.
struct CaseFolders {
    let root: URL
    var watch: Canary.Watch

    /// `canary` and `also` (the fixtures) are fingerprinted now and checked after every case.
    init(_ root: URL, canary: Canary, also others: [URL]) throws {
        self.root = root
        watch = try Canary.Watch(canary, also: others)
    }

    /// A new, empty folder for case `index`.
    func make(_ index: Int) throws -> URL {
        let work = root.appendingPathComponent(String(format: "case-%05d", index))
        try? FileManager.default.removeItem(at: work)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        return work
    }

    /// After case `label`: a change outside its folder is counted in `outcomes`, with what changed.
    mutating func check(after label: String, into outcomes: inout ToolOutcomes) throws {
        guard let changes = try watch.changes() else { return }
        outcomes.canaryChanges += 1
        outcomes.problems.append("\(label): changed outside its folder: \(changes)")
    }
}

/// One process of a case: arguments of the tool and extra environment variables.
struct Invocation {
    var arguments: [String]
    var environment: [String: String] = [:]
}

/// How one process of a case ended.
struct Execution {
    var status: Int32 = 0
    /// The signal that ended it, unless it was killed for running past the limit (then `hung`).
    var signal: Int32?
    var hung = false
    var output = ""
}

enum ToolProcesses {
    /// Runs `tool` once per invocation, all together, in `folder` (nil: this process's), without the
    /// distributed variables of this process's environment, under `ulimit -f fileSizeLimitKiB` when
    /// given; sends `signal` to each after its delay; kills what runs past `limit` seconds as hung.
    static func run(_ tool: String, _ runs: [Invocation], in folder: URL? = nil, limit: Double, fileSizeLimitKiB: Int? = nil,
                    signal: (number: Int32, delay: Double)? = nil) throws -> [Execution] {
        var base = ProcessInfo.processInfo.environment
        for key in base.keys where ["RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"].contains(key) || key.hasPrefix("SLURM_") {
            base[key] = nil
        }
        var started: [(process: Process, log: FileHandle, url: URL)] = []
        defer {
            for (process, _, url) in started {
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                try? FileManager.default.removeItem(at: url)
            }
        }
        for run in runs {
            let process = Process()
            if let fileSizeLimitKiB {
                process.executableURL = URL(fileURLWithPath: "/bin/bash")
                process.arguments = ["-c", "ulimit -f \(fileSizeLimitKiB); exec \"$0\" \"$@\"", tool] + run.arguments
            } else {
                process.executableURL = URL(fileURLWithPath: tool)
                process.arguments = run.arguments
            }
            process.environment = base.merging(run.environment) { $1 }
            if let folder { process.currentDirectoryURL = folder }
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-case-\(getpid())-\(UUID().uuidString).log")
            _ = FileManager.default.createFile(atPath: url.path, contents: nil)
            let log = try FileHandle(forWritingTo: url)
            started.append((process, log, url))
            process.standardOutput = log
            process.standardError = log
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }
        let start = Date()
        var results = [Execution](repeating: Execution(), count: runs.count), sent = false
        while started.contains(where: { $0.process.isRunning }) {
            let elapsed = Date().timeIntervalSince(start)
            if let signal, !sent, elapsed >= signal.delay {
                for (process, _, _) in started where process.isRunning { kill(process.processIdentifier, signal.number) }
                sent = true
            }
            if elapsed > limit {
                for (i, (process, _, _)) in started.enumerated() where process.isRunning {
                    results[i].hung = true
                    kill(process.processIdentifier, SIGKILL)
                }
            }
            usleep(2_000)
        }
        for (i, (process, log, url)) in started.enumerated() {
            process.waitUntilExit()
            try log.close()
            results[i].output = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
            if process.terminationReason == .uncaughtSignal, !results[i].hung { results[i].signal = process.terminationStatus }
            if process.terminationReason == .exit { results[i].status = process.terminationStatus }
        }
        return results
    }
}
