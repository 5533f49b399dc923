// The tool campaign: hostile state and settings handed to the `magvit` tool itself, one process per
// case, for what only a whole run reads — token datasets (dataset.json and its shards), a tokenize
// run's resume state (.tokenize-state.json), a training run's resume state (checkpoint.safetensors:
// step counts, times, EMA and optimizer tensors, the config in its metadata), the distributed
// environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT on 127.0.0.1) and output paths
// (the input itself, links, folders holding a user's files, trailing slashes, very long names).
// Each kind mutates a valid input, seeded: structure-aware (one field set to an edge value, checksums
// and hashes rebuilt so the check behind them is reached), truncations and bit flips. A case fails when
// the tool dies by a signal or an exit status of 128 or more other than its own 130/143 (a trap is
// 132/133/134/139), outlives the time limit, changes a guarded file of its own folder (its input, a
// user's files), or changes anything in the canary tree outside its folder (a sibling folder, link
// targets, the fixtures), which is hashed before the campaign and checked after every case.
import Foundation
import Torch

public enum ToolKind: String, CaseIterable, Sendable {
    /// A token dataset read by `train-generator`: dataset.json, the shards' tensors, metadata and hashes.
    case tokenDataset = "token-dataset"
    /// An unfinished `tokenize` folder resumed: .tokenize-state.json and the shards it names.
    case tokenizeState = "tokenize-state"
    /// A run folder resumed by `train --resume`: checkpoint.safetensors and the run's own files.
    case resumeState = "resume-state"
    /// RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT for one rank, or for one of a pair.
    case environment
    /// Destinations of encode, decode, reconstruct, compress, tokenize and train.
    case outputPaths = "output-paths"
}

public struct ToolReport: Sendable {
    public var kind: ToolKind
    public var tally = CaseTally()
    public var outcomes = ToolOutcomes()
    /// Refusals whose text was a raw library error (Foundation's domain codes, C++ frames).
    public var rawMessages = 0

    public var failures: Int { outcomes.crashes + outcomes.hangs + outcomes.canaryChanges + outcomes.clobbered }

    public var summary: String {
        String(format: "%@: %d cases, %d completed, %d refused with a message; crashes %d, hangs %d, canary changes %d, clobbered %d, raw messages %d; slowest case %.2f s (%@)",
               kind.rawValue, tally.cases, outcomes.completed, outcomes.refused, outcomes.crashes, outcomes.hangs, outcomes.canaryChanges,
               outcomes.clobbered, rawMessages, tally.slowest, tally.slowestCase)
    }
}

/// A case: what it does, its processes (run together), and files of its folder that must keep their content.
struct ToolCase {
    var what: String
    var runs: [Invocation]
    var guarded: [String] = []
}

public enum ToolCampaign {
    /// Runs the seeded cases `first..<first + cases` of `kind` through `tool` in scratch folders under
    /// `folder`; a case running past `timeLimit` seconds is a hang. `trace` sees each case before it
    /// runs. Each case is drawn from its own stream (seed, index), so a long campaign can run in slices
    /// (`first` 0, 2000, 4000, ...) whose cases are those of one run. No case starts after `deadline`:
    /// the report's case count says where the next slice starts.
    public static func run(_ kind: ToolKind, tool: String, cases: Int, first: Int = 0, seed: UInt64, folder: URL, timeLimit: Double = 60,
                           deadline: Date? = nil, trace: (String) -> Void = { _ in }) throws -> ToolReport {
        let canary = try Canary(folder.appendingPathComponent("canary"))
        let fixtures = try ToolFixtures(kind, tool: tool, folder: folder.appendingPathComponent("fixtures"), canary: canary)
        // Everything outside the cases' folders: the canary tree and the fixtures the cases read.
        var folders = try CaseFolders(folder, canary: canary, also: [fixtures.root])
        var report = ToolReport(kind: kind)
        let stream = 91 + UInt64(ToolKind.allCases.firstIndex(of: kind)!)
        for index in first..<(first + cases) {
            if let deadline, Date() >= deadline { break }
            var random = SeededRandom(seed: seed, step: index, stream: stream)
            let work = try folders.make(index)
            // A mutation the libraries cannot make is a bug of the campaign, named with its case.
            let plan: ToolCase
            do { plan = try fixtures.makeCase(index, random: &random, work: work) } catch {
                throw OutputError("\(kind.rawValue) case \(index): cannot make its input: \(error)")
            }
            let label = "case \(index): \(plan.what)"
            trace(label)
            let failuresBefore = report.failures
            let contents = plan.guarded.map { (path: $0, data: Canary.contents(URL(fileURLWithPath: $0, relativeTo: work).path)) }
            let started = Date()
            let results = try ToolProcesses.run(tool, plan.runs, in: work, limit: timeLimit)
            report.tally.count(label, since: started)
            record(results, label: label, into: &report)
            let changed = contents.filter { Canary.contents(URL(fileURLWithPath: $0.path, relativeTo: work).path) != $0.data }.map(\.path)
            if !changed.isEmpty {
                report.outcomes.clobbered += 1
                report.outcomes.problems.append("\(label): changed \(changed.joined(separator: ", ")) of its own folder")
            }
            try folders.check(after: label, into: &report.outcomes)
            // A failing case's folder stays, with the command that ran it, as its reproducer.
            if report.failures > failuresBefore {
                let commands = plan.runs.map { run in
                    run.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\(shellQuoted($0.value)) " }.joined() + ([tool] + run.arguments).map(shellQuoted).joined(separator: " ")
                }
                try? (["cd \(shellQuoted(work.path))"] + commands).joined(separator: "\n").appending("\n").write(to: work.appendingPathComponent("reproduce.sh"), atomically: true, encoding: .utf8)
                report.outcomes.problems.append("\(label): kept in \(work.path) (reproduce.sh)")
            } else {
                try? FileManager.default.removeItem(at: work)
            }
        }
        return report
    }

    static func shellQuoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    static func record(_ results: [Execution], label: String, into report: inout ToolReport) {
        func problem(_ what: String) { report.outcomes.problems.append("\(label): \(what)") }
        if results.contains(where: \.hung) {
            report.outcomes.hangs += 1
            problem("hang: \(results.map { $0.output.suffix(200) }.joined(separator: " | "))")
        } else if let bad = results.first(where: { $0.signal != nil || ($0.status >= 128 && ![130, 143].contains($0.status)) }) {
            report.outcomes.crashes += 1
            let how = bad.signal.map { "died of signal \($0)" } ?? "exit \(bad.status)"
            problem("\(how): \(bad.output.suffix(400))")
        } else if results.allSatisfy({ $0.status == 0 }) {
            report.outcomes.completed += 1
        } else {
            report.outcomes.refused += 1
            for r in results where r.status != 0 {
                report.tally.refused(r.output.split(separator: "\n").last { $0.contains("rror") } ?? r.output.split(separator: "\n").last ?? "", words: 4)
            }
        }
        for r in results where ["NSCocoaErrorDomain", "frame #", "Code=", "Fatal error"].contains(where: r.output.contains) {
            report.rawMessages += 1
            problem("raw message: \(r.output.suffix(300))")
        }
    }
}

/// Files no case may touch: a sibling folder of the cases with a user's files, a file that links in
/// the cases' folders point to, and a folder they point to. `fingerprint` hashes a tree without
/// following links (each entry's kind, link target and content hash).
struct Canary {
    let root: URL
    var file: URL { root.appendingPathComponent("target.txt") }
    var folder: URL { root.appendingPathComponent("folder-target") }
    /// A name in the canary tree that must never come to exist (dangling links point at it).
    var absent: URL { root.appendingPathComponent("must-not-exist") }

    init(_ root: URL) throws {
        self.root = root
        try restore()
    }

    func restore() throws {
        try? FileManager.default.removeItem(at: root)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try Data("a user's notes: never to be changed\n".utf8).write(to: root.appendingPathComponent("notes.txt"))
        try Data("the target of links\n".utf8).write(to: file)
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }).write(to: folder.appendingPathComponent("data.bin"))
        try Data("thesis\n".utf8).write(to: folder.appendingPathComponent("thesis.txt"))
        try Data("notes\n".utf8).write(to: folder.appendingPathComponent("sub/notes.md"))
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("link-to-notes").path, withDestinationPath: "notes.txt")
    }

    /// The canary and other folders, fingerprinted; `changes` says what differs since, and puts the canary back.
    struct Watch {
        let canary: Canary
        let roots: [URL]
        var before: [String: String]

        init(_ canary: Canary, also others: [URL]) throws {
            (self.canary, roots) = (canary, [canary.root] + others)
            before = try Canary.fingerprint(roots)
        }

        /// What changed since the last call (nil: nothing); the canary is restored so later cases are judged on their own.
        mutating func changes() throws -> String? {
            let after = try Canary.fingerprint(roots)
            guard after != before else { return nil }
            let what = Canary.differences(before, after).joined(separator: "; ")
            try canary.restore()
            before = try Canary.fingerprint(roots)
            return what
        }
    }

    /// A file's bytes (nil when it is not there or not a readable file).
    static func contents(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// Every entry under the roots, by path: "file HASH SIZE", "link -> TARGET", "folder", or another kind.
    static func fingerprint(_ roots: [URL]) throws -> [String: String] {
        var out: [String: String] = [:]
        func visit(_ path: String) {
            var info = stat()
            guard lstat(path, &info) == 0 else { return }
            switch info.st_mode & S_IFMT {
            case S_IFLNK: out[path] = "link -> " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?")
            case S_IFDIR:
                out[path] = "folder \(info.st_mode & 0o7777)"
                for name in ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() { visit(path + "/" + name) }
            case S_IFREG:
                let data = FileManager.default.contents(atPath: path) ?? Data()
                out[path] = "file \(fnv1a(data)) \(data.count) bytes, mode \(info.st_mode & 0o7777)"
            default: out[path] = "special \(info.st_mode & S_IFMT)"
            }
        }
        for root in roots { visit(root.path) }
        return out
    }

    static func differences(_ a: [String: String], _ b: [String: String]) -> [String] {
        Set(a.keys).union(b.keys).sorted().compactMap { path in
            a[path] == b[path] ? nil : "\(path): \(a[path] ?? "absent") -> \(b[path] ?? "absent")"
        }.prefix(6).map { $0 }
    }

    /// FNV-1a, 64 bits: a fingerprint, not a defence against an adversary choosing the bytes.
    static func fnv1a(_ data: Data) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(hash, radix: 16)
    }
}
