// The action classifier end to end on tiny models: a token classifier memorises a handful of clips;
// the motion classes are learned from pixels and need frame order (the shuffled-frames control
// falls below the pairs' 50 % ceiling); a token classifier's run resumes exactly and under two ranks
// equals one process; the saved classifier gives the trained model's predictions; a generator's
// weights initialise it; and the tool classifies and scores videos.
import Classifier
import ClassifierModel
import Dataset
import Foundation
import GeneratorModel
import Harness
import Media
import NN
import TestSupport
import Tokenizer
import Torch
import XCTest

final class ClassifierTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-cls-\(getpid())-\(UUID().uuidString.prefix(8))")
        try SyntheticData.writeIDX(to: folder.appendingPathComponent("data"), train: 64, test: 16)
        Torch.manualSeed(2)
        try VideoTokenizer(config: .tiny).save(to: url("tokenizer.safetensors"))  // 5×16×16 RGB → 3×4×4 tokens of 6 bits
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    func config(input: String, steps: Int, extra: String = "") throws -> ClassifierTrainingConfig {
        try ClassifierTrainingConfig.parse("""
            tokenizer: \(url("tokenizer.safetensors").path)
            data: {kind: motion-classes, train: [\(url("data").path)], digitSize: 7}
            classifier: {input: \(input), width: 32, depth: 2, heads: 2, dropout: 0, labelSmoothing: 0}
            trainClips: 1024
            evalClips: 256
            optimizer: {learningRate: 0.003, warmupSteps: 20}
            run: {steps: \(steps), batch: 32, logEvery: 10, evalEvery: 1000, checkpointEvery: 10, seed: 5, threads: 2}
            \(extra)
            """)
    }

    func testMotionDigitsAreDeterministicSplitAndShuffledByFrame() throws {
        var data = DataConfig()
        (data.train, data.digitSize) = ([url("data").path], 7)
        let set = try MotionDigits(data: data, seed: 1)
        let a = try set.clips(.train, 0..<16, frames: 5, size: 16, channels: 1)
        let b = try set.clips(.train, 0..<16, frames: 5, size: 16, channels: 1)
        XCTAssertEqual(try a.clips.toArray(Float.self), try b.clips.toArray(Float.self))
        XCTAssertEqual(Array(try a.labels!.toArray(Int64.self).suffix(8)), try set.clips(.train, 8..<16, frames: 5, size: 16, channels: 1).labels!.toArray(Int64.self),
                       "a clip is a function of its index")
        XCTAssertNotEqual(try set.clips(.test, 0..<16, frames: 5, size: 16, channels: 1).clips.toArray(Float.self), try a.clips.toArray(Float.self))
        XCTAssertEqual(Set(try a.labels!.toArray(Int64.self)).count > 4, true, "labels spread over the 8 classes")
        // The control holds the same frames in another order.
        let shuffled = try set.clips(.train, 0..<16, frames: 5, size: 16, channels: 1, shuffled: true)
        var reordered = 0
        for i in 0..<16 {
            let frames = { (c: Tensor) in try (0..<5).map { try c.narrow(0, start: i, length: 1).narrow(2, start: $0, length: 1).toArray(Float.self) } }
            let (x, y) = (try frames(a.clips), try frames(shuffled.clips))
            XCTAssertEqual(x.map { $0.reduce(0, +) }.sorted(), y.map { $0.reduce(0, +) }.sorted(), "clip \(i): the same frames")
            if x != y { reordered += 1 }
        }
        XCTAssertGreaterThan(reordered, 10)
    }

    func testTinyTokenClassifierOverfitsAHandfulOfClips() throws {
        let c = try config(input: "factors", steps: 1)
        let tokenizer = try VideoTokenizer.load(from: url("tokenizer.safetensors"))
        let maker = ExampleMaker(encoder: try ClipEncoder(input: .factors, tokenizer: tokenizer, device: .cpu), frames: 5, size: 16, channels: 3)
        let examples = try maker.motionDigits(MotionDigits(data: c.data, seed: 1), .train, count: 16)
        Torch.manualSeed(1)
        let model = try VideoClassifier(config: c.classifier)
        let optimizer = AdamW(model.store.parameters, learningRate: 0.003, betas: (0.9, 0.99), weightDecay: 0)
        for _ in 0..<150 {
            try optimizer.zeroGrad()
            try crossEntropy(model.logits(examples.inputs, training: true), examples.labels).backward()
            try optimizer.update()
        }
        let scores = try Classification.score(model: model, examples: examples, classes: 8)
        XCTAssertEqual(scores.top1, 1, "16 training clips memorised: \(scores.confusion)")
    }

    func testPixelsLearnMotionAndShuffledFramesFail() throws {
        let c = try config(input: "pixels", steps: 1000)
        XCTAssertEqual(c.classifier.grid, [3, 4, 4], "the tokenizer's grid")
        XCTAssertEqual(c.classifier.tubelet, [2, 4, 4])
        let run = url("pixels")
        let trainer = try ClassifierTrainer(config: c, directory: run, resume: false, echo: { _ in })
        let saved = try XCTUnwrap(try trainer.train())
        let final = try XCTUnwrap(records(run).last { $0["kind"] as? String == "final_eval" })
        let top1 = try XCTUnwrap(final["top1"] as? Double)
        XCTAssertGreaterThan(top1, 0.6, "validation top-1 of 8 classes (chance 12.5 %)")
        let trained = try TrainedClassifier.load(saved)
        let set = try MotionDigits(data: c.data, seed: c.run.seed)
        let ordered = try trained.score(trained.maker.motionDigits(set, .test, count: 256))
        let shuffled = try trained.score(trained.maker.motionDigits(set, .test, count: 256, shuffled: true))
        print("motion digits, pixels: validation top-1 \(top1), test \(ordered.top1), shuffled frames \(shuffled.top1)")
        XCTAssertGreaterThan(ordered.top1, 0.6)
        XCTAssertLessThan(shuffled.top1, ordered.top1 - 0.2, "frame order carries the class: \(shuffled.top1) vs \(ordered.top1)")
        XCTAssertLessThan(shuffled.top1, 0.55, "without order only the pairs can be told apart")
    }

    func testTokenClassifierResumesExactlyAndReloads() throws {
        let c = try config(input: "bits", steps: 20, extra: "trainClips: 96\nevalClips: 32")
        let whole = url("whole"), split = url("split")
        let saved = try XCTUnwrap(try ClassifierTrainer(config: c, directory: whole, resume: false, echo: { _ in }).train())
        XCTAssertNil(try ClassifierTrainer(config: c, directory: split, resume: false, echo: { _ in }).train(stoppingAt: 10))
        let resumed = try ClassifierTrainer(config: c, directory: split, resume: true, echo: { _ in })
        try resumed.train()
        try assertSameRecords(whole, split)
        let a = try SafeTensors.read(saved).tensors, b = try SafeTensors.read(split.appendingPathComponent("classifier.safetensors")).tensors
        for (k, v) in a { XCTAssertEqual(try v.toArray(Float.self), try b[k]!.toArray(Float.self), k) }
        // The saved classifier, with its tokenizer found by the path stored in it, predicts what the trained model does.
        let trained = try TrainedClassifier.load(saved)
        XCTAssertEqual(trained.classNames, MotionDigits.classNames)
        let examples = try XCTUnwrap(resumed.heldOut)
        let inMemory = try Classification.probabilities(model: resumed.model, inputs: examples.inputs)
        XCTAssertEqual(try trained.probabilities(examples).toArray(Float.self), try inMemory.toArray(Float.self))
        let again = try trained.maker.motionDigits(MotionDigits(data: c.data, seed: c.run.seed), .validation, count: 32)
        XCTAssertEqual(try again.inputs.toArray(Int32.self), try examples.inputs.toArray(Int32.self), "tokens made again are the cached ones")
        // Another tokenizer's weights are refused.
        try VideoTokenizer(config: .tiny).save(to: url("other.safetensors"))
        XCTAssertThrowsError(try TrainedClassifier.load(saved, tokenizer: url("other.safetensors").path)) {
            XCTAssertTrue("\($0)".contains("not the one"), "\($0)")
        }
    }

    func testGeneratorWeightsInitialiseTheFactorClassifier() throws {
        var g = GeneratorConfig()
        (g.vocabularyBits, g.factorBits, g.grid, g.width, g.depth, g.heads) = (6, [6], [3, 4, 4], 32, 2, 2)
        let generator = try MaskedTransformer(config: g)
        var metadata = ["magvit.format": "generator-v1"]
        try generator.store.save(to: url("generator.safetensors"), metadata: metadata)
        let c = try config(input: "factors", steps: 1, extra: "initialize: \(url("generator.safetensors").path)")
        let model = try VideoClassifier(config: c.classifier)
        XCTAssertEqual(try model.initialize(fromGenerator: url("generator.safetensors")), generator.store.tensors.count - 2, "all but the output head")
        let own = Dictionary(uniqueKeysWithValues: model.store.tensors.map { ($0.name, $0.tensor) })
        for (name, t) in generator.store.tensors where !name.hasPrefix("output_head") {
            XCTAssertEqual(try own[name]!.toArray(Float.self), try t.toArray(Float.self), name)
        }
        g.width = 64
        metadata["x"] = "y"
        try MaskedTransformer(config: g).store.save(to: url("wide.safetensors"), metadata: metadata)
        XCTAssertThrowsError(try model.initialize(fromGenerator: url("wide.safetensors"))) { XCTAssertTrue("\($0)".contains("does not match"), "\($0)") }
        XCTAssertThrowsError(try model.initialize(fromGenerator: url("tokenizer.safetensors"))) { XCTAssertTrue("\($0)".contains("not a generator"), "\($0)") }
    }

    func testTubeletsRepeatTheFirstFrameAndScoresAverageClips() throws {
        var c = ClassifierConfig()
        (c.input, c.grid, c.channels, c.clipFrames, c.resolution, c.classes, c.width, c.depth, c.heads) = (.pixels, [3, 2, 2], 1, 5, 4, 3, 8, 1, 2)
        let model = try VideoClassifier(config: c)
        let clip = try Tensor((0..<80).map(Float.init), shape: [1, 1, 5, 4, 4])
        let t = try model.tubelets(clip)  // (1, 12, 1·2·2·2)
        XCTAssertEqual(t.shape, [1, 12, 8])
        XCTAssertEqual(try t.narrow(1, start: 0, length: 1).toArray(Float.self), [0, 1, 4, 5, 0, 1, 4, 5], "frame 0 twice, top-left 2x2")
        XCTAssertEqual(try t.narrow(1, start: 4, length: 1).toArray(Float.self), [16, 17, 20, 21, 32, 33, 36, 37], "frames 1-2")
        // Two videos: clips 0-1 of video 0 (class 2), clip 2 of video 1 (class 0).
        let p = try Tensor([0.6, 0.1, 0.3, 0.0, 0.2, 0.8, 0.5, 0.3, 0.2] as [Float], shape: [3, 3])
        let s = try Classification.score(probabilities: p, labels: Tensor([2, 2, 0] as [Int64], shape: [3]), videos: Tensor([0, 0, 1] as [Int64], shape: [3]),
                                         videoCount: 2, classes: 3)
        XCTAssertEqual(s.top1, 1, "video 0 averages to (0.3, 0.15, 0.55)")
        XCTAssertEqual(s.clipTop1, 2.0 / 3.0, accuracy: 1e-9)
        XCTAssertEqual(s.confusion, [[1, 0, 0], [0, 0, 0], [0, 0, 1]])
        XCTAssertEqual(s.perClass[0], 1)
        XCTAssertNil(s.perClass[1])
        XCTAssertEqual(try s.confusionImage().shape, [255, 255, 3])
    }

    func testToolClassifiesAndScoresVideos() throws {
        let c = try config(input: "pixels", steps: 10, extra: "trainClips: 64\nevalClips: 16")
        let saved = try XCTUnwrap(try ClassifierTrainer(config: c, directory: url("run"), resume: false, echo: { _ in }).train())
        // Labelled videos: two clips of each of two classes' folders, written by the tool's writer.
        let set = try MotionDigits(data: c.data, seed: 9)
        let clips = try set.clips(.test, 0..<24, frames: 5, size: 16, channels: 3)
        let labels = try clips.labels!.toArray(Int64.self)
        var written = 0
        for (i, label) in labels.enumerated() where label < 2 && written < 4 {
            let dir = url("videos/\(MotionDigits.classNames[Int(label)])")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let frames = try ((clips.clips.narrow(0, start: i, length: 1).squeeze(0).permute([1, 2, 3, 0]) + 1.0) * 127.5).round().clamp(min: 0, max: 255).to(.uint8)
            let writer = try VideoWriter(path: dir.appendingPathComponent("clip-\(i).mkv").path, width: 16, height: 16)
            try writer.write(frames.contiguous())
            try writer.finish()
            written += 1
        }
        var r = try magvit(["classify", "--model", saved.path, url("videos").path, "--top-k", "3", "--json", url("p.json").path])
        XCTAssertEqual(r.status, 0, r.output)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url("p.json"))) as? [String: Any])
        let videos = try XCTUnwrap(json["videos"] as? [[String: Any]])
        XCTAssertEqual(videos.count, written)
        XCTAssertEqual((videos[0]["top"] as? [[String: Any]])?.count, 3)
        // eval on the folders (only two of the eight classes have videos: the classes must match, so it is refused)...
        r = try magvit(["eval", "classify", "--model", saved.path, url("videos").path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("are not the classifier's"), r.output)
        // ...and on the test split, with the JSON equal to the library's scores.
        r = try magvit(["eval", "classify", "--model", saved.path, "--motion-digits", "64", "--json", url("e.json").path, "--confusion", url("c.png").path])
        XCTAssertEqual(r.status, 0, r.output)
        let e = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url("e.json"))) as? [String: Any])
        let trained = try TrainedClassifier.load(saved)
        let scores = try trained.score(trained.maker.motionDigits(MotionDigits(data: c.data, seed: c.run.seed), .test, count: 64))
        XCTAssertEqual(try XCTUnwrap(e["top1"] as? Double), scores.top1, accuracy: 1e-12)
        XCTAssertEqual(e["confusion"] as? [[Int]], scores.confusion)
        XCTAssertTrue(FileManager.default.fileExists(atPath: url("c.png").path))
        // Bad input: a broken video among good ones is skipped with exit status 2; a non-classifier is refused.
        try Data("not a video".utf8).write(to: url("videos/right-speeding-up/broken.mp4"))
        r = try magvit(["classify", "--model", saved.path, url("videos").path])
        XCTAssertEqual(r.status, 2, r.output)
        XCTAssertTrue(r.output.contains("broken.mp4") && r.output.contains("could not be decoded"), r.output)
        r = try magvit(["classify", "--model", url("tokenizer.safetensors").path, url("videos").path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("not a classifier checkpoint"), r.output)
        r = try magvit(["classify", url("videos").path])
        XCTAssertTrue(r.output.contains("--model CLASSIFIER or --i3d"), r.output)
    }

    /// Two ranks (magvit launch, c10d Gloo) on halves of each global batch equal one process on the
    /// whole batch (no dropout: its masks would differ); rank 1 reads the examples rank 0 made.
    func testTwoRanksEqualOneProcessOnTheGlobalBatch() throws {
        let config = url("classifier.yaml")
        try """
            tokenizer: \(url("tokenizer.safetensors").path)
            data: {kind: motion-classes, train: [\(url("data").path)], digitSize: 7}
            classifier: {input: bits, width: 32, depth: 1, heads: 2, dropout: 0}
            trainClips: 64
            evalClips: 16
            optimizer: {learningRate: 0.003, warmupSteps: 5}
            run: {steps: 20, batch: 16, logEvery: 1, evalEvery: 100, checkpointEvery: 10, seed: 3, threads: 1}
            """.write(to: config, atomically: true, encoding: .utf8)
        let one = url("one"), two = url("two")
        var r = try magvit(["train-classifier", config.path, "-o", one.path])
        XCTAssertEqual(r.status, 0, r.output)
        r = try magvit(["launch", "--nproc", "2", "--", "train", "classifier", config.path, "-o", two.path])  // the recipe by name
        XCTAssertEqual(r.status, 0, r.output)
        let a = try records(one).filter { $0["kind"] == nil }, b = try records(two).filter { $0["kind"] == nil }
        XCTAssertEqual(a.count, 20)
        XCTAssertEqual(a.count, b.count)
        for (x, y) in zip(a, b) {
            for key in ["loss", "accuracy", "grad_norm"] {
                let v = try XCTUnwrap(x[key] as? Double), w = try XCTUnwrap(y[key] as? Double)
                XCTAssertEqual(v, w, accuracy: 1e-5 * Swift.max(abs(v), 1e-3), "\(key) at step \(x["step"]!)")
            }
        }
        XCTAssertEqual(try SafeTensors.read(two.appendingPathComponent("classifier.safetensors")).metadata["world_size"], "2")
    }
}
