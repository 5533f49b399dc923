import Foundation
import Metrics
import TestSupport
import Tokenizer
import Torch
import TokenizerTraining
import XCTest

final class TrainerTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-train-\(getpid())-\(UUID().uuidString.prefix(8))")
        try SyntheticData.writeIDX(to: folder.appendingPathComponent("data"), train: 64, test: 16)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// A tiny image tokenizer on the synthetic IDX set, with every loss of the recipe but the
    /// perceptual one (testPerceptualLossTrainsThroughLPIPS adds it).
    var imageConfig: String {
        """
        model:
          preset: image-small
          baseChannels: 8
          quantizer: {bits: 6, lfq: {annealSteps: 20}}
        data: {kind: fashion-mnist, train: [\(folder.appendingPathComponent("data").path)], flip: true, evalSamples: 8, evalWholeSet: true}
        loss: {adversarialWeight: 0.1, discriminatorStart: 4, discriminatorChannels: 8, lecamWeight: 0.01}
        optimizer: {learningRate: 0.003, warmupSteps: 5}
        run: {steps: 40, batch: 8, logEvery: 1, evalEvery: 20, checkpointEvery: 10, emaDecay: 0.9, threads: 1, seed: 5}
        """
    }


    func testTinyImageTokenizerLearnsWithGANAndWritesItsOutputs() throws {
        let run = folder.appendingPathComponent("run")
        let trainer = try TokenizerTrainer(config: TokenizerTrainingConfig.parse(imageConfig), directory: run, resume: false, perceptual: nil, echo: { _ in })
        let scores = try XCTUnwrap(try trainer.train())
        let log = try records(run).filter { $0["kind"] == nil }
        XCTAssertEqual(log.count, 40)
        let reconstruction = log.map { $0["reconstruction"] as! Double }
        let first = reconstruction.prefix(5).reduce(0, +) / 5, last = reconstruction.suffix(5).reduce(0, +) / 5
        XCTAssertLessThan(last, 0.7 * first, "reconstruction loss \(first) -> \(last)")
        // The GAN starts at step 4: its terms appear from the fifth record on.
        XCTAssertNil(log[3]["discriminator"])
        XCTAssertNotNil(log[4]["discriminator"])
        XCTAssertNotNil(log[4]["lecam"])
        XCTAssertNotNil(log[4]["generator_adversarial"])
        XCTAssertEqual(scores.samples, 16)
        XCTAssertGreaterThan(scores.codesUsed, 1)
        for name in ["config.json", "checkpoint.safetensors", "tokenizer.safetensors", "samples/step-0000020.png", "samples/step-0000040.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent(name).path), name)
        }
        let model = try VideoTokenizer.load(from: run.appendingPathComponent("tokenizer.safetensors"))
        XCTAssertEqual(model.config.quantizer.bits, 6)
        // `magvit info` shows the recorded training config as the JSON it is, a line each.
        let info = try magvit(["info", run.appendingPathComponent("tokenizer.safetensors").path])
        XCTAssertTrue(info.output.contains("\n  training_config:\n    {\n      \"data\" : {") && !info.output.contains("\\x0A"), info.output)
        // A second run into the same folder must not overwrite it.
        XCTAssertThrowsError(try TokenizerTrainer(config: TokenizerTrainingConfig.parse(imageConfig), directory: run, resume: false, perceptual: nil)) {
            XCTAssertTrue("\($0)".contains("--resume"), "\($0)")
        }
    }

    /// The LPIPS term (shift-tolerant AlexNet, the converted weights setup writes) is logged and
    /// falls, and its gradient reaches the tokenizer.
    func testPerceptualLossTrainsThroughLPIPS() throws {
        let run = folder.appendingPathComponent("perceptual")
        let config = try TokenizerTrainingConfig.parse(imageConfig, assignments: [
            "loss.perceptualWeight=1", "loss.perceptualNetwork=alex", "loss.adversarialWeight=0", "run.steps=24", "run.evalEvery=100"])
        let lpips = try LPIPS(weights: LPIPS.defaultWeights(.alex))
        let trainer = try TokenizerTrainer(config: config, directory: run, resume: false, perceptual: { try lpips($0, $1) }, echo: { _ in })
        try trainer.train()
        let perceptual = try records(run).filter { $0["kind"] == nil }.map { try XCTUnwrap($0["perceptual"] as? Double) }
        XCTAssertEqual(perceptual.count, 24)
        let first = perceptual.prefix(4).reduce(0, +) / 4, last = perceptual.suffix(4).reduce(0, +) / 4
        XCTAssertLessThan(last, 0.8 * first, "LPIPS term \(first) -> \(last)")
        XCTAssertThrowsError(try TokenizerTrainer(config: config, directory: folder.appendingPathComponent("p2"), resume: false, perceptual: nil)) {
            XCTAssertTrue("\($0)".contains("no perceptual network"), "\($0)")
        }
    }

    func testTinyVideoTokenizerLearnsOnMovingDigits() throws {
        let config = try TokenizerTrainingConfig.parse("""
            model: {preset: tiny, resolution: 32}
            data: {kind: moving-digits, train: [\(folder.appendingPathComponent("data").path)], digits: 1, evalSamples: 4}
            loss: {reconstruction: l1, adversarialWeight: 0.1, discriminatorChannels: 4, r1Weight: 1}
            optimizer: {learningRate: 0.003, warmupSteps: 3}
            run: {steps: 16, batch: 2, logEvery: 1, evalEvery: 100, checkpointEvery: 100, emaDecay: 0, threads: 2}
            """)
        let run = folder.appendingPathComponent("video")
        let scores = try XCTUnwrap(try TokenizerTrainer(config: config, directory: run, resume: false, perceptual: nil, echo: { _ in }).train())
        XCTAssertEqual(scores.frames, 4 * 5)
        let log = try records(run).filter { $0["kind"] == nil }
        let loss = log.map { $0["reconstruction"] as! Double }
        XCTAssertLessThan(loss.suffix(4).reduce(0, +), loss.prefix(4).reduce(0, +), "\(loss)")
        XCTAssertNotNil(log.last?["r1"])
    }

    /// Still images (1-frame clips) trained beside the clips in every step: their own terms in the
    /// same update, their codes counted; settings that cannot work are refused.
    func testStillImagesTrainBesideTheClips() throws {
        let text = """
            model: {preset: tiny, resolution: 32}
            data: {kind: moving-digits, digits: 1, evalSamples: 2, imageBatch: 4, images: [{kind: moving-digits}]}
            loss: {reconstruction: l1, imageWeight: 0.5}
            optimizer: {warmupSteps: 1}
            run: {steps: 3, batch: 2, logEvery: 1, evalEvery: 100, checkpointEvery: 100, emaDecay: 0, threads: 2}
            """
        let run = folder.appendingPathComponent("joint")
        let trainer = try TokenizerTrainer(config: TokenizerTrainingConfig.parse(text), directory: run, resume: false, perceptual: nil, echo: { _ in })
        XCTAssertTrue(trainer.summary.contains("4 still images a step"), trainer.summary)
        let batch = try trainer.batchMaker()(7)
        XCTAssertEqual(batch.clips.shape, [2, 3, 5, 32, 32])
        XCTAssertEqual(batch.images?.shape, [4, 3, 1, 32, 32])
        try trainer.train()
        let log = try records(run).filter { $0["kind"] == nil }
        XCTAssertEqual(log.count, 3)
        for record in log {
            let image = try XCTUnwrap(record["image_reconstruction"] as? Double, "\(record.keys.sorted())")
            XCTAssertGreaterThan(image, 0)
            XCTAssertNotNil(record["image_entropy_sample"])
            // Codes of clips and images together, within the 2^6 vocabulary.
            XCTAssertLessThanOrEqual(record["codes"] as! Double, 64)
        }

        func refusal(_ change: String, _ expected: String) {
            XCTAssertThrowsError(try TokenizerTrainingConfig.parse(text + "\n" + change)) { XCTAssertTrue("\($0)".contains(expected), "\($0)") }
        }
        refusal("data: {kind: moving-digits, imageBatch: 4}", "needs data.images")
        refusal("data: {kind: moving-digits, imageBatch: 3, images: [{kind: moving-digits}]}\nrun: {accumulate: 2, batch: 2}", "must split into run.accumulate")
        XCTAssertThrowsError(try TokenizerTrainingConfig.parse("""
            model: {preset: image-small}
            data: {kind: fashion-mnist, imageBatch: 2, images: [{kind: fashion-mnist}]}
            """)) { XCTAssertTrue("\($0)".contains("takes 1-frame clips already"), "\($0)") }
    }

    /// The issue's resume test: a run killed with SIGKILL and resumed logs exactly the numbers of an
    /// uninterrupted run with the same seed (CPU, one thread).
    func testKilledAndResumedRunMatchesAnUninterruptedOne() throws {
        let config = folder.appendingPathComponent("config.yaml")
        try imageConfig.replacingOccurrences(of: "steps: 40", with: "steps: 50").write(to: config, atomically: true, encoding: .utf8)
        let whole = folder.appendingPathComponent("whole"), killed = folder.appendingPathComponent("killed")
        var r = try magvit(["train", config.path, "-o", whole.path])
        XCTAssertEqual(r.status, 0, r.output)

        // Killed past the checkpoint at step 20, before the one at 30.
        try killWithSIGKILL(magvitTool, ["train", config.path, "-o", killed.path], whenLogAt: killed.appendingPathComponent("log.jsonl"), holds: 25)
        r = try magvit(["train", config.path, "-o", killed.path, "--resume"])
        XCTAssertEqual(r.status, 0, r.output)
        try assertSameRecords(whole, killed)
        let wholeModel = try VideoTokenizer.load(from: whole.appendingPathComponent("tokenizer.safetensors"))
        let resumedModel = try VideoTokenizer.load(from: killed.appendingPathComponent("tokenizer.safetensors"))
        XCTAssertEqual(try wholeModel.weightsHash(), try resumedModel.weightsHash())
    }

    func testToolRefusesBadConfigs() throws {
        let config = folder.appendingPathComponent("bad.yaml")
        try "run: {stpes: 10}".write(to: config, atomically: true, encoding: .utf8)
        var r = try magvit(["train", config.path, "-o", folder.appendingPathComponent("x").path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("unknown setting 'run.stpes' of the tokenizer recipe"), r.output)
        r = try magvit(["train", "tokeniser", config.path, "-o", folder.appendingPathComponent("x").path])
        XCTAssertEqual(r.status, 64, r.output)
        XCTAssertTrue(r.output.contains("unknown recipe 'tokeniser'; recipes: classifier, generator, tokenizer"), r.output)
        r = try magvit(["train", "generator", "-o", folder.appendingPathComponent("x").path])
        XCTAssertTrue(r.output.contains("give the config file after the recipe"), r.output)
        r = try magvit(["train", folder.appendingPathComponent("missing.yaml").path, "-o", folder.appendingPathComponent("x").path])
        XCTAssertTrue(r.output.contains("cannot read the config file"), r.output)
        try "model: {preset: image-small}".write(to: config, atomically: true, encoding: .utf8)
        r = try magvit(["train", config.path, "-o", folder.appendingPathComponent("x").path, "--resume"])
        XCTAssertTrue(r.output.contains("no checkpoint.safetensors to resume from"), r.output)
        r = try magvit(["train", config.path, "-o", folder.appendingPathComponent("x").path, "--set", "data.train=[/nonexistent]"])
        XCTAssertTrue(r.output.contains("/nonexistent"), r.output)
        // A GPU this machine lacks: one line naming libtorch, and no run folder left behind.
        r = try magvit(["train", config.path, "-o", folder.appendingPathComponent("gpu").path, "--device", "cuda:3"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("cuda:3") && r.output.contains("libtorch"), r.output)
        XCTAssertLessThanOrEqual(r.output.split(separator: "\n").count, 2, r.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("gpu").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("x").path), "refused configs leave no run folder")
    }

    /// Without a terminal the tool still shows progress: a plain line with step, rate and ETA.
    func testProgressLinesWithoutATerminal() throws {
        let config = folder.appendingPathComponent("config.yaml")
        try imageConfig.write(to: config, atomically: true, encoding: .utf8)
        let r = try magvit(["train", config.path, "-o", folder.appendingPathComponent("progress").path, "--set", "run.steps=12",
                            "--set", "run.logEvery=100", "--set", "run.progressEvery=0.001", "--set", "loss.adversarialWeight=0", "--threads", "1"])
        XCTAssertEqual(r.status, 0, r.output)
        let lines = r.output.split(separator: "\n").filter { $0.hasPrefix("progress: ") }
        XCTAssertGreaterThanOrEqual(lines.count, 5, r.output)
        XCTAssertTrue(lines.last!.contains("12/12") && lines.last!.contains("steps/s") && lines.last!.contains("ETA"), r.output)
    }
}
