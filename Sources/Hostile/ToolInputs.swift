// The tool campaign's fixtures (a tiny tokenizer, clips, a token dataset, an unfinished tokenize
// folder, a run folder with a checkpoint, tiny configs), the case of each kind by index, and the
// mutations the kinds share (each kind's cases are in its own file).
import Foundation
import Media
import NN
import Tokenizer
import Torch

struct ToolFixtures {
    let kind: ToolKind
    let tool: String
    let root: URL
    let canary: Canary

    var checkpoint: String { root.appendingPathComponent("tiny.safetensors").path }
    var clips: String { root.appendingPathComponent("clips").path }
    var video: String { root.appendingPathComponent("short.mp4").path }
    var tokens: String { root.appendingPathComponent("short.mgvt").path }
    var data: String { root.appendingPathComponent("idx").path }
    /// A tokenizer run: 4 steps, a checkpoint every 2; a rendezvous gives up after 3 s.
    var trainConfig: String { root.appendingPathComponent("train.yaml").path }
    var dataset: URL { root.appendingPathComponent("dataset") }
    var unfinished: URL { root.appendingPathComponent("unfinished") }
    var runFolder: URL { root.appendingPathComponent("run") }
    var tokenizeArguments: [String] {
        [clips, "--checkpoint", checkpoint, "--labels", "folders", "--shard-size", "1", "--batch", "1", "--workers", "1", "--threads", "1"]
    }

    /// Makes what `kind` needs in `root` (a fresh folder) and checks that its unmutated case completes.
    init(_ kind: ToolKind, tool: String, folder: URL, canary: Canary) throws {
        (self.kind, self.tool, root, self.canary) = (kind, tool, folder, canary)
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        Torch.manualSeed(0)
        try VideoTokenizer(config: .tiny).save(to: URL(fileURLWithPath: checkpoint))
        try writeIDX()
        try """
            model: {preset: image-small, baseChannels: 8, channelMultipliers: [1, 1], quantizer: {bits: 6}}
            data: {kind: fashion-mnist, train: [\(data)], evalSamples: 4}
            run: {steps: 4, batch: 2, logEvery: 1, evalEvery: 100, checkpointEvery: 2, emaDecay: 0.9, threads: 1, seed: 5, collectiveTimeout: 3}
            """.write(toFile: trainConfig, atomically: true, encoding: .utf8)
        for (i, name) in ["a/c0.mp4", "a/c1.mp4", "b/c2.mp4", "b/c3.mp4"].enumerated() {
            try writeVideo(root.appendingPathComponent("clips/" + name).path, frames: 10 + 2 * i)
        }
        try writeVideo(video, frames: 8)
        let scratch = root.appendingPathComponent("scratch")
        defer { try? FileManager.default.removeItem(at: scratch) }
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        func must(_ arguments: [String]) throws {
            let r = try ToolProcesses.run(tool, [Invocation(arguments: arguments)], in: scratch, limit: 300)[0]
            guard r.status == 0, r.signal == nil else { throw OutputError("the campaign's fixture (magvit \(arguments.joined(separator: " "))) failed: \(r.output.suffix(600))") }
        }
        switch kind {
        case .tokenDataset:
            try must(["tokenize"] + tokenizeArguments.replacing(["--shard-size", "1"], with: ["--shard-size", "2"], maxReplacements: 1) + ["-o", dataset.path])
        case .tokenizeState: try makeUnfinished(scratch)
        case .resumeState: try must(["train", trainConfig, "-o", runFolder.path])
        case .outputPaths: try must(["encode", video, "-o", tokens, "--checkpoint", checkpoint, "--threads", "1"])
        case .environment: break
        }
        // The unmutated case must complete, or every refusal would mean nothing.
        let work = root.appendingPathComponent("base")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let base = try baseCase(work: work)
        for r in try ToolProcesses.run(tool, base.runs, in: work, limit: 300) where r.status != 0 || r.signal != nil {
            throw OutputError("the \(kind.rawValue) campaign's unmutated case (\(base.what)) does not complete: \(r.output.suffix(600))")
        }
    }

    func writeVideo(_ path: String, frames: Int) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let writer = try VideoWriter(path: path, width: 32, height: 32)
        try writer.write(try Tensor.rand([frames, 32, 32, 3]))
        try writer.finish()
    }

    /// 32 training and 8 test images of 28x28 with labels, in IDX files as Fashion-MNIST ships them.
    func writeIDX() throws {
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        var random = SeededRandom(seed: 17)
        for (prefix, count) in [("train", 32), ("t10k", 8)] {
            func header(_ dims: [Int], rank: UInt8) -> [UInt8] { [0, 0, 8, rank] + dims.flatMap { d in (0..<4).map { UInt8(truncatingIfNeeded: d >> (24 - 8 * $0)) } } }
            let pixels = (0..<(count * 784)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let labels = (0..<count).map { _ in UInt8(random.next() % 10) }
            try Data(header([count, 28, 28], rank: 3) + pixels).write(to: URL(fileURLWithPath: data + "/\(prefix)-images-idx3-ubyte"))
            try Data(header([count], rank: 1) + labels).write(to: URL(fileURLWithPath: data + "/\(prefix)-labels-idx1-ubyte"))
        }
    }

    /// An unfinished tokenize folder: the run is stopped with SIGTERM as soon as its state is written.
    func makeUnfinished(_ scratch: URL) throws {
        for attempt in 0..<5 {
            try? FileManager.default.removeItem(at: unfinished)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = ["tokenize"] + tokenizeArguments + ["-o", unfinished.path]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let state = unfinished.appendingPathComponent(".tokenize-state.json").path
            while process.isRunning, !FileManager.default.fileExists(atPath: state) { usleep(500) }
            usleep(UInt32(attempt) * 20_000)
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
            if FileManager.default.fileExists(atPath: state), !FileManager.default.fileExists(atPath: unfinished.appendingPathComponent("dataset.json").path) { return }
        }
        throw OutputError("could not stop a tokenize run before it finished (for the tokenize-state campaign)")
    }

    func baseCase(work: URL) throws -> ToolCase {
        var random = SeededRandom(seed: 0)
        return try makeCase(-1, random: &random, work: work)
    }

    /// Case `index` (-1: the unmutated one) of the kind, its inputs made in `work`.
    func makeCase(_ index: Int, random: inout SeededRandom, work: URL) throws -> ToolCase {
        switch kind {
        case .tokenDataset: return try datasetCase(index, random: &random, work: work)
        case .tokenizeState: return try tokenizeStateCase(index, random: &random, work: work)
        case .resumeState: return try resumeCase(index, random: &random, work: work)
        case .environment: return environmentCase(index, random: &random)
        case .outputPaths: return try outputCase(index, random: &random, work: work)
        }
    }

    // MARK: shared mutations

    /// `t` with one element, drawn at random, set to `value`, and its index (nil when `t` has none).
    func settingElement(of t: Tensor, to value: Double, random: inout SeededRandom) throws -> (Tensor, Int)? {
        var values = try t.to(.float64).toArray(Double.self)
        guard !values.isEmpty else { return nil }
        let at = Int(random.next() % UInt64(values.count))
        values[at] = value
        let changed = try Tensor(values, shape: t.shape)
        return ((try? changed.to(t.dtype)) ?? changed, at)
    }

    /// A field anywhere in a JSON file set to an edge value (or removed, or a key added).
    func editJSON(_ url: URL, random: inout SeededRandom) throws -> String {
        guard var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else { return "(not an object)" }
        let path = Campaign.setRandomField(&object, random: &random)
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url)
        return path
    }

    /// The safetensors header mutated as a structure (the framing rebuilt), as the safetensors kind does.
    func mutateSafetensors(_ url: URL, case i: Int, random: inout SeededRandom) throws -> String {
        let data = try Data(contentsOf: url)
        let length = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + Int(length)))) as? [String: Any]
        let (mutated, what) = Campaign.mutateBytes(data, header: header, kind: .safetensors, case: i, random: &random)
        if case .bytes(let bytes, _) = mutated { try bytes.write(to: url) }
        return "header " + what
    }

    /// A truncation at a random byte, or 1-8 flipped bits.
    func damage(_ url: URL, truncate: Bool, random: inout SeededRandom) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: url))
        guard !bytes.isEmpty else { return "empty" }
        if truncate {
            let cut = Int(random.next() % UInt64(bytes.count))
            try Data(bytes.prefix(cut)).write(to: url)
            return "truncated at \(cut)"
        }
        let flips = 1 + Int(random.next() % 8)
        for _ in 0..<flips { bytes[Int(random.next() % UInt64(bytes.count))] ^= UInt8(1 << (random.next() % 8)) }
        try Data(bytes).write(to: url)
        return "\(flips) bit flips"
    }

    /// A file of the folder (`index`, or the shard `entry`) replaced: a link to a canary file or folder,
    /// a dangling link out of the folder, a folder, an empty file, or nothing.
    func fileForm(random: inout SeededRandom, index: URL, entry: URL?) throws -> String {
        let target = entry != nil && random.next() % 2 == 0 ? entry! : index
        let forms = ["a link to a canary file", "a link to a canary folder", "a dangling link out of the folder", "a folder", "empty", "missing"]
        let form = forms[Int(random.next() % UInt64(forms.count))]
        let manager = FileManager.default
        var isFolder: ObjCBool = false
        if manager.fileExists(atPath: target.path, isDirectory: &isFolder) || (try? manager.destinationOfSymbolicLink(atPath: target.path)) != nil {
            try manager.removeItem(at: target)
        }
        switch form {
        case "a link to a canary file": try manager.createSymbolicLink(atPath: target.path, withDestinationPath: canary.file.path)
        case "a link to a canary folder": try manager.createSymbolicLink(atPath: target.path, withDestinationPath: canary.folder.path)
        case "a dangling link out of the folder": try manager.createSymbolicLink(atPath: target.path, withDestinationPath: canary.absent.path)
        case "a folder": try manager.createDirectory(at: target.appendingPathComponent("inside"), withIntermediateDirectories: true)
        case "empty": try Data().write(to: target)
        default: break
        }
        return "\(target.lastPathComponent) is \(form)"
    }
}
