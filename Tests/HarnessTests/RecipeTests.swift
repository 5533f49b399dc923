// A recipe in one file, registered by name and trained through the registry as `magvit train`
// does; its config read by the one path every recipe's is, refusing keys it does not honour.
import Foundation
import Harness
import NN
import TestSupport
import Torch
import XCTest

/// The tiny recipe's settings: its width, and the sections every recipe has.
struct TinyConfig: RecipeConfig {
    static let recipe = "tiny"
    static let pathKeys: [String] = []
    static let unhonoured = ["run.dtype": "the tiny recipe trains in float32"]
    var width = 4
    var optimizer = OptimizerConfig()
    var run = RunConfig()
    var prefetch: Int { 2 }

    static func defaults(taking overrides: inout [String: Any]) throws -> TinyConfig { TinyConfig() }
    func validate() throws {
        try run.validate()
        try ConfigError.require(width >= 1, "width must be at least 1, got \(width)")
    }
}

/// Linear regression onto a fixed random map, taking the Harness's optimizer step.
final class TinyRecipe: Recipe {
    static let abstract = "a linear map onto a fixed random one"
    let config: TinyConfig
    let setup: RunSetup
    let training: OptimizedModel
    let layer: Linear
    let target: Tensor  // (width, 8)

    init(config: TinyConfig, setup: RunSetup) throws {
        (self.config, self.setup) = (config, setup)
        let store = ParameterStore()
        (layer, target) = try setup.seeded {
            (try Linear(store.root("layer"), inputFeatures: 8, outputFeatures: config.width, bias: false), try Tensor.randn([config.width, 8]))
        }
        training = try OptimizedModel(store, optimizer: config.optimizer, emaDecay: config.run.emaDecay)
    }

    var summary: String { "tiny recipe: width \(config.width)" }
    var headline: [String] { [] }
    var checkpointGroups: [String: any CheckpointGroup] { training.checkpointGroups }
    var average: (ema: ExponentialMovingAverage, store: ParameterStore)? { training.average }
    var identity: [String: String] { ["width": "\(config.width)"] }

    func batchMaker() throws -> @Sendable (Int) throws -> Tensor {
        let seed = config.run.seed, size = config.run.batch
        return { step in
            var random = SeededRandom(seed: seed, step: step)
            return try Tensor((0..<(size * 8)).map { _ in Float(random.uniform() * 2 - 1) }, shape: [size, 8])
        }
    }

    func step(_ x: Tensor, context: StepContext) throws -> [String: Double] {
        let parts = try context.microBatches(x)
        return try training.step(parts: parts.count, context: context, clipNorm: config.optimizer.clipNorm) { i in
            let loss = try mseLoss(layer(parts[i]), matmul(parts[i], target.transpose(0, 1)))
            return (loss, ["loss": try loss.item()])
        }
    }

    func evaluate(step: Int, final: Bool, log: RunLog) throws -> [String: Any] {
        let x = try Tensor.ones([1, 8])
        return ["held_out_error": try (layer(x) - matmul(x, target.transpose(0, 1))).square().mean().item()]
    }

    func samples(step: Int) throws -> [String: Tensor] { [:] }

    func finish(_ folder: RunFolder, metadata: [String: String], dtype: DType) throws -> URL {
        let url = folder.url.appendingPathComponent("tiny.safetensors")
        try training.store.save(to: url, metadata: metadata)
        return url
    }
}

final class RecipeTests: XCTestCase {
    func testRecipeRegisteredByNameTrainsThroughTheRegistry() throws {
        Recipes.register(TinyRecipe.self)
        XCTAssertTrue(Recipes.names.contains("tiny"))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-recipe-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("tiny.yaml")
        try "width: 3\nrun: {steps: 6, batch: 4, accumulate: 2, logEvery: 2, evalEvery: 3, checkpointEvery: 3, emaDecay: 0.5}\n"
            .write(to: config, atomically: true, encoding: .utf8)
        let run = folder.appendingPathComponent("run")
        var lines: [String] = []
        try Recipes.named("tiny").train(config, ["run.seed=5"], run, false, { _ in nil }, { lines.append($0) })
        let saved = try SafeTensors.read(run.appendingPathComponent("tiny.safetensors"))
        XCTAssertEqual(saved.tensors["layer.weight"]?.shape, [3, 8])
        XCTAssertEqual(saved.metadata["training_steps"], "6")
        let written = try TinyConfig.parse(String(contentsOf: run.appendingPathComponent("config.json"), encoding: .utf8), name: "config.json")
        XCTAssertEqual(written.width, 3)
        XCTAssertEqual(written.run.seed, 5)
        XCTAssertTrue(lines.contains { $0.hasPrefix("tiny recipe: width 3") }, "\(lines)")
    }

    func testUnknownRecipeIsRefusedWithTheKnownOnes() throws {
        Recipes.register(TinyRecipe.self)
        XCTAssertThrowsError(try Recipes.named("tiyn")) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("unknown recipe 'tiyn'") && message.contains("recipes: ") && message.contains("tiny"), message)
        }
    }

    func testKeysTheRecipeDoesNotUseAreRefusedNamingIt() throws {
        XCTAssertThrowsError(try TinyConfig.parse("widht: 3\n")) { error in
            XCTAssertTrue("\(error)".contains("config.yaml: unknown setting 'widht' of the tiny recipe; settings here: optimizer, run, width"), "\(error)")
        }
        XCTAssertThrowsError(try TinyConfig.parse("run: {dtype: float64}\n")) { error in
            XCTAssertEqual("\(error)", "config.yaml: 'run.dtype' is not a setting of the tiny recipe: the tiny recipe trains in float32")
        }
        XCTAssertThrowsError(try TinyConfig.parse("width: 0\n", name: "t.yaml")) { error in
            XCTAssertEqual("\(error)", "t.yaml: width must be at least 1, got 0")
        }
        XCTAssertEqual(try TinyConfig.parse("width: 2\n", assignments: ["run.steps=7"]).run.steps, 7)
    }
}
