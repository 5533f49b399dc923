// The shipped generator and classifier configs are read by their recipes: a setting they give is
// one the run reads (the refusals of unread settings must not refuse what is shipped).
import Classifier
import Foundation
import Generator
import Harness
import Tokenizer
import Torch
import TokenizerTraining
import XCTest

final class ShippedConfigTests: XCTestCase {
    /// The tokenizer a config names is made by an earlier command (`magvit train configs/NAME.yaml -o
    /// runs/NAME`); where it is not there, a tokenizer of that config (random weights) stands in.
    func assignments(_ url: URL, folder: URL) throws -> [String] {
        let given = try ConfigFile.parse(ConfigFile.text(of: url), name: url.lastPathComponent)["tokenizer"] as? String ?? ""
        guard !FileManager.default.fileExists(atPath: ShippedResources.resolve(given, relativeTo: ShippedResources.root)) else { return [] }
        let parts = given.split(separator: "/")
        let maker = ShippedResources.root.appendingPathComponent("configs/\(parts.count == 3 && parts[0] == "runs" ? parts[1] : "none").yaml")
        let model = try XCTUnwrap(try? TokenizerTrainingConfig.load(maker).model, "\(given) is not there and no config makes it")
        let standIn = folder.appendingPathComponent("\(parts[1]).safetensors")
        try VideoTokenizer(config: model).save(to: standIn)
        return ["tokenizer=\(standIn.path)"]
    }

    func testEveryShippedGeneratorAndClassifierConfigIsRead() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-shipped-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let configs = ShippedResources.root.appendingPathComponent("configs")
        for name in ["fashion-mnist-generator", "moving-digits-predict", "sample-videos-predict", "motion-digits-pretrain", "codec-prior",
                     "codec-prior-coding-masks", "codec-prior-retrain"] {
            let url = configs.appendingPathComponent(name + ".yaml")
            XCTAssertNoThrow(try GeneratorTrainingConfig.load(url, assignments: assignments(url, folder: folder)), name)
        }
        let url = configs.appendingPathComponent("motion-digits-classifier.yaml")
        XCTAssertNoThrow(try ClassifierTrainingConfig.load(url, assignments: assignments(url, folder: folder)))
    }

    /// scripts/study-objectives.sh's diffusion cells (images and video prediction) give the tokenizer's
    /// own token factors for the files' [5, 5] (diffusion reads none) and keep label smoothing at the default.
    func testTheObjectiveStudysDiffusionCellsAreRead() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-study-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for (name, own) in [("fashion-mnist-generator", [String]()), ("moving-digits-predict", ["sampling.steps=50"])] {
            let url = ShippedResources.root.appendingPathComponent("configs/\(name).yaml")
            let cell = try assignments(url, folder: folder) + ["generator.objective=diffusion"] + own
            XCTAssertEqual(try GeneratorTrainingConfig.load(url, assignments: cell + ["generator.factorBits=[10]"]).generator.objective, .diffusion, name)
            for (setting, key) in [([String](), "generator.factorBits"), (["generator.factorBits=[10]", "generator.labelSmoothing=0.2"], "generator.labelSmoothing")] {
                XCTAssertThrowsError(try GeneratorTrainingConfig.load(url, assignments: cell + setting)) {
                    XCTAssertTrue("\($0)".contains("\(key) is read only by the token objectives"), "\(name): \($0)")
                }
            }
        }
    }

    /// scripts/study-objectives.sh's tokenizer cells: the VQ cell puts the file's LFQ settings back to
    /// their defaults (a VQ model does not read them); left as the file gives them, they are refused.
    func testTheObjectiveStudysTokenizerCellsAreRead() throws {
        let url = ShippedResources.root.appendingPathComponent("configs/fashion-mnist.yaml")
        let vq = ["model.quantizer.kind=vq", "model.quantizer.lfq.entropyWeight=0.1", "model.quantizer.lfq.diversityGamma=1", "model.quantizer.lfq.annealRatio=3"]
        XCTAssertEqual(try TokenizerTrainingConfig.load(url, assignments: vq).model.quantizer.kind, .vq)
        XCTAssertEqual(try TokenizerTrainingConfig.load(url, assignments: ["model.quantizer.bits=8"]).model.quantizer.bits, 8)
        XCTAssertThrowsError(try TokenizerTrainingConfig.load(url, assignments: ["model.quantizer.kind=vq"])) {
            XCTAssertTrue("\($0)".contains("model.quantizer.lfq.") && "\($0)".contains("is read only by quantizer kind lfq, not this model's vq; this run would ignore it"), "\($0)")
        }
    }
}
