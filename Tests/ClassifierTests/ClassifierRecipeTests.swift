// The classifier as a registered recipe: the data settings of the pixel sources, which it does not
// read, are refused with its name rather than ignored.
import Classifier
import Dataset
import Foundation
import Harness
import NN
import TestSupport
import Tokenizer
import Torch
import XCTest

final class ClassifierRecipeTests: XCTestCase {
    func testSettingsTheClassifierDoesNotHonourAreRefusedNamingIt() throws {
        for key in ["data.imageBatch", "data.flip", "data.evalWholeSet", "run.dtype"] {
            XCTAssertThrowsError(try ClassifierTrainingConfig.parse("tokenizer: t.safetensors", assignments: ["\(key)=1"])) { error in
                XCTAssertTrue("\(error)".hasPrefix("config.yaml: '\(key)' is not a setting of the classifier recipe: "), "\(error)")
            }
        }
        let json = try ClassifierTrainingConfig().json()
        XCTAssertFalse(json.contains("imageBatch") || json.contains("frameStrides"), json)
        XCTAssertTrue(json.contains("digitSize") && json.contains("labels"), json)
        XCTAssertEqual(ClassifierTrainer.name, "classifier")
    }

    /// data.kind means the same to the classifier as to the other recipes: a registered clip source
    /// with labels (here Fashion-MNIST's files) trains it, its test split held out.
    func testALabelledClipSourceOfTheRegistryTrainsTheClassifier() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-cls-recipe-\(getpid())-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        try SyntheticData.writeIDX(to: folder.appendingPathComponent("data"), train: 64, test: 16)
        var still = TokenizerConfig.tiny  // 16×16 RGB of one frame: the 28×28 images resized
        still.clipFrames = 1
        Torch.manualSeed(2)
        try VideoTokenizer(config: still).save(to: folder.appendingPathComponent("tokenizer.safetensors"))
        let config = try ClassifierTrainingConfig.parse("""
            tokenizer: \(folder.appendingPathComponent("tokenizer.safetensors").path)
            data: {kind: fashion-mnist, train: [\(folder.appendingPathComponent("data").path)]}
            classifier: {input: bits, width: 16, depth: 1, heads: 2, dropout: 0}
            trainClips: 48
            evalClips: 16
            run: {steps: 4, batch: 8, logEvery: 2, evalEvery: 1000, checkpointEvery: 2, seed: 1, threads: 1}
            """)
        XCTAssertEqual(config.classifier.classes, 10)
        let run = folder.appendingPathComponent("run")
        let trainer = try ClassifierTrainer(config: config, directory: run, resume: false, echo: { _ in })
        let saved = try XCTUnwrap(try trainer.train())
        XCTAssertEqual(trainer.train?.count, 48)
        XCTAssertEqual(trainer.heldOut?.count, 16, "the test split")
        XCTAssertEqual(try SafeTensors.read(saved).metadata["data"], "fashion-mnist")
        XCTAssertTrue(try records(run).contains { $0["kind"] as? String == "final_eval" })
        XCTAssertThrowsError(try ClassifierTrainingConfig.parse("tokenizer: \(folder.appendingPathComponent("tokenizer.safetensors").path)\ndata: {kind: no-such}")) {
            XCTAssertTrue("\($0)".contains("data.kind must be motion-classes, videos, tokens or a labelled clip source (fashion-mnist"), "\($0)")
        }
    }

    /// "motion-digits", the benchmark's kind before it was told apart from "moving-digits", still reads.
    func testTheOldNameOfTheMotionBenchmarkReadsAsTheNewOne() throws {
        XCTAssertEqual(try JSONDecoder().decode([DataKind].self, from: Data("[\"motion-digits\", \"moving-digits\"]".utf8)), [.motionClasses, .movingDigits])
        XCTAssertEqual(ClassifierTrainingConfig().data.kind.rawValue, "motion-classes")
    }
}
