// The fault campaign: the `magvit` tool run as a hostile or unlucky user would run it. Each seeded
// case takes a command (encode, decode, reconstruct, tokenize on a tiny model) and one fault: a
// signal at a random moment (SIGINT, SIGTERM, SIGHUP, SIGKILL), a file size limit (a full disk), a
// destination that is a symlink, FIFO, device or folder, an input that is a FIFO, missing, damaged or
// truncated, or none. It counts what must never happen: hangs, crashes (a death the case did not
// cause, or an exit status the tool does not use), leftovers (temporaries after the case, or after
// the rerun that follows a SIGKILL), orphans (ffmpeg outliving magvit), clobbered destinations, and
// changes outside the case's folder (a canary tree and the fixtures, hashed before and after each case).
import Foundation
import Media
import Tokenizer
import Torch

public struct FaultReport: Sendable {
    public var tally = CaseTally()
    public var outcomes = ToolOutcomes()
    public var interrupted = 0
    public var leftovers = 0
    public var orphans = 0

    public var summary: String {
        String(format: "%d cases: %d completed, %d refused with a message, %d interrupted by their signal; hangs %d, crashes %d, leftovers %d, orphans %d, clobbered %d, canary changes %d; slowest case %.2f s (%@)",
               tally.cases, outcomes.completed, outcomes.refused, interrupted, outcomes.hangs, outcomes.crashes, leftovers, orphans, outcomes.clobbered,
               outcomes.canaryChanges, tally.slowest, tally.slowestCase)
    }
}

public enum FaultCampaign {
    enum Command: CaseIterable { case encode, decode, reconstruct, tokenize }
    enum Fault {
        case none
        case signal(Int32, delay: Double)
        case fileSizeLimit(kib: Int)
        case destination(String)  // symlink, fifo, device, folder, nested
        case input(String)  // fifo, missing, damaged, truncated
    }

    /// Runs `cases` seeded cases of `tool` in a scratch folder under `folder`; `trace` gets each case.
    public static func run(tool: String, cases: Int, seed: UInt64, folder: URL, trace: (String) -> Void = { _ in }) throws -> FaultReport {
        let fixtures = try makeFixtures(tool: tool, in: folder.appendingPathComponent("fixtures"))
        var folders = try CaseFolders(folder, canary: try Canary(folder.appendingPathComponent("canary")), also: [folder.appendingPathComponent("fixtures")])
        var report = FaultReport()
        var random = SeededRandom(seed: seed)
        for index in 0..<cases {
            let command = Command.allCases[Int(random.uniform() * Double(Command.allCases.count)) % Command.allCases.count]
            let fault = drawFault(&random, command)
            let work = try folders.make(index)
            let label = "case \(index) \(command) \(fault)"
            trace(label)
            let started = Date()
            try runCase(tool: tool, command: command, fault: fault, fixtures: fixtures, work: work, label: label, into: &report)
            report.tally.count(label, since: started)
            try folders.check(after: label, into: &report.outcomes)
            try? FileManager.default.removeItem(at: work)
        }
        return report
    }

    struct Fixtures {
        let checkpoint: String, video: String, longVideo: String, tokens: String, folder: String
    }

    static func makeFixtures(tool: String, in folder: URL) throws -> Fixtures {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let checkpoint = folder.appendingPathComponent("tiny.safetensors")
        Torch.manualSeed(0)
        try VideoTokenizer(config: .tiny).save(to: checkpoint)
        func video(_ name: String, frames: Int) throws -> String {
            let path = folder.appendingPathComponent(name).path
            let writer = try VideoWriter(path: path, width: 48, height: 32)
            try writer.write(try Tensor.rand([frames, 32, 48, 3]))
            try writer.finish()
            return path
        }
        let clips = folder.appendingPathComponent("clips")
        try FileManager.default.createDirectory(at: clips, withIntermediateDirectories: true)
        for i in 0..<4 { _ = try video("clips/c\(i).mp4", frames: 12) }
        let fixtures = Fixtures(checkpoint: checkpoint.path, video: try video("short.mp4", frames: 20), longVideo: try video("long.mp4", frames: 300),
                                tokens: folder.appendingPathComponent("t.mgvt").path, folder: clips.path)
        let made = try ToolProcesses.run(tool, [Invocation(arguments: ["encode", fixtures.longVideo, "-o", fixtures.tokens, "--checkpoint", fixtures.checkpoint])], limit: 60)[0]
        guard made.status == 0 else { throw OutputError("cannot make the campaign's token file: \(made.output)") }
        return fixtures
    }

    static func drawFault(_ random: inout SeededRandom, _ command: Command) -> Fault {
        let u = random.uniform(), v = random.uniform()
        switch Int(u * 5) {
        case 0: return .none
        case 1: return .signal([SIGINT, SIGTERM, SIGHUP, SIGKILL][Int(v * 4) % 4], delay: random.uniform() * 1.5)
        case 2: return .fileSizeLimit(kib: 1 + Int(v * 64))
        case 3: return .destination(["symlink", "fifo", "device", "folder", "nested"][Int(v * 5) % 5])
        default: return .input(["fifo", "missing", "damaged", "truncated"][Int(v * 4) % 4])
        }
    }

    static func runCase(tool: String, command: Command, fault: Fault, fixtures: Fixtures, work: URL, label: String, into report: inout FaultReport) throws {
        let path = { (name: String) in work.appendingPathComponent(name).path }
        var input: String
        var output: String
        switch command {
        case .encode: (input, output) = (fixtures.longVideo, path("out.mgvt"))
        case .decode: (input, output) = (fixtures.tokens, path("out.mp4"))
        case .reconstruct: (input, output) = (fixtures.longVideo, path("out.mp4"))
        case .tokenize: (input, output) = (fixtures.folder, path("dataset"))
        }
        var guarded: (path: String, content: Data)?
        switch fault {
        case .destination(let kind):
            switch kind {
            case "symlink":
                try Data("keep".utf8).write(to: URL(fileURLWithPath: path("target")))
                try FileManager.default.createSymbolicLink(atPath: output, withDestinationPath: path("target"))
                guarded = (path("target"), Data("keep".utf8))
            case "fifo": mkfifo(output, 0o600)
            case "device": output = "/dev/null"
            case "folder":
                if command != .tokenize { try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true) }
                try Data("keep".utf8).write(to: URL(fileURLWithPath: output + (command == .tokenize ? "" : "/inside")))
            default: output = path("a/b/c/") + URL(fileURLWithPath: output).lastPathComponent
            }
        case .input(let kind):
            let copy = path("input." + URL(fileURLWithPath: input).pathExtension)
            switch kind {
            case "fifo": mkfifo(copy, 0o600)
            case "missing": break
            default:
                if command == .tokenize { break }
                var bytes = try Data(contentsOf: URL(fileURLWithPath: input))
                if kind == "truncated" { bytes = bytes.prefix(bytes.count * 2 / 3) } else {
                    for i in stride(from: bytes.count / 3, to: bytes.count * 2 / 3, by: 97) { bytes[i] ^= 0x5A }
                }
                try bytes.write(to: URL(fileURLWithPath: copy))
            }
            if command != .tokenize || kind != "damaged" && kind != "truncated" { input = copy }
        default: break
        }
        var arguments: [String]
        switch command {
        case .encode: arguments = ["encode", input, "-o", output]
        case .decode: arguments = ["decode", input, "-o", output]
        case .reconstruct: arguments = ["reconstruct", input, "-o", output]
        case .tokenize: arguments = ["tokenize", input, "-o", output, "--batch", "2", "--shard-size", "3"]
        }
        arguments += ["--checkpoint", fixtures.checkpoint, "--threads", "1"]
        var limit: Int?, signal: (Int32, Double)?
        if case .fileSizeLimit(let kib) = fault { limit = kib }
        if case .signal(let s, let delay) = fault { signal = (s, delay) }

        let result = try ToolProcesses.run(tool, [Invocation(arguments: arguments)], limit: 60, fileSizeLimitKiB: limit, signal: signal)[0]
        func problem(_ what: String) { report.outcomes.problems.append("\(label): \(what)") }
        if result.hung {
            report.outcomes.hangs += 1
            problem("hang")
        } else if let s = result.signal {
            // Killed by the signal the case sent: SIGKILL, or another one that arrived during start-up,
            // before main installed the handlers (nothing to clean up yet; the checks below confirm it).
            if s == signal?.0 { report.interrupted += 1 } else {
                report.outcomes.crashes += 1
                problem("died of signal \(s): \(result.output.suffix(300))")
            }
        } else if let sent = signal?.0, result.status == 128 + sent {
            report.interrupted += 1
        } else if result.status == 0 {
            report.outcomes.completed += 1
        } else if [1, 2, 64].contains(result.status), result.output.contains("rror") {
            report.outcomes.refused += 1
        } else {
            report.outcomes.crashes += 1
            problem("exit \(result.status): \(result.output.suffix(300))")
        }
        // After a SIGKILL nothing could clean up: the same command again must finish and sweep.
        if signal?.0 == SIGKILL {
            let again = try ToolProcesses.run(tool, [Invocation(arguments: arguments)], limit: 60)[0]
            if again.hung || again.signal != nil || again.status != 0 { problem("the rerun after SIGKILL ended with \(again.status): \(again.output.suffix(200))") }
        }
        usleep(200_000)
        if !temporaries(under: work).isEmpty {
            report.leftovers += 1
            problem("left \(temporaries(under: work))")
        }
        let strays = ffmpegProcesses(mentioning: work.path) + ffmpegProcesses(mentioning: URL(fileURLWithPath: output).deletingLastPathComponent().path)
        if !strays.isEmpty {
            report.orphans += 1
            problem("ffmpeg still running: \(strays)")
            for pid in strays { kill(pid, SIGKILL) }
        }
        var info = stat()
        let deviceIntact = stat("/dev/null", &info) == 0 && info.st_mode & S_IFMT == S_IFCHR
        if !deviceIntact || guarded.map({ (try? Data(contentsOf: URL(fileURLWithPath: $0.path))) != $0.content }) == true {
            report.outcomes.clobbered += 1
            problem("a guarded destination changed")
        }
    }

    static func temporaries(under folder: URL) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: folder.path) else { return [] }
        return walker.compactMap { $0 as? String }.filter { $0.contains(".partial-") || $0.contains(".tmp") }
    }

    /// ffmpeg processes whose command line names `path`.
    static func ffmpegProcesses(mentioning path: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let line = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            guard line.contains("ffmpeg"), line.contains(path) else { return false }
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            return stat.split(separator: ")").last?.split(separator: " ").first != "Z"
        }
    }
}
