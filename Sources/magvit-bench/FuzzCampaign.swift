// `magvit-bench fuzz`: the long fuzz campaign over every input kind (the test suite runs 400 cases
// of each, 80 of media); prints cases, clean refusals, acceptances, the slowest case and the peak memory.
// The tool kinds (token datasets, tokenize and resume states, the environment, output paths) run the
// magvit tool once per case and count crashes, hangs and changes outside each case's folder.
import ArgumentParser
import Foundation
import Hostile

struct FuzzCampaign: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Fuzz every file reader, and the magvit tool's run state, environment and outputs, with seeded structure-aware mutations, truncations and bit flips.")

    @Option(help: "Cases per input kind.") var cases = 10_000
    @Option(help: "The tool kinds' first case (their cases are numbered, each drawn from the seed and its number): a long campaign runs in slices, e.g. --cases 2000 --first 2000.")
    var first = 0
    @Option(help: "Seed of the mutations.") var seed: UInt64 = 1
    @Option(help: "Input kinds (default: all): \((InputKind.allCases.map(\.rawValue) + ToolKind.allCases.map(\.rawValue)).joined(separator: ", ")); the last \(ToolKind.allCases.count) run the magvit tool.")
    var kind: [String] = []
    @Option(help: "Write each case's description here before it runs (the last line names a crashing case).") var trace: String?
    @OptionGroup var tool: ToolOption
    @Option(help: "Seconds a case of a tool kind may run before it counts as a hang.") var timeLimit = 60.0
    @Option(help: "Start no tool-kind case after this many seconds (a slice that fits the time there is); the summary says where the next slice starts.")
    var stopAfter: Double?
    @Flag(help: "Keep the tool kinds' folders (fixtures, canary) after the campaign; a failing case's folder is always kept.") var keep = false

    func validate() throws {
        if let stopAfter, !(stopAfter > 0 && stopAfter <= 1e7) { throw ValidationError("--stop-after is seconds in (0, 1e7], got \(stopAfter)") }
    }

    func run() throws {
        var readers: [InputKind] = [], tools: [ToolKind] = []
        for name in kind {
            if let k = InputKind(rawValue: name) { readers.append(k) } else if let k = ToolKind(rawValue: name) { tools.append(k) } else {
                throw ValidationError("unknown kind '\(name)'")
            }
        }
        if kind.isEmpty { (readers, tools) = (InputKind.allCases, ToolKind.allCases) }
        guard first == 0 || readers.isEmpty else {
            throw ValidationError("--first slices the tool kinds' campaigns; the file readers' (\(readers.map(\.rawValue).joined(separator: ", "))) draw their cases from one stream: name only tool kinds with --kind")
        }
        let traceHandle = try trace.map { path -> FileHandle in
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        }
        for kind in readers {
            let start = Date()
            let report = try Campaign.run(kind, cases: cases, seed: seed) { line in traceHandle?.write(Data((line + "\n").utf8)) }
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            print(String(format: "%@ in %.1f s, peak resident memory %d MiB", report.summary, Date().timeIntervalSince(start), usage.ru_maxrss / 1024))
            for line in report.tally.commonMessages(6) { print("    " + line) }
        }
        guard !tools.isEmpty else { return }
        // A private copy of the tool: a rebuild during a campaign of hours (the build removes the file
        // before writing it) stopped one mid-slice, its counts lost.
        let tool = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-fuzz-tool-\(getpid())").path
        try? FileManager.default.removeItem(atPath: tool)
        try FileManager.default.copyItem(atPath: try self.tool.built(), toPath: tool)
        defer { try? FileManager.default.removeItem(atPath: tool) }
        let deadline = stopAfter.map { Date().addingTimeInterval($0) }
        var failures = 0
        for kind in tools {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-fuzz-\(kind.rawValue)-\(getpid())")
            let start = Date()
            let report = try ToolCampaign.run(kind, tool: tool, cases: cases, first: first, seed: seed, folder: folder, timeLimit: timeLimit,
                                              deadline: deadline) { line in
                traceHandle?.write(Data((line + "\n").utf8))
            }
            print(String(format: "%@ in %.1f s", report.summary, Date().timeIntervalSince(start)))
            if report.tally.cases < cases {
                print("  stopped by --stop-after: cases \(first)..<\(first + report.tally.cases) ran; the next slice: --first \(first + report.tally.cases)")
            }
            for line in report.tally.commonMessages(8) { print("    " + line) }
            for line in report.outcomes.problems { print("  \(line)") }
            failures += report.failures
            if keep || report.failures > 0 { print("  kept \(folder.path)") } else { try? FileManager.default.removeItem(at: folder) }
            fflush(nil)  // every stream: stdout is not concurrency-safe to name in Swift 6
        }
        if failures > 0 { throw ExitCode(1) }
    }
}

/// `magvit-bench faults`: the fault campaign over the `magvit` tool built beside this program.
struct FaultCampaignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faults",
        abstract: "Run the magvit tool under seeded faults (signals, a full disk, hostile destinations and inputs); count hangs, crashes, leftovers, orphans.")

    @Option(help: "Cases.") var cases = 300
    @Option(help: "Seed of the faults.") var seed: UInt64 = 1
    @OptionGroup var tool: ToolOption

    func run() throws {
        let tool = try self.tool.built()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-faults-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let start = Date()
        let report = try FaultCampaign.run(tool: tool, cases: cases, seed: seed, folder: folder) { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        print(String(format: "%@ (%.0f s)", report.summary, Date().timeIntervalSince(start)))
        for line in report.outcomes.problems { print("  \(line)") }
    }
}
