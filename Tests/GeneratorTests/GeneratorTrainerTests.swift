// Generator training end to end on a tiny tokenizer and synthetic labelled images: the loss falls,
// outputs are written, a stopped and resumed run equals an uninterrupted one, and the tool samples
// from the result.
import Dataset
import Foundation
import Generator
import GeneratorModel
import NN
import TestSupport
import Tokenizer
import Torch
import XCTest

final class GeneratorTrainerTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-gen-\(getpid())-\(UUID().uuidString.prefix(8))")
        try SyntheticData.writeIDX(to: folder.appendingPathComponent("data"), train: 64, test: 16)
        var t = TokenizerConfig.presets["image-small"]!
        t.baseChannels = 8
        t.quantizer = QuantizerConfig(kind: .lfq, bits: 6)
        Torch.manualSeed(2)
        try VideoTokenizer(config: t).save(to: folder.appendingPathComponent("tokenizer.safetensors"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func config(steps: Int = 40, objective: String = "masked") throws -> GeneratorTrainingConfig {
        try GeneratorTrainingConfig.parse("""
            tokenizer: \(folder.appendingPathComponent("tokenizer.safetensors").path)
            data: {kind: fashion-mnist, train: [\(folder.appendingPathComponent("data").path)]}
            generator: {objective: \(objective), classes: 10, \(objective == "diffusion" ? "" : "factorBits: [2, 4], ")width: 32, depth: 1, heads: 2, dropout: 0}
            optimizer: {learningRate: 0.003, warmupSteps: 5}
            run: {steps: \(steps), batch: 16, logEvery: 1, evalEvery: 20, checkpointEvery: 10, seed: 3, threads: 1}
            sampling: {steps: 4}
            """)
    }


    func testTrainsResumesExactlyAndGenerates() throws {
        let c = try config()
        XCTAssertEqual(c.generator.vocabularyBits, 6, "taken from the tokenizer")
        XCTAssertEqual(c.generator.grid, [1, 8, 8])
        let whole = folder.appendingPathComponent("whole")
        let url = try XCTUnwrap(try GeneratorTrainer(config: c, directory: whole, resume: false, echo: { _ in }).train())
        XCTAssertEqual(try SafeTensors.read(url).metadata["crop"], "28", "the side the 28×28 images were padded from, recorded for cropping samples back")
        let losses = try records(whole).filter { $0["kind"] == nil }.map { try XCTUnwrap($0["loss"] as? Double) }
        XCTAssertEqual(losses.count, 40)
        XCTAssertLessThan(losses.suffix(5).reduce(0, +), 0.9 * losses.prefix(5).reduce(0, +), "loss \(losses)")
        for name in ["config.json", "tokens.safetensors", "checkpoint.safetensors", "generator.safetensors", "samples/step-0000020.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: whole.appendingPathComponent(name).path), name)
        }
        // Stopped after step 20's checkpoint, then resumed: the same records and weights.
        let split = folder.appendingPathComponent("split")
        XCTAssertNil(try GeneratorTrainer(config: c, directory: split, resume: false, echo: { _ in }).train(stoppingAt: 20))
        XCTAssertThrowsError(try GeneratorTrainer(config: c, directory: split, resume: false)) { XCTAssertTrue("\($0)".contains("--resume"), "\($0)") }
        try GeneratorTrainer(config: c, directory: split, resume: true, echo: { _ in }).train()
        let a = try records(whole), b = try records(split)
        XCTAssertEqual(a.count, b.count)
        for (x, y) in zip(a, b) {
            for key in ["loss", "accuracy", "grad_norm", "step"] { XCTAssertEqual("\(x[key]!)", "\(y[key]!)", "\(key) at step \(x["step"]!)") }
        }
        let wa = try SafeTensors.read(url).tensors, wb = try SafeTensors.read(split.appendingPathComponent("generator.safetensors")).tensors
        for (k, v) in wa { XCTAssertEqual(try v.toArray(Float.self), try wb[k]!.toArray(Float.self), k) }
        // The tool: a grid for every class, a folder of files, and clear errors.
        var r = try magvit(["generate", "--checkpoint", url.path, "--class", "all", "--count", "2", "--steps", "4", "-o", folder.appendingPathComponent("grid.png").path])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("tokens/s"), r.output)
        r = try magvit(["generate", "--checkpoint", url.path, "--class", "3", "--count", "3", "--steps", "4", "-o", folder.appendingPathComponent("out").path])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("out").path).sorted(),
                       [".magvit-output", "00000-class-3.png", "00001-class-3.png", "00002-class-3.png"], "the samples and the marker of a folder Magvit wrote")
        r = try magvit(["generate", "--checkpoint", url.path, "--count", "2", "-o", folder.appendingPathComponent("x.png").path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("class-conditional"), r.output)
        r = try magvit(["generate", "--checkpoint", folder.appendingPathComponent("tokenizer.safetensors").path, "--class", "1", "-o", folder.appendingPathComponent("y.png").path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("not a Magvit generator"), r.output)
    }

    func testRunsOnTheSameTokenizerAndDataShareTheTokenCache() throws {
        let cache = folder.appendingPathComponent("cache/fashion-tokens.safetensors")
        try FileManager.default.createDirectory(at: cache.deletingLastPathComponent(), withIntermediateDirectories: true)
        var c = try config(steps: 2)
        c.data.tokenCache = cache.path
        var said: [String] = []
        try GeneratorTrainer(config: c, directory: folder.appendingPathComponent("first"), resume: false, echo: { said.append($0) }).train()
        XCTAssertTrue(said.contains { $0.hasPrefix("encoded 64 training examples") }, "\(said)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("first/tokens.safetensors").path), "kept in the cache instead")
        let written = try SafeTensors.read(cache)
        // Another seed and objective reads the tokens back; the diffusion objective's latents are another encoding.
        said = []
        c.run.seed = 9
        c.generator.objective = .autoregressive
        try GeneratorTrainer(config: c, directory: folder.appendingPathComponent("second"), resume: false, echo: { said.append($0) }).train()
        XCTAssertTrue(said.contains("read the training set's tokens from \(cache.path)"), "\(said)")
        XCTAssertFalse(said.contains { $0.hasPrefix("encoded") }, "\(said)")
        XCTAssertEqual(try SafeTensors.read(cache).tensors["tokens"]!.toArray(Int64.self), try written.tensors["tokens"]!.toArray(Int64.self))
        // Another tokenizer's weights: encoded again, and the cache replaced.
        var t = TokenizerConfig.presets["image-small"]!
        t.baseChannels = 8
        t.quantizer = QuantizerConfig(kind: .lfq, bits: 6)
        Torch.manualSeed(7)
        try VideoTokenizer(config: t).save(to: folder.appendingPathComponent("tokenizer.safetensors"))
        said = []
        c = try config(steps: 2)
        c.data.tokenCache = cache.path
        try GeneratorTrainer(config: c, directory: folder.appendingPathComponent("third"), resume: false, echo: { said.append($0) }).train()
        XCTAssertTrue(said.contains { $0.hasPrefix("encoded 64 training examples") }, "\(said)")
        XCTAssertNotEqual(try SafeTensors.read(cache).metadata["tokenizer_hash"], written.metadata["tokenizer_hash"])
    }

    func testWarmStartTakesAGeneratorFileRecordsItAndRefusesAnotherShape() throws {
        let first = try XCTUnwrap(try GeneratorTrainer(config: config(steps: 4), directory: folder.appendingPathComponent("first"), resume: false, echo: { _ in }).train())
        var c = try config(steps: 2)
        c.initialWeights = first.path
        let trainer = try GeneratorTrainer(config: c, directory: folder.appendingPathComponent("second"), resume: false, echo: { _ in })
        let started = try SafeTensors.read(first).tensors
        for (name, tensor) in trainer.model.store.tensors { XCTAssertEqual(try tensor.toArray(Float.self), try XCTUnwrap(started[name]).toArray(Float.self), name) }
        let hash = try trainer.model.store.weightsHash()
        let url = try XCTUnwrap(try trainer.train())
        let saved = try SafeTensors.read(url).metadata
        let lineage = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(XCTUnwrap(saved["warm_start"]).utf8)) as? [String: Any])
        XCTAssertEqual(lineage["file"] as? String, "generator.safetensors")
        XCTAssertEqual(lineage["weights_sha256"] as? String, hash)
        XCTAssertEqual(lineage["training_steps"] as? String, "4")
        XCTAssertNil(lineage["warm_start"], "the first run started from scratch")
        c.generator.width = 64
        XCTAssertThrowsError(try GeneratorTrainer(config: c, directory: folder.appendingPathComponent("third"), resume: false, echo: { _ in })) {
            XCTAssertTrue("\($0)".contains("another shape"), "\($0)")
        }
    }

    /// Frame prediction on moving digits: clips encoded once, the first latent frame given, and the
    /// evaluation scores predicted frames against the real ones, the reconstruction and copying; by
    /// each objective.
    func testFramePredictionOnMovingDigits() throws {
        var t = TokenizerConfig.presets["tiny"]!
        t.imageChannels = 1
        t.resolution = 32
        Torch.manualSeed(4)
        let tokenizer = folder.appendingPathComponent("video-tokenizer.safetensors")
        try VideoTokenizer(config: t).save(to: tokenizer)
        for objective in GeneratorObjective.allCases {
            let c = try GeneratorTrainingConfig.parse("""
                tokenizer: \(tokenizer.path)
                data: {kind: moving-digits, train: [\(folder.appendingPathComponent("data").path)], digits: 1}
                generator: {objective: \(objective.rawValue), conditionFrames: 1, width: 32, depth: 1, heads: 2}
                movingDigitClips: 24
                predictionClips: 4
                run: {steps: 6, batch: 4, logEvery: 3, evalEvery: 6, checkpointEvery: 3, threads: 1}
                sampling: {steps: 3}
                """)
            XCTAssertEqual(c.generator.grid, [3, 8, 8])
            let run = folder.appendingPathComponent("predict-\(objective.rawValue)")
            try GeneratorTrainer(config: c, directory: run, resume: false, echo: { _ in }).train()
            let eval = try XCTUnwrap(try records(run).last { ["eval", "final_eval"].contains($0["kind"] as? String) })
            XCTAssertEqual(eval["given_frames"] as? Int, 1)
            XCTAssertEqual(eval["clips"] as? Int, 4)
            for key in ["psnr_predicted", "psnr_reconstruction", "psnr_copy_last_frame"] {
                let v = try XCTUnwrap(eval[key] as? Double, key)
                XCTAssertTrue(v.isFinite && v > 0, "\(objective) \(key) \(v)")
            }
            XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("samples/step-0000006.png").path))
        }
        XCTAssertThrowsError(try GeneratorTrainingConfig.parse("tokenizer: \(tokenizer.path)\ngenerator: {conditionFrames: 1}")) {
            XCTAssertTrue("\($0)".contains("moving-digits"), "\($0)")
        }
    }

    func testConfigErrors() throws {
        XCTAssertThrowsError(try GeneratorTrainingConfig.parse("data: {kind: fashion-mnist}")) { XCTAssertTrue("\($0)".contains("tokenizer"), "\($0)") }
        let tokenizer = folder.appendingPathComponent("tokenizer.safetensors").path
        XCTAssertThrowsError(try GeneratorTrainingConfig.parse("tokenizer: \(tokenizer)\ngenerator: {factorBits: [3, 4]}")) {
            XCTAssertTrue("\($0)".contains("sum to vocabularyBits"), "\($0)")
        }
        XCTAssertThrowsError(try GeneratorTrainingConfig.parse("tokenizer: \(tokenizer)\ngenerator: {grid: [1, 4, 4]}")) {
            XCTAssertTrue("\($0)".contains("latent grid"), "\($0)")
        }
        XCTAssertThrowsError(try GeneratorTrainingConfig.parse("tokenizer: \(tokenizer)\ngenerator: {widht: 3}")) { XCTAssertTrue("\($0)".contains("widht"), "\($0)") }
        XCTAssertThrowsError(try GeneratorTrainingConfig.parse("tokenizer: /nonexistent.safetensors")) { XCTAssertTrue("\($0)".contains("no such file"), "\($0)") }
    }

    /// Two ranks (magvit launch, c10d Gloo) on halves of each global batch equal one process on the
    /// whole batch: masks are drawn for the global batch and the loss is normalised by its masked count.
    func testTwoRanksEqualOneProcessOnTheGlobalBatch() throws {
        let config = folder.appendingPathComponent("generator.yaml")
        try """
            tokenizer: \(folder.appendingPathComponent("tokenizer.safetensors").path)
            data: {kind: fashion-mnist, train: [\(folder.appendingPathComponent("data").path)]}
            generator: {classes: 10, factorBits: [2, 4], width: 32, depth: 1, heads: 2, dropout: 0}
            optimizer: {learningRate: 0.003, warmupSteps: 5}
            run: {steps: 20, batch: 16, logEvery: 1, evalEvery: 100, checkpointEvery: 10, seed: 3, threads: 1}
            sampling: {steps: 2}
            """.write(to: config, atomically: true, encoding: .utf8)
        let one = folder.appendingPathComponent("one"), two = folder.appendingPathComponent("two")
        var r = try magvit(["train-generator", config.path, "-o", one.path])
        XCTAssertEqual(r.status, 0, r.output)
        r = try magvit(["launch", "--nproc", "2", "--", "train", "generator", config.path, "-o", two.path])  // the recipe by name
        XCTAssertEqual(r.status, 0, r.output)
        let a = try records(one).filter { $0["kind"] == nil }, b = try records(two).filter { $0["kind"] == nil }
        XCTAssertEqual(a.count, 20)
        XCTAssertEqual(a.count, b.count)
        for (x, y) in zip(a, b) {
            for key in ["loss", "accuracy", "masked", "grad_norm"] {
                let v = try XCTUnwrap(x[key] as? Double), w = try XCTUnwrap(y[key] as? Double)
                XCTAssertEqual(v, w, accuracy: 1e-5 * Swift.max(abs(v), 1e-3), "\(key) at step \(x["step"]!)")
            }
        }
    }
}

/// The generator on the user's own videos: a token dataset made by `magvit tokenize` (labelled by
/// folder, so class-conditional), or videos tokenized on the fly into the run folder (frame
/// prediction, scored on held-out videos); then `generate` and `predict` on the results.
final class TokenDatasetGeneratorTests: XCTestCase {
    var folder: URL!
    var tokenizer: VideoTokenizer!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-gen-tokens-\(getpid())-\(UUID().uuidString.prefix(8))")
        Torch.manualSeed(6)
        for (i, name) in ["run/a", "run/b", "run/c", "walk/d", "walk/e", "walk/f"].enumerated() {
            try SyntheticData.writeVideo(to: url("videos/\(name).mkv"), frames: 10 + i)
        }
        tokenizer = try VideoTokenizer(config: .tiny)
        try tokenizer.save(to: url("tokenizer.safetensors"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    func config(_ data: String, _ generator: String = "") throws -> GeneratorTrainingConfig {
        try GeneratorTrainingConfig.parse("""
            tokenizer: \(url("tokenizer.safetensors").path)
            data: \(data)
            generator: {width: 32, depth: 1, heads: 2, dropout: 0\(generator)}
            run: {steps: 4, batch: 4, logEvery: 2, evalEvery: 4, checkpointEvery: 2, threads: 1}
            sampling: {steps: 2}
            \(generator.contains("conditionFrames") ? "predictionClips: 3" : "")
            """)
    }

    func testClassConditionalFromATokenDatasetAndFramePredictionFromVideos() throws {
        let inputs = try InputList.expand([url("videos").path], labels: .folders)
        let dataset = try Tokenization(model: tokenizer, inputs: inputs, labels: .folders, output: url("tokens"), options: TokenizeOptions()).run()
        XCTAssertEqual(dataset.clips, 17)
        let c = try config("{kind: tokens, path: \(url("tokens").path)}")
        XCTAssertEqual(c.generator.classes, 2, "class-conditional: the dataset has labels")
        XCTAssertEqual(c.generator.grid, [3, 4, 4])
        let model = try XCTUnwrap(try GeneratorTrainer(config: c, directory: url("conditional"), resume: false, echo: { _ in }).train())
        var r = try magvit(["generate", "--checkpoint", model.path, "--class", "all", "--count", "2", "--steps", "2", "-o", url("samples").path])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: url("samples").path).sorted(),
                       [".magvit-output", "00000-class-0.mp4", "00001-class-0.mp4", "00002-class-1.mp4", "00003-class-1.mp4"],
                       "the samples and the marker of a folder Magvit wrote (docs/robustness.md, output rules)")

        // Videos tokenized into the run folder; the first latent frame given, the rest predicted.
        let p = try config("{kind: videos, train: [\(url("videos/run").path)], eval: [\(url("videos/walk").path)]}", ", conditionFrames: 1")
        XCTAssertEqual(p.generator.classes, 0)
        let run = url("prediction")
        let predictor = try XCTUnwrap(try GeneratorTrainer(config: p, directory: run, resume: false, echo: { _ in }).train())
        XCTAssertEqual(try TokenDataset(run.appendingPathComponent("tokens")).index.clips, 8)
        let eval = try XCTUnwrap(try records(run).last { $0["kind"] as? String == "final_eval" })
        XCTAssertEqual(eval["clips"] as? Int, 3)
        r = try magvit(["predict", url("videos/walk/d.mkv").path, "--checkpoint", predictor.path, "-o", url("predicted.mkv").path, "--steps", "2"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: url("predicted.mkv").path))

        // A dataset made by another tokenizer is refused by its weights.
        Torch.manualSeed(7)
        try VideoTokenizer(config: .tiny).save(to: url("other.safetensors"))
        let other = try GeneratorTrainingConfig.parse("tokenizer: \(url("other.safetensors").path)\ndata: {kind: tokens, path: \(url("tokens").path)}")
        XCTAssertThrowsError(try GeneratorTrainer(config: other, directory: url("refused"), resume: false, echo: { _ in }).train()) {
            XCTAssertTrue("\($0)".contains("was tokenized by 'tiny'"), "\($0)")
        }
        XCTAssertThrowsError(try config("{kind: tokens, path: \(url("videos").path)}")) { XCTAssertTrue("\($0)".contains("not a token dataset"), "\($0)") }
    }

    /// A token source is one registration (`TokenSources.register`, docs/extending.md): here a kind
    /// whose dataset is the last of those `data.train` lists, class-conditional by its labels.
    func testARegisteredTokenSourceTrainsTheGenerator() throws {
        let inputs = try InputList.expand([url("videos").path], labels: .folders)
        _ = try Tokenization(model: tokenizer, inputs: inputs, labels: .folders, output: url("tokens"), options: TokenizeOptions()).run()
        TokenSources.register("last-dataset", TokenSources.Entry(
            classNames: { try TokenSources.open($0.train.last ?? "", setting: "data.train").index.classes },
            dataset: { data, _ in try TokenSources.open(data.train.last ?? "", setting: "data.train") }))
        let c = try config("{kind: last-dataset, train: [\(url("missing").path), \(url("tokens").path)]}")
        XCTAssertEqual(c.generator.classes, 2)
        try GeneratorTrainer(config: c, directory: url("registered"), resume: false, echo: { _ in }).train()
        XCTAssertEqual(try records(url("registered")).filter { $0["kind"] == nil }.count, 2)
        XCTAssertThrowsError(try config("{kind: no-such-tokens}")) {
            XCTAssertTrue("\($0)".contains("is none of the generator's: token sources last-dataset, tokens, videos, token-tiles, or clip sources"), "\($0)")
        }
    }

    /// Frame prediction on labelled data (issue 34): the labels do not make the model
    /// class-conditional, classes given beside conditionFrames are refused with the fix, and too few
    /// held-out clips stop the run at setup, before step 1, not after training.
    func testFramePredictionConflictsAreRefusedBeforeTheFirstStep() throws {
        let inputs = try InputList.expand([url("videos").path], labels: .folders)
        _ = try Tokenization(model: tokenizer, inputs: inputs, labels: .folders, output: url("tokens"), options: TokenizeOptions()).run()
        let tokens = "{kind: tokens, path: \(url("tokens").path), eval: [\(url("videos/walk").path)]}"
        XCTAssertEqual(try config("{kind: tokens, path: \(url("tokens").path)}").generator.classes, 2, "without frame prediction the labels make it class-conditional")
        XCTAssertThrowsError(try config(tokens)) { XCTAssertTrue("\($0)".contains("data.eval is read only for frame prediction"), "\($0)") }
        XCTAssertEqual(try config(tokens, ", conditionFrames: 1").generator.classes, 0, "a frame predictor stays unconditional")
        let labelledVideos = "{kind: videos, labels: folders, train: [\(url("videos").path)], eval: [\(url("videos/walk").path)]}"
        XCTAssertEqual(try config(labelledVideos, ", conditionFrames: 1").generator.classes, 0)
        for data in [tokens, labelledVideos] {
            XCTAssertThrowsError(try config(data, ", conditionFrames: 1, classes: 2")) {
                XCTAssertTrue("\($0)".contains("set generator.classes: 0"), "\($0)")
            }
        }
        // One 13-frame held-out video gives 2 clips of the tokenizer's 5 frames: refused at setup.
        for data in ["{kind: tokens, path: \(url("tokens").path), eval: [\(url("videos/walk/d.mkv").path)]}",
                     "{kind: videos, train: [\(url("videos/run").path)], eval: [\(url("videos/walk/d.mkv").path)]}"] {
            let run = url("short-\(data.hasPrefix("{kind: tokens") ? "tokens" : "videos")")
            XCTAssertThrowsError(try GeneratorTrainer(config: config(data, ", conditionFrames: 1"), directory: run, resume: false, echo: { _ in })) {
                XCTAssertTrue("\($0)".contains("at least 3 held-out clips") && "\($0)".contains("give 2 clips") && "\($0)".contains("data.eval"), "\($0)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: run.appendingPathComponent("checkpoint.safetensors").path))
            XCTAssertFalse(FileManager.default.fileExists(atPath: run.appendingPathComponent("tokens").path), "refused before tokenizing")
        }
        // Classes that the data does not have: the fix is named at setup too.
        XCTAssertThrowsError(try GeneratorTrainer(config: config("{kind: videos, train: [\(url("videos/run").path)]}", ", classes: 3"),
                                                  directory: url("unlabelled"), resume: false, echo: { _ in })) {
            XCTAssertTrue("\($0)".contains("set generator.classes: 0"), "\($0)")
        }
    }

    /// The shipped frame-prediction config, read from outside the checkout: the shipped tokenizer is
    /// found (issue 34), and the run stops at the missing token dataset, naming where it looked.
    func testTheShippedPredictionConfigFindsTheShippedTokenizerFromAnotherFolder() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let shipped = repository.appendingPathComponent("configs/sample-videos-predict.yaml")
        let c = try GeneratorTrainingConfig.load(shipped)
        XCTAssertEqual(c.tokenizer, ShippedResources.defaultTokenizer.standardizedFileURL.path)
        XCTAssertEqual(c.generator.classes, 0)
        let (status, output) = try magvit(["train-generator", shipped.path, "-o", "run", "--set", "data.eval=[]"], in: folder)
        XCTAssertNotEqual(status, 0, output)
        XCTAssertFalse(output.contains("default-tokenizer.safetensors: no such file"), output)
        XCTAssertTrue(output.contains("data.path") && output.contains("runs/sample-tokens") && output.contains("working directory"), output)
    }
}
