// The tool campaign's cases over a run folder's checkpoint: its metadata and tensors mutated before
// `magvit train --resume` reads it.
import Foundation
import NN
import Torch

extension ToolFixtures {
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
}
