// The PyTorch package (python/, docs/pytorch.md) against the Swift tool: installed with pip into the
// venv setup makes (.deps/torch-venv), it loads the shipped model and a random tiny one, encodes the
// frames the tool encoded and decodes the tool's token file; ids and frames are compared here. Also its
// token-file reader's refusals and its Dataset over shards the tool wrote.
import Codec
import Dataset
import Foundation
import Media
import NN
import TestSupport
import Tokenizer
import Torch
import XCTest

final class PyTorchPackageTests: XCTestCase {
    var folder: URL!
    let venv = repositoryRoot.appendingPathComponent(".deps/torch-venv")

    override func setUpWithError() throws {
        guard FileManager.default.fileExists(atPath: venv.appendingPathComponent(".torch-2.15.0").path) else {
            throw XCTSkip("run scripts/setup.sh: it makes .deps/torch-venv, where the package's tests run")
        }
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-pytorch-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Self.installPackage(python: venv.appendingPathComponent("bin/python").path)
    }

    override func tearDownWithError() throws { if let folder { try? FileManager.default.removeItem(at: folder) } }

    func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    /// `pip install ./python`, once per test process (offline: the venv already has torch, numpy, safetensors).
    nonisolated(unsafe) static var installed = false
    static func installPackage(python: String) throws {
        guard !installed else { return }
        // Run outside the repository: the installed package must be what is imported.
        let (status, output) = try runProcess(python, ["-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                                                       "--force-reinstall", "--root-user-action=ignore", repositoryRoot.appendingPathComponent("python").path],
                                              in: FileManager.default.temporaryDirectory)
        guard status == 0 else { throw XCTSkip("pip install ./python failed: \(output)") }
        installed = true
    }

    func python(_ arguments: [String]) throws -> String {
        let (status, output) = try runProcess(venv.appendingPathComponent("bin/python").path, arguments, in: folder)
        XCTAssertEqual(status, 0, output)
        return output
    }

    /// Frames (uint8 (T, H, W, 3)) through the tool and through magvit_torch: ids of the same frames, and
    /// the tool's token file decoded by both. Returns the measured agreement.
    func compare(model path: URL, frames: Tensor, name: String) throws -> (idsEqual: Double, floatDiff: Double, levels: Int) {
        try SafeTensors.write(["frames": frames], to: url("\(name)-frames.safetensors"))
        let writer = try VideoWriter(path: url("\(name).mkv").path, width: frames.size(2), height: frames.size(1))  // FFV1: lossless RGB
        try writer.write(frames)
        try writer.finish()
        var result = try magvit(["encode", url("\(name).mkv").path, "-o", url("\(name).mgvt").path, "--checkpoint", path.path])
        XCTAssertEqual(result.status, 0, result.output)
        result = try magvit(["decode", url("\(name).mgvt").path, "-o", url("\(name)-decoded").path, "--checkpoint", path.path])
        XCTAssertEqual(result.status, 0, result.output)

        let report = try python([repositoryRoot.appendingPathComponent("scripts/pytorch-parity.py").path, path.path,
                                 url("\(name)-frames.safetensors").path, url("\(name).mgvt").path, url("\(name)-torch.safetensors").path])
        let line = try XCTUnwrap(report.split(separator: "\n").last.map(String.init))
        let checks = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], report)
        XCTAssertEqual(checks["weights_hash_matches"] as? Bool, true, line)
        XCTAssertEqual(checks["batch_matches_single"] as? Bool, true, line)
        XCTAssertEqual(checks["batch_second_matches"] as? Bool, true, line)
        let torch = try SafeTensors.read(url("\(name)-torch.safetensors")).tensors

        // Ids: magvit_torch's encode of the frames against the tool's token file.
        let file = try TokenFile(contentsOf: url("\(name).mgvt"))
        let h = file.header
        let ids = try XCTUnwrap(torch["ids"])
        XCTAssertEqual(ids.shape, [h.t, h.h, h.w])
        let swiftIds = try Tensor(file.ids, shape: [h.t, h.h, h.w])
        let equal = try ids.eq(swiftIds).to(.float64).mean().item()

        // Frames: the tool's token file decoded by both, in float before rounding (the calls the tool's
        // decode makes, VideoCodec.decode) and as written (uint8).
        let model = try VideoTokenizer.load(from: path)
        var perFrame: [Tensor] = []
        var offset = 0
        for chunk in h.chunks {
            let tokens = try swiftIds.narrow(0, start: offset, length: chunk.latentFrames).unsqueeze(0)
            offset += chunk.latentFrames
            perFrame.append(try framesFromModel(model.decode(tokens)).narrow(0, start: 0, length: chunk.frames))
        }
        let swiftFloat = try concatenate(perFrame, dim: 0)
        let torchFloat = try XCTUnwrap(torch["decoded"])
        XCTAssertEqual(torchFloat.shape, swiftFloat.shape)
        let floatDiff = try (torchFloat - swiftFloat).abs().max().item()
        let reader = try VideoReader(path: url("\(name)-decoded").path)
        let written = try XCTUnwrap(reader.read(frames.size(0) + 1))
        let swiftBytes = try (written * 255).round()
        let torchBytes = try XCTUnwrap(torch["decoded_uint8"])
        XCTAssertEqual(torchBytes.shape, written.shape)
        let levels = Int(try (torchBytes.to(.float32) - swiftBytes).abs().max().item())
        print("PyTorch parity (\(name), \(frames.shape) frames, \(h.t)x\(h.h)x\(h.w) tokens): ids equal on \(String(format: "%.6f", equal)) " +
              "(\(Int((equal * Double(file.ids.count)).rounded())) of \(file.ids.count)); decoded frames max abs difference " +
              "\(String(format: "%.2e", floatDiff)) in [0, 1], \(levels) uint8 level(s); Python encode \(checks["encode_seconds"] ?? "?") s, decode \(checks["decode_seconds"] ?? "?") s")
        return (equal, floatDiff, levels)
    }

    /// A random tiny model (5-frame clips, 4x spatial) on 7 frames of 24x344: two clips (the second padded
    /// from 2 to 3 frames) and frames wider than a 320-pixel tile, so tiles are encoded and blended.
    func testTinyRandomModelGivesTheToolsIdsAndFrames() throws {
        Torch.manualSeed(11)
        let model = try VideoTokenizer(config: .tiny)
        try model.save(to: url("tiny.safetensors"))
        let coarse = try Tensor.rand([7, 3, 6, 43])
        let frames = try (interpolate(coarse, size: [24, 344], mode: .linear).permute([0, 2, 3, 1]) * 255).round().to(.uint8).contiguous()
        let r = try compare(model: url("tiny.safetensors"), frames: frames, name: "tiny")
        XCTAssertGreaterThanOrEqual(r.idsEqual, 0.999)
        XCTAssertLessThanOrEqual(r.floatDiff, 1e-4)
        XCTAssertLessThanOrEqual(r.levels, 1)
    }

    /// The shipped model on 20 frames of carphone (176x144): a 17-frame clip and a 3-frame one padded to 5.
    func testShippedModelGivesTheToolsIdsAndFrames() throws {
        let clip = repositoryRoot.appendingPathComponent(".deps/media/carphone_pristine.mp4")
        guard FileManager.default.fileExists(atPath: clip.path) else { throw XCTSkip("run scripts/setup.sh for the sample clips") }
        let reader = try VideoReader(path: clip.path, options: ReadOptions(maxFrames: 20))
        let frames = try (XCTUnwrap(reader.read(20)) * 255).round().to(.uint8).contiguous()
        let r = try compare(model: repositoryRoot.appendingPathComponent("models/default-tokenizer.safetensors"), frames: frames, name: "shipped")
        XCTAssertGreaterThanOrEqual(r.idsEqual, 0.999)
        XCTAssertLessThanOrEqual(r.floatDiff, 1e-4)
        XCTAssertLessThanOrEqual(r.levels, 1)
    }

    /// read_tokens gives a token file's ids; a flipped byte, another magic, a newer version and a
    /// truncated file are refused with what is wrong.
    func testTokenFilesAreReadAndBadOnesRefused() throws {
        Torch.manualSeed(5)
        let model = try VideoTokenizer(config: .tiny)
        try model.save(to: url("tiny.safetensors"))
        try SyntheticData.writeVideo(to: url("clip.mkv"), frames: 7)
        let result = try magvit(["encode", url("clip.mkv").path, "-o", url("clip.mgvt").path, "--checkpoint", url("tiny.safetensors").path])
        XCTAssertEqual(result.status, 0, result.output)
        let file = try TokenFile(contentsOf: url("clip.mgvt"))
        var bytes = try Data(contentsOf: url("clip.mgvt"))
        bytes[bytes.count - 9] ^= 0x10
        try bytes.write(to: url("flipped.mgvt"))
        bytes = try Data(contentsOf: url("clip.mgvt"))
        bytes[0] = UInt8(ascii: "X")
        try bytes.write(to: url("magic.mgvt"))
        bytes = try Data(contentsOf: url("clip.mgvt"))
        bytes[8] = 2
        try bytes.write(to: url("version.mgvt"))
        try Data(contentsOf: url("clip.mgvt")).prefix(40).write(to: url("short.mgvt"))
        let script = """
            import json, magvit_torch
            out = {"ids": magvit_torch.read_tokens("clip.mgvt").flatten().tolist()}
            for name in ["flipped", "magic", "version", "short", "missing"]:
                try:
                    magvit_torch.read_tokens(name + ".mgvt")
                    out[name] = "read"
                except magvit_torch.TokenFileError as e:
                    out[name] = str(e)
            print(json.dumps(out))
            """
        let output = try python(["-c", script])
        let row = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(XCTUnwrap(output.split(separator: "\n").last).utf8)) as? [String: Any])
        XCTAssertEqual((row["ids"] as? [Int])?.map(Int64.init), file.ids)
        XCTAssertTrue((row["flipped"] as? String)?.contains("checksum mismatch") == true, "\(row)")
        XCTAssertTrue((row["magic"] as? String)?.contains("does not start with MAGVITOK") == true, "\(row)")
        XCTAssertTrue((row["version"] as? String)?.contains("version 2 is not supported") == true, "\(row)")
        XCTAssertTrue((row["short"] as? String)?.contains("short.mgvt") == true, "\(row)")
        XCTAssertTrue((row["missing"] as? String)?.contains("no such file") == true, "\(row)")
    }

    /// magvit_torch.TokenDataset over shards the tool's tokenizer wrote: every clip's ids and fields in
    /// dataset order, batched by a DataLoader; scripts/read_tokens.py (the same reader) summarises it.
    func testTokenDatasetGivesTheShardsClips() throws {
        Torch.manualSeed(3)
        try SyntheticData.writeVideo(to: url("in/cats/a.mkv"), frames: 10)
        try SyntheticData.writeVideo(to: url("in/dogs/b.mkv"), frames: 3)
        Torch.manualSeed(0)
        let model = try VideoTokenizer(config: .tiny)
        var options = TokenizeOptions()
        (options.batch, options.shardSize, options.workers) = (2, 2, 1)
        let index = try Tokenization(model: model, inputs: InputList.expand([url("in").path], labels: .folders), labels: .folders,
                                     output: url("ds"), options: options).run()
        let dataset = try TokenDataset(url("ds"))
        let clips = try dataset.index.shards.indices.flatMap { try dataset.shard($0).records() }
        XCTAssertEqual(index.shards.count, 2)
        let script = """
            import json, torch, magvit_torch
            data = magvit_torch.TokenDataset("ds")
            batches = list(torch.utils.data.DataLoader(data, batch_size=2))
            print(json.dumps({"length": len(data), "grid": list(data.grid), "classes": data.classes,
                              "ids": torch.cat([b["ids"] for b in batches]).reshape(len(data), -1).tolist(),
                              "label": torch.cat([b["label"] for b in batches]).tolist(),
                              "frames": torch.cat([b["frames"] for b in batches]).tolist(),
                              "dtype": str(batches[0]["ids"].dtype), "last": data[-1]["clip_index"]}))
            """
        let output = try python(["-c", script])
        let row = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(XCTUnwrap(output.split(separator: "\n").last).utf8)) as? [String: Any])
        XCTAssertEqual(row["length"] as? Int, clips.count)
        XCTAssertEqual(row["grid"] as? [Int], [3, 4, 4])
        XCTAssertEqual(row["classes"] as? [String], ["cats", "dogs"])
        XCTAssertEqual(row["dtype"] as? String, "torch.int64")
        XCTAssertEqual((row["ids"] as? [[Int]])?.map { $0.map(Int32.init) }, clips.map(\.ids))
        XCTAssertEqual(row["label"] as? [Int], clips.map(\.label))
        XCTAssertEqual(row["frames"] as? [Int], clips.map(\.frames))
        XCTAssertEqual(row["last"] as? Int, clips.last?.clipIndex)
        let summary = try python([repositoryRoot.appendingPathComponent("scripts/read_tokens.py").path, url("ds").path])
        XCTAssertTrue(summary.contains("\(clips.count) clips of 3x4x4 tokens from 2 files"), summary)
    }
}
