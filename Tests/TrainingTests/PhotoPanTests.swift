// Virtual-camera clips over photos, mixtures of sources, and warm starts from a tokenizer file.
@testable import Dataset
import Foundation
import Harness
import NN
import TestSupport
import Tokenizer
import Torch
import TokenizerTraining
import XCTest

final class PhotoPanTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-pans-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("photos"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("held"), withIntermediateDirectories: true)
        // Photos whose colour says where a pixel is: red across, green down, blue a checkerboard.
        for (name, w, h) in [("photos/a.png", 200, 150), ("photos/b.png", 120, 160), ("held/c.png", 96, 96)] {
            let x = try Tensor.arange(0, Double(w), dtype: .float32).reshape([1, w]).expand([h, w]) / Double(w)
            let y = try Tensor.arange(0, Double(h), dtype: .float32).reshape([h, 1]).expand([h, w]) / Double(h)
            let checker = try ((x * 8).floor() + (y * 8).floor()).to(.int64).remainder(2).to(.float32)
            try PNG.write(stacked([x, y, checker], dim: 2), to: folder.appendingPathComponent(name))
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func config(_ extra: String = "") throws -> TokenizerTrainingConfig {
        try TokenizerTrainingConfig.parse("""
            model: {preset: tiny}
            data: {kind: photo-pans, train: [\(folder.appendingPathComponent("photos").path)], eval: [\(folder.appendingPathComponent("held").path)], flip: true, evalSamples: 3\(extra)}
            run: {seed: 7}
            """)
    }

    func testCameraPathsStayInsideThePhotoAtEveryFrame() {
        var random = SeededRandom(seed: 1)
        var pan = PanConfig()
        pan.rotation = 10
        pan.travel = 2
        for _ in 0..<2000 {
            let (w, h) = (20 + Int(random.next() % 600), 20 + Int(random.next() % 600))
            let path = CameraPath.random(width: w, height: h, pan: pan, flip: false, random: &random)
            for t in 0...8 {
                let (cx, cy, side, a) = path.pose(frame: t, of: 9)
                for (u, v) in [(-1.0, -1.0), (1, -1), (-1, 1), (1, 1)] {
                    let x = cx + side / 2 * (cos(a) * u - sin(a) * v), y = cy + side / 2 * (sin(a) * u + cos(a) * v)
                    XCTAssert(x >= -1e-9 && x <= Double(w) + 1e-9 && y >= -1e-9 && y <= Double(h) + 1e-9, "\(w)x\(h) \(path) frame \(t): (\(x), \(y))")
                }
            }
        }
    }

    func testStillCameraGivesTheSameFrameAndItsWindowOfThePhoto() throws {
        // No travel, zoom or turn, no flip, one crop size: every frame is the same window of the photo,
        // whose colours place it inside the photo.
        let c = try config(", flip: false, pan: {crop: [0.5, 0.5], travel: 0, zoom: 0, rotation: 0}")
        let source = try PhotoPanSource(config: c.data, shape: c.model.clipShape, seed: 3)
        let clips = try source.batch(step: 0, size: 4).clips
        XCTAssertEqual(clips.shape, [4, 3, 5, 16, 16])
        let first = try clips.narrow(2, start: 0, length: 1)
        XCTAssertLessThan(try (clips - first).abs().max().item(), 1e-6)
        // Red grows to the right and green downwards inside the window, as in the photo.
        let red = try clips.narrow(1, start: 0, length: 1), green = try clips.narrow(1, start: 1, length: 1)
        XCTAssertGreaterThan(try (red.narrow(4, start: 15, length: 1) - red.narrow(4, start: 0, length: 1)).min().item(), 0)
        XCTAssertGreaterThan(try (green.narrow(3, start: 15, length: 1) - green.narrow(3, start: 0, length: 1)).min().item(), 0)
    }

    func testMovingCameraClipsDependOnlyOnSeedAndStep() throws {
        let c = try config()
        let source = try PhotoPanSource(config: c.data, shape: c.model.clipShape, seed: 3)
        let a = try source.batch(step: 2, size: 6).clips, b = try source.batch(step: 2, size: 6).clips, other = try source.batch(step: 3, size: 6).clips
        XCTAssertEqual(try a.toArray(Float.self), try b.toArray(Float.self))
        XCTAssertNotEqual(try a.toArray(Float.self), try other.toArray(Float.self))
        XCTAssertLessThanOrEqual(try a.abs().max().item(), 1)
        // The camera moves: first and last frames differ in most clips.
        let change = try (a.narrow(2, start: 0, length: 1) - a.narrow(2, start: 4, length: 1)).abs().mean([1, 2, 3, 4]).toArray(Float.self)
        XCTAssertGreaterThanOrEqual(change.filter { $0 > 0.01 }.count, 4, "\(change)")
        let held = try XCTUnwrap(try source.heldOut(limit: 10)).clips
        XCTAssertEqual(held.shape, [3, 3, 5, 16, 16])
        XCTAssertEqual(try held.toArray(Float.self), try XCTUnwrap(try source.heldOut(limit: 10)).clips.toArray(Float.self))
    }

    func testPhotoPackHoldsThePhotosOfAFolder() throws {
        let photos = try PhotoSet(paths: [folder.appendingPathComponent("photos").path], shorterSide: 100, smallest: 16)
        XCTAssertEqual(photos.names, ["a.png", "b.png"])
        XCTAssertEqual(photos.pyramids.map { $0.map(\.shape) }, [[[100, 133, 3], [50, 66, 3], [25, 33, 3]], [[133, 100, 3], [66, 50, 3], [33, 25, 3]]])
        let pack = folder.appendingPathComponent("photos.safetensors")
        try photos.pack(to: pack)
        let unpacked = try PhotoSet(paths: [pack.path], shorterSide: 100, smallest: 16)
        XCTAssertEqual(unpacked.names, photos.names)
        for (a, b) in zip(unpacked.pyramids, photos.pyramids) {
            for (x, y) in zip(a, b) { XCTAssertEqual(try x.toArray(UInt8.self), try y.toArray(UInt8.self)) }
        }
        let frames = folder.appendingPathComponent("frames.safetensors")
        try SafeTensors.write(["frames": Tensor.zeros([2, 8, 8, 3], dtype: .uint8)], to: frames)
        XCTAssertThrowsError(try PhotoSet(paths: [frames.path], shorterSide: 100, smallest: 16)) { XCTAssertTrue("\($0)".contains("not a photo pack"), "\($0)") }
    }

    func testBadPhotosAndPanSettingsSayWhatIsWrong() throws {
        let c = try config(", pan: {crop: [0.5, 1.5]}")
        XCTAssertThrowsError(try PhotoPanSource(config: c.data, shape: c.model.clipShape, seed: 0)) { XCTAssertTrue("\($0)".contains("data.pan.crop"), "\($0)") }
        let broken = folder.appendingPathComponent("photos/broken.png")
        try Data("not a png".utf8).write(to: broken)
        let d = try config()
        XCTAssertThrowsError(try PhotoPanSource(config: d.data, shape: d.model.clipShape, seed: 0)) { XCTAssertTrue("\($0)".contains("broken.png"), "\($0)") }
    }

    func testMixtureDrawsFromItsPartsByWeight() throws {
        let photos = folder.appendingPathComponent("photos").path
        let c = try TokenizerTrainingConfig.parse("""
            model: {preset: tiny, resolution: 32}
            data:
              kind: mixture
              sources:
                - {kind: photo-pans, train: [\(photos)], weight: 3}
                - {kind: moving-digits, weight: 1}
            """)
        let mixture = try XCTUnwrap(DataSources.make(c.data, shape: c.model.clipShape, seed: 1) as? MixedSource)
        let totals = (0..<200).map { mixture.counts(step: $0, size: 8) }.reduce([0, 0]) { [$0[0] + $1[0], $0[1] + $1[1]] }
        XCTAssertEqual(totals[0] + totals[1], 1600)
        XCTAssertEqual(Double(totals[0]) / 1600, 0.75, accuracy: 0.04)
        let batch = try mixture.batch(step: 4, size: 8).clips
        XCTAssertEqual(batch.shape, [8, 3, 5, 32, 32])
        XCTAssertEqual(try batch.toArray(Float.self), try mixture.batch(step: 4, size: 8).clips.toArray(Float.self))

        XCTAssertThrowsError(try TokenizerTrainingConfig.parse("data: {kind: mixture, sources: [{kind: videos, train: [x], wieght: 2}]}\nmodel: {preset: tiny}")) {
            XCTAssertTrue("\($0)".contains("unknown setting 'wieght'"), "\($0)")
        }
        var images = c.data
        images.sources = [MixturePart(kind: .fashionMNIST, train: [])]
        XCTAssertThrowsError(try DataSources.make(images, shape: c.model.clipShape, seed: 1)) { XCTAssertTrue("\($0)".contains("cannot be mixed"), "\($0)") }
        images.sources = [MixturePart(kind: .photoPans, train: [photos], weight: 0)]
        XCTAssertThrowsError(try DataSources.make(images, shape: c.model.clipShape, seed: 1)) { XCTAssertTrue("\($0)".contains("weight must be positive"), "\($0)") }
    }

    func testWarmStartTakesATokenizerFilesWeightsRecordsItsLineageAndRefusesAnotherShape() throws {
        let start = try VideoTokenizer(config: TokenizerConfig.tiny)
        let file = folder.appendingPathComponent("start.safetensors")
        try start.save(to: file, metadata: ["training_steps": "7", "training_device": "cuda:0", "unrelated": "x",
                                            "warm_start": #"{"file":"first.safetensors","training_steps":"3"}"#])
        var c = try config(", pan: {crop: [0.5, 1]}")
        c.initialWeights = file.path
        c.run.steps = 2
        c.run.batch = 2
        let trainer = try TokenizerTrainer(config: c, directory: folder.appendingPathComponent("run"), resume: false, perceptual: nil, echo: { _ in })
        XCTAssertEqual(try trainer.model.weightsHash(), try start.weightsHash())
        try trainer.train()
        let saved = try SafeTensors.read(folder.appendingPathComponent("run/tokenizer.safetensors")).metadata
        let lineage = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(XCTUnwrap(saved["warm_start"]).utf8)) as? [String: Any])
        XCTAssertEqual(lineage["file"] as? String, "start.safetensors")
        XCTAssertEqual(lineage["weights_sha256"] as? String, try start.weightsHash())
        XCTAssertEqual(lineage["training_steps"] as? String, "7")
        XCTAssertEqual(lineage["training_device"] as? String, "cuda:0")
        XCTAssertNil(lineage["unrelated"])
        XCTAssertEqual((lineage["warm_start"] as? [String: Any])?["file"] as? String, "first.safetensors", "the start's own start, nested")
        XCTAssertEqual(saved["training_steps"], "2")
        let lines = WarmStart.lineage(saved)
        XCTAssertEqual(lines.count, 3, "\(lines)")
        XCTAssertTrue(lines[0].hasPrefix("this model: 2 steps, ") && lines[0].hasSuffix(" s on cpu"), lines[0])
        XCTAssertEqual(lines[1], "warm start from start.safetensors (\(try start.weightsHash().prefix(12))): 7 steps on cuda:0")
        XCTAssertEqual(lines[2], "warm start from first.safetensors: 3 steps")
        var other = TokenizerConfig.tiny
        other.baseChannels *= 2
        try VideoTokenizer(config: other).save(to: file)
        XCTAssertThrowsError(try TokenizerTrainer(config: c, directory: folder.appendingPathComponent("run2"), resume: false, perceptual: nil, echo: { _ in })) {
            XCTAssertTrue("\($0)".contains("another network") && "\($0)".contains("baseChannels 16 vs 8"), "\($0)")
        }
    }
}
