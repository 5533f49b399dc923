// Generator training with the autoregressive and diffusion objectives, end to end on the tiny
// tokenizer and synthetic images of GeneratorTrainerTests: the loss falls, a stopped and resumed run
// equals an uninterrupted one, the tool samples from the result, and an unknown objective is refused.
import Foundation
import Generator
import NN
import TestSupport
import Torch
import XCTest

extension GeneratorTrainerTests {
    func testAutoregressiveAndDiffusionTrainResumeExactlyAndGenerate() throws {
        for objective in ["autoregressive", "diffusion"] {
            var c = try config(steps: 30, objective: objective)
            c.run.evalEvery = 30
            XCTAssertEqual(c.generator.objective.rawValue, objective)
            XCTAssertEqual(c.generator.latentChannels, objective == "diffusion" ? 6 : 0, "the tokenizer's latent channels, for diffusion")
            let whole = folder.appendingPathComponent("\(objective)-whole")
            let url = try XCTUnwrap(try GeneratorTrainer(config: c, directory: whole, resume: false, echo: { _ in }).train())
            let losses = try records(whole).filter { $0["kind"] == nil }.map { try XCTUnwrap($0["loss"] as? Double) }
            XCTAssertEqual(losses.count, 30)
            XCTAssertLessThan(losses.suffix(5).reduce(0, +), 0.9 * losses.prefix(5).reduce(0, +), "\(objective) loss \(losses)")
            print(String(format: "%@: loss %.3f over steps 1-5, %.3f over steps 26-30", objective, losses.prefix(5).reduce(0, +) / 5, losses.suffix(5).reduce(0, +) / 5))
            let cache = objective == "diffusion" ? "latents.safetensors" : "tokens.safetensors"
            for name in ["checkpoint.safetensors", "generator.safetensors", "samples/step-0000030.png", cache] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: whole.appendingPathComponent(name).path), "\(objective): \(name)")
            }
            let split = folder.appendingPathComponent("\(objective)-split")
            XCTAssertNil(try GeneratorTrainer(config: c, directory: split, resume: false, echo: { _ in }).train(stoppingAt: 10))
            try GeneratorTrainer(config: c, directory: split, resume: true, echo: { _ in }).train()
            let a = try records(whole), b = try records(split)
            XCTAssertEqual(a.count, b.count)
            for (x, y) in zip(a, b) {
                for key in ["loss", "grad_norm", "step"] { XCTAssertEqual("\(x[key] ?? "-")", "\(y[key] ?? "-")", "\(objective) \(key) at step \(x["step"] ?? "-")") }
            }
            let wa = try SafeTensors.read(url).tensors, wb = try SafeTensors.read(split.appendingPathComponent("generator.safetensors")).tensors
            for (k, v) in wa { XCTAssertEqual(try v.toArray(Float.self), try wb[k]!.toArray(Float.self), "\(objective) \(k)") }
            let r = try magvit(["generate", "--checkpoint", url.path, "--class", "all", "--count", "2", "--steps", "3", "--guidance", "1",
                                "-o", folder.appendingPathComponent("\(objective).png").path])
            XCTAssertEqual(r.status, 0, r.output)
            let evaluations = objective == "diffusion" ? 6 : 128  // 3 Euler steps or 64 tokens, two passes each with guidance
            XCTAssertTrue(r.output.contains("\(evaluations) network evaluations each"), r.output)
            // The CPU time of sampling and decoding, a figure a busy machine does not change (the study's column).
            let perSample = r.output.components(separatedBy: "CPU-s both (").last?.split(separator: " ").first.flatMap { Double($0) }
            XCTAssertGreaterThan(try XCTUnwrap(perSample, r.output), 0, r.output)
        }
        XCTAssertThrowsError(try config(objective: "diffusive")) {
            XCTAssertTrue("\($0)".contains("expected one of masked, autoregressive, diffusion, got 'diffusive'"), "\($0)")
        }
    }
}
