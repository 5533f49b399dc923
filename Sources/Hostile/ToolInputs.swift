// The tool campaign's fixtures (a tiny tokenizer, clips, a token dataset, an unfinished tokenize
// folder, a run folder with a checkpoint, tiny configs) and each kind's seeded cases.
import Crypto
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

    // MARK: token datasets

    func datasetCase(_ index: Int, random: inout SeededRandom, work: URL) throws -> ToolCase {
        let folder = work.appendingPathComponent("dataset")
        try FileManager.default.copyItem(at: dataset, to: folder)
        // A generator config in the case's folder (its paths are taken relative to the file).
        try """
            tokenizer: \(checkpoint)
            data: {kind: tokens, path: \(folder.path)}
            generator: {width: 16, depth: 1, heads: 2, dropout: 0}
            predictionClips: 3
            run: {steps: 2, batch: 2, logEvery: 1, evalEvery: 100, checkpointEvery: 100, threads: 1, seed: 3}
            sampling: {steps: 2}
            """.write(to: work.appendingPathComponent("generator.yaml"), atomically: true, encoding: .utf8)
        let run = Invocation(arguments: ["train-generator", "generator.yaml", "-o", "run"])
        guard index >= 0 else { return ToolCase(what: "unchanged", runs: [run]) }
        let indexURL = folder.appendingPathComponent("dataset.json")
        let shards = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("tokens-") }.sorted()
        let shard = folder.appendingPathComponent(shards[Int(random.next() % UInt64(shards.count))])
        let what: String
        switch index % 8 {
        case 0, 1: what = "dataset.json " + (try editJSON(indexURL, random: &random))
        case 2: what = "\(shard.lastPathComponent) " + (try editShardTensor(shard, random: &random)) + (try rehash(shard, in: indexURL))
        case 3: what = "\(shard.lastPathComponent) " + (try mutateSafetensors(shard, case: 0, random: &random)) + (try rehash(shard, in: indexURL))
        case 4: what = "\(shard.lastPathComponent) " + (try editShardMetadata(shard, random: &random)) + (try rehash(shard, in: indexURL))
        case 5, 6:
            let target = random.next() % 2 == 0 ? indexURL : shard
            what = "\(target.lastPathComponent) " + (try damage(target, truncate: index % 8 == 5, random: &random))
                + (target == shard && random.next() % 2 == 0 ? try rehash(shard, in: indexURL) : "")
        default:
            what = random.next() % 3 == 0 ? "dataset.json " + (try renameShard(in: indexURL, random: &random))
                : try fileForm(random: &random, index: indexURL, entry: shard)
        }
        return ToolCase(what: what, runs: [run])
    }

    /// A shard entry of an index or state names another file (outside the folder, a folder, one listed twice).
    func renameShard(in url: URL, random: inout SeededRandom) throws -> String {
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
        var entries = json["shards"] as? [[String: Any]] ?? []
        let names = ["../../canary/notes.txt", canary.file.path, canary.folder.path, "tokens-00000.safetensors/", "..", ".", "",
                     "tokens-00001.safetensors", "tokens-00000.safetensors\n", "dataset.json", ".tokenize-state.json"]
        let name = names[Int(random.next() % UInt64(names.count))]
        if entries.isEmpty || random.next() % 3 == 0 { entries.append((entries.first ?? [:]).merging(["file": name]) { $1 }) } else { entries[0]["file"] = name }
        json["shards"] = entries
        try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]).write(to: url)
        return "shard file \(name.debugDescription)"
    }

    /// One tensor of a shard changed: an element set to an edge value, another dtype or shape, removed, or one added.
    func editShardTensor(_ url: URL, random: inout SeededRandom) throws -> String {
        var contents = try SafeTensors.read(url)
        let names = contents.tensors.keys.sorted()
        let name = names[Int(random.next() % UInt64(names.count))]
        let t = contents.tensors[name]!
        let what: String
        switch random.next() % 6 {
        case 0, 1:
            let edges: [Double] = [-1, 63, 64, 1_048_576, 2_147_483_647, -2_147_483_648, 1e10, .nan, .infinity, -.infinity, 0.5]
            let value = edges[Int(random.next() % UInt64(edges.count))]
            guard let (changed, at) = try settingElement(of: t, to: value, random: &random) else { return "\(name) empty" }
            contents.tensors[name] = changed
            what = "\(name)[\(at)] = \(value)"
        case 2:
            let dtype = [DType.float32, .float64, .int64, .int32, .uint8, .bool][Int(random.next() % 6)]
            contents.tensors[name] = try t.to(dtype)
            what = "\(name) as \(dtype)"
        case 3:
            let shapes: [[Int]] = [[-1], [1] + t.shape, t.shape + [1]]
            let shape = shapes[Int(random.next() % UInt64(shapes.count))]
            contents.tensors[name] = try t.reshape(shape)
            what = "\(name) reshaped to \(shape)"
        case 4:
            contents.tensors[name] = nil
            what = "\(name) removed"
        default:
            contents.tensors["unexpected"] = try Tensor.full([2], 1)
            what = "a tensor added"
        }
        try SafeTensors.encoded(contents.tensors, metadata: contents.metadata).write(to: url)
        return what
    }

    /// The shard's metadata: its list of source files or its format set to another value.
    func editShardMetadata(_ url: URL, random: inout SeededRandom) throws -> String {
        var contents = try SafeTensors.read(url)
        let values = ["[]", "[\"a\", \"b\", \"c\", \"d\", \"e\"]", "[1]", "x", "", "null", "{}", "[\"\(canary.file.path)\"]", "[[\"a\"]]"]
        let key = random.next() % 4 == 0 ? "format" : "sources"
        let value = random.next() % 8 == 0 ? nil : values[Int(random.next() % UInt64(values.count))]
        contents.metadata[key] = value
        try SafeTensors.encoded(contents.tensors, metadata: contents.metadata).write(to: url)
        return "metadata \(key) = \(value?.debugDescription ?? "(removed)")"
    }

    /// Records the shard's new SHA-256 in the index (so the checks behind the hash are reached).
    func rehash(_ shard: URL, in index: URL) throws -> String {
        guard var json = try? JSONSerialization.jsonObject(with: Data(contentsOf: index)) as? [String: Any],
            var entries = json["shards"] as? [[String: Any]], let data = FileManager.default.contents(atPath: shard.path)
        else { return "" }
        for i in entries.indices where entries[i]["file"] as? String == shard.lastPathComponent {
            entries[i]["sha256"] = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        }
        json["shards"] = entries
        try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]).write(to: index)
        return ", hash recorded"
    }

    // MARK: tokenize states

    func tokenizeStateCase(_ index: Int, random: inout SeededRandom, work: URL) throws -> ToolCase {
        let folder = work.appendingPathComponent("dataset")
        try FileManager.default.copyItem(at: unfinished, to: folder)
        let run = Invocation(arguments: ["tokenize"] + tokenizeArguments + ["-o", "dataset"])
        guard index >= 0 else { return ToolCase(what: "unchanged", runs: [run]) }
        let state = folder.appendingPathComponent(".tokenize-state.json")
        let shards = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("tokens-") }.sorted()
        let shard = folder.appendingPathComponent(shards.first ?? "tokens-00000.safetensors")
        let what: String
        switch index % 8 {
        case 0, 1, 2: what = "state " + (try editJSON(state, random: &random))
        case 3:
            // The resume position and the shards' counts: the numbers the resume computes with.
            var json = try JSONSerialization.jsonObject(with: Data(contentsOf: state)) as? [String: Any] ?? [:]
            let edges: [Any] = [-1, 0, 1, 2, 3, 4, 5, 1 << 31, 1 << 62, Int.max, Int.min, 1.5, "1", NSNull()]
            let value = edges[Int(random.next() % UInt64(edges.count))]
            let field = ["next.file", "next.clip", "shards[0].clips", "settings.batch", "settings.shardSize"][Int(random.next() % 5)]
            let parts = field.split(separator: ".").map(String.init)
            if parts[0] == "shards[0]" {
                var entries = json["shards"] as? [[String: Any]] ?? [[:]]
                if entries.isEmpty { entries = [[:]] }
                entries[0][parts[1]] = value
                json["shards"] = entries
            } else {
                var inner = json[parts[0]] as? [String: Any] ?? [:]
                inner[parts[1]] = value
                json[parts[0]] = inner
            }
            try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]).write(to: state)
            what = "state \(field) = \(value)"
        case 4:
            // The shard the state names: its bytes changed behind the hash, or its entry renamed.
            if random.next() % 2 == 0, FileManager.default.fileExists(atPath: shard.path) {
                what = "\(shard.lastPathComponent) " + (try damage(shard, truncate: random.next() % 2 == 0, random: &random))
            } else {
                what = "state " + (try renameShard(in: state, random: &random))
            }
        case 5, 6: what = "state " + (try damage(state, truncate: index % 8 == 5, random: &random))
        default: what = try fileForm(random: &random, index: state, entry: shard)
        }
        return ToolCase(what: what, runs: [run])
    }

    // MARK: resume states

    func resumeCase(_ index: Int, random: inout SeededRandom, work: URL) throws -> ToolCase {
        let folder = work.appendingPathComponent("run")
        try FileManager.default.copyItem(at: runFolder, to: folder)
        let checkpoint = folder.appendingPathComponent("checkpoint.safetensors")
        var steps = "6"
        if index % 16 == 15 { steps = ["0", "1", "3", "4", "5", "-1", "x", "2.5"][Int(random.next() % 8)] }
        let run = Invocation(arguments: ["train", trainConfig, "-o", "run", "--resume", "--set", "run.steps=\(steps)"])
        guard index >= 0 else { return ToolCase(what: "unchanged", runs: [run]) }
        var what: String
        switch index % 8 {
        case 0, 1: what = try editCheckpointMetadata(checkpoint, random: &random)
        case 2, 3: what = try editCheckpointTensor(checkpoint, random: &random)
        case 4: what = try mutateSafetensors(checkpoint, case: 0, random: &random)
        case 5, 6: what = try damage(checkpoint, truncate: index % 8 == 5, random: &random)
        default:
            let files = ["checkpoint.safetensors", ".lock", "log.jsonl", "config.json", "tokenizer.safetensors", "samples"]
            let name = files[Int(random.next() % UInt64(files.count))]
            what = try fileForm(random: &random, index: folder.appendingPathComponent(name), entry: nil)
        }
        if steps != "6" { what += ", run.steps=\(steps)" }
        return ToolCase(what: "checkpoint " + what, runs: [run])
    }

    /// One metadata value: a number set to an edge, or the JSON inside a value mutated as a structure.
    func editCheckpointMetadata(_ url: URL, random: inout SeededRandom) throws -> String {
        var contents = try SafeTensors.read(url)
        let keys = contents.metadata.keys.sorted()
        let key = keys[Int(random.next() % UInt64(keys.count))]
        let text = contents.metadata[key] ?? ""
        if var object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any], random.next() % 4 != 0 {
            let path = Campaign.setRandomField(&object, random: &random)
            contents.metadata[key] = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
            try SafeTensors.encoded(contents.tensors, metadata: contents.metadata).write(to: url)
            return "metadata \(key): \(path)"
        }
        let edges = ["-1", "0", "1", "3", "5", "nan", "inf", "-inf", "1e308", "-1e308", "1e12", "1099511627777", "4611686018427387904",
                     "9223372036854775807", "9223372036854775808", "-9223372036854775808", "1.5", "", "x", "[]", "{}", "0x10", " 4"]
        let value = random.next() % 10 == 0 ? nil : edges[Int(random.next() % UInt64(edges.count))]
        contents.metadata[key] = value
        try SafeTensors.encoded(contents.tensors, metadata: contents.metadata).write(to: url)
        return "metadata \(key) = \(value?.debugDescription ?? "(removed)")"
    }

    /// One tensor (EMA, optimizer moments and step, weights): NaN, ±∞, negative, huge, another dtype or shape, removed.
    func editCheckpointTensor(_ url: URL, random: inout SeededRandom) throws -> String {
        var contents = try SafeTensors.read(url)
        let names = contents.tensors.keys.sorted()
        // The optimizer's step and the EMA and moment tensors are what a resume trusts most: aim there.
        let preferred = names.filter { $0 == "optimizer.step" || $0.hasSuffix("exp_avg_sq") || $0.hasPrefix("ema.") }
        let pool = random.next() % 3 == 0 ? names : preferred
        let name = pool[Int(random.next() % UInt64(pool.count))]
        let t = contents.tensors[name]!
        let what: String
        switch random.next() % 8 {
        case 0, 1, 2:
            let edges: [Double] = [.nan, .infinity, -.infinity, -1, -3, 0, 5.5, 1e38, -1e38, 4.6e18, 1.2e12, 2_147_483_648]
            let value = edges[Int(random.next() % UInt64(edges.count))]
            if random.next() % 2 == 0 {
                // A value the dtype cannot hold (10^38 in an int64 step) goes in as float64: a dtype change as well.
                let full = try (try? Tensor.full(t.shape, value, dtype: t.dtype)) ?? Tensor.full(t.shape, value, dtype: .float64)
                contents.tensors[name] = full
                what = "\(name) all \(value) (\(full.dtype))"
            } else {
                guard let (changed, at) = try settingElement(of: t, to: value, random: &random) else { return "\(name) empty" }
                contents.tensors[name] = changed
                what = "\(name)[\(at)] = \(value)"
            }
        case 3:
            let dtype = [DType.float32, .float64, .int64, .int32, .float16, .bool][Int(random.next() % 6)]
            contents.tensors[name] = try t.to(dtype)
            what = "\(name) as \(dtype)"
        case 4:
            let shapes: [[Int]] = [[-1], [1] + t.shape, [], [0]]
            let shape = shapes[Int(random.next() % UInt64(shapes.count))]
            contents.tensors[name] = shape.isEmpty || shape == [0] ? try Tensor.full(shape, 1, dtype: t.dtype) : try t.reshape(shape)
            what = "\(name) of shape \(shape)"
        case 5:
            contents.tensors[name] = nil
            what = "\(name) removed"
        case 6:
            contents.tensors["optimizer.unexpected.exp_avg"] = try Tensor.full([3], 1)
            what = "an optimizer tensor added"
        default:
            let value = [-3, 1e12, 4.6e18, 5.5, .nan][Int(random.next() % 5)], dtype = [DType.int64, .float64, .int32][Int(random.next() % 3)]
            contents.tensors["optimizer.step"] = try (try? Tensor.full([], value, dtype: dtype)) ?? Tensor.full([], value, dtype: .float64)
            what = "optimizer.step = \(value) (\(dtype))"
        }
        try SafeTensors.encoded(contents.tensors, metadata: contents.metadata).write(to: url)
        return what
    }

    // MARK: the environment

    func environmentCase(_ index: Int, random: inout SeededRandom) -> ToolCase {
        let train = ["train", trainConfig, "-o", "run", "--set", "run.steps=2"]
        guard index >= 0 else { return ToolCase(what: "single process", runs: [Invocation(arguments: train)]) }
        let port = 20_000 + Int((UInt64(getpid()) &* 131 &+ UInt64(index) &* 7919) % 30_000)
        let numbers = ["0", "1", "2", "3", "-1", "65535", "65536", "2147483647", "2147483648", "4294967297", "4611686018427387904",
                       "9223372036854775807", "9223372036854775808", "-9223372036854775808", "1.5", "1e3", "0x10", " 1", "1 ", "+1", "01",
                       "", "x", "\u{0661}", "nan"]
        // Host names that resolve without a network: numeric forms of 127.0.0.1, localhost, IPv6 loopback, or nothing.
        let hosts = ["127.0.0.1", "localhost", "::1", "[::1]", "", " ", "127.1", "2130706433", "0x7f000001", "127.0.0.1:\(port)", String(repeating: "a", count: 300)]
        func draw(_ name: String) -> String {
            if name == "MASTER_ADDR" { return hosts[Int(random.next() % UInt64(hosts.count))] }
            if name == "MASTER_PORT", random.next() % 3 == 0 { return "\(port)" }
            return numbers[Int(random.next() % UInt64(numbers.count))]
        }
        let names = ["RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"]
        if index % 3 != 2 {
            // One process: each variable present or not, valid or an edge value.
            var environment: [String: String] = [:]
            let valid = ["RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "\(port)"]
            for name in names where random.next() % 2 == 0 { environment[name] = random.next() % 3 == 0 ? valid[name]! : draw(name) }
            let what = names.compactMap { n in environment[n].map { "\(n)=\($0.prefix(24).debugDescription)" } }.joined(separator: " ")
            return ToolCase(what: "one process: " + (what.isEmpty ? "(none)" : what), runs: [Invocation(arguments: train, environment: environment)])
        }
        // Two ranks that would meet, with one variable of one of them set otherwise.
        var pair = (0..<2).map { ["RANK": "\($0)", "WORLD_SIZE": "2", "LOCAL_RANK": "\($0)", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "\(port)"] }
        let who = Int(random.next() % 2), name = names[Int(random.next() % UInt64(names.count))]
        let value = random.next() % 3 == 0 && name != "MASTER_ADDR" ? ["0", "1", "2", "3", "\(port + 1)"][Int(random.next() % 5)] : draw(name)
        pair[who][name] = value
        return ToolCase(what: "two ranks: rank \(who) \(name)=\(value.prefix(24).debugDescription)",
                        runs: pair.map { Invocation(arguments: train, environment: $0) })
    }

    // MARK: output paths

    func outputCase(_ index: Int, random: inout SeededRandom, work: URL) throws -> ToolCase {
        let manager = FileManager.default
        try manager.copyItem(atPath: video, toPath: work.appendingPathComponent("in.mp4").path)
        try manager.copyItem(atPath: tokens, toPath: work.appendingPathComponent("in.mgvt").path)
        try manager.createDirectory(at: work.appendingPathComponent("sub"), withIntermediateDirectories: true)
        let user = work.appendingPathComponent("user")
        try manager.createDirectory(at: user.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try Data("thesis\n".utf8).write(to: user.appendingPathComponent("thesis.txt"))
        try Data("notes\n".utf8).write(to: user.appendingPathComponent("sub/notes.md"))
        let model = ["--checkpoint", checkpoint, "--threads", "1"]
        let commands: [(String, String, (String) -> [String])] = [
            ("encode", "in.mp4", { ["encode", "in.mp4", "-o", $0] + model }),
            ("decode", "in.mgvt", { ["decode", "in.mgvt", "-o", $0] + model }),
            ("reconstruct", "in.mp4", { ["reconstruct", "in.mp4", "-o", $0] + model }),
            ("compress", "in.mgvt", { ["compress", "in.mgvt", "-o", $0] + model }),
            ("tokenize", "in.mp4", { ["tokenize", "in.mp4", "-o", $0, "--batch", "1", "--workers", "1"] + model }),
            ("train", "in.mp4", { ["train", trainConfig, "-o", $0, "--set", "run.steps=2"] }),
        ]
        guard index >= 0 else { return ToolCase(what: "encode into out.mgvt", runs: [Invocation(arguments: commands[0].2("out.mgvt"))]) }
        let (command, input, arguments) = commands[Int(random.next() % UInt64(commands.count))]
        let guarded = ["in.mp4", "in.mgvt", "user/thesis.txt", "user/sub/notes.md", "hard-link"]
        try manager.linkItem(atPath: work.appendingPathComponent(input).path, toPath: work.appendingPathComponent("hard-link").path)
        try manager.createSymbolicLink(atPath: work.appendingPathComponent("alias").path, withDestinationPath: input)
        try manager.createSymbolicLink(atPath: work.appendingPathComponent("link-out").path, withDestinationPath: canary.file.path)
        try manager.createSymbolicLink(atPath: work.appendingPathComponent("link-folder").path, withDestinationPath: canary.folder.path)
        try manager.createSymbolicLink(atPath: work.appendingPathComponent("dangling").path, withDestinationPath: canary.absent.path)
        let ext = ["encode": ".mgvt", "compress": ".mgvc", "decode": ".mp4", "reconstruct": ".mp4"][command] ?? ""
        func long(_ n: Int) -> String { String(repeating: "n", count: max(1, n - ext.count)) + ext }
        var destinations = [
            input, "./" + input, "sub/../" + input, work.appendingPathComponent(input).path, "alias", "hard-link",
            "link-out", "link-folder", "link-folder/", "dangling", "user", "user/", "user/thesis.txt",
            "out" + ext + "/", "new/", "sub/", "sub/..", "./", input + "/x" + ext, "out" + ext + "//",
            long(200), long(240), long(250), long(255), long(256), long(1000),
            (0..<45).map { _ in String(repeating: "d", count: 100) }.joined(separator: "/") + "/out" + ext,
            "out with space" + ext, "ñ-é" + ext, "a\nb" + ext, "-" + ext, "out.txt", "user/new" + ext,
        ]
        // Not a new name inside link-folder: links above the destination are followed, as by every
        // Unix tool (a run folder linked to a scratch disk); writing there is what was asked.
        if ["decode", "reconstruct"].contains(command) { destinations += ["frames/", "user/frames/"] }
        var destination = destinations[Int(random.next() % UInt64(destinations.count))]
        var what = "\(command) into \(destination.prefix(60).debugDescription)\(destination.count > 60 ? " (\(destination.utf8.count) bytes)" : "")"
        switch random.next() % 8 {
        case 0 where destination.count > 1:
            // A truncated name, or one with a bit flipped (kept printable ASCII).
            let cut = 1 + Int(random.next() % UInt64(destination.count - 1))
            destination = String(destination.prefix(cut))
            what += ", truncated to \(destination.prefix(60).debugDescription)"
        case 1 where !destination.isEmpty:
            var bytes = Array(destination.utf8)
            let at = Int(random.next() % UInt64(bytes.count))
            if bytes[at] < 0x80 {
                bytes[at] ^= UInt8(1 << (random.next() % 6))
                if bytes[at] < 0x20 || bytes[at] == 0x7f { bytes[at] = 0x2f }
            }
            destination = String(decoding: bytes, as: UTF8.self)
            what += ", flipped to \(destination.prefix(60).debugDescription)"
        default: break
        }
        return ToolCase(what: what, runs: [Invocation(arguments: arguments(destination))], guarded: guarded)
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
