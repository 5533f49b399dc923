// The tool campaign's cases over token-dataset folders: a finished dataset (its index and shards
// edited, renamed, rehashed or replaced) read by `magvit train-generator`, and an unfinished
// tokenize folder (its `.tokenize-state.json` mutated) resumed by `magvit tokenize`.
import Crypto
import Foundation
import NN
import Torch

extension ToolFixtures {
    func datasetCase(_ index: Int, random: inout SeededRandom, work: URL) throws -> ToolCase {
        let folder = work.appendingPathComponent("dataset")
        try FileManager.default.copyItem(at: dataset, to: folder)
        // A generator config in the case's folder (its paths are taken relative to the file).
        try """
            tokenizer: \(checkpoint)
            data: {kind: tokens, path: \(folder.path)}
            generator: {width: 16, depth: 1, heads: 2, dropout: 0}
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
}
