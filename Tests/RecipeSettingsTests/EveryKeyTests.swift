// Issue 33's "no setting is accepted and ignored": every key of every recipe's config, changed from a
// tiny base config, is refused or changes what a short run does (SettingsProbe.swift).
import Classifier
import Dataset
import Foundation
import Generator
import Harness
import TestSupport
import Tokenizer
import Torch
import TokenizerTraining
import XCTest

/// Settings whose effect a short one-process CPU run cannot show, with where it does show.
let unseenInAShortRun = [
    "run.threads": "libtorch's CPU threads: the same numbers, sooner (checked below: Torch.threads after the run)",
    "run.mixedPrecision": "bf16 autocast on CUDA; the CPU computes in float32 (scripts/gpu-check.sh)",
    "run.backend": "which library reduces CUDA tensors across ranks (CollectiveBackendTests)",
    "run.collectiveTimeout": "how long a rank waits for the others (RendezvousTests)",
    "run.progressEvery": "plain progress lines on standard error (TrainerTests.testProgressLinesWithoutATerminal)",
    "run.checkpointEvery": "how far back a killed run resumes from (TrainerTests.testKilledAndResumedRunMatchesAnUninterruptedOne)",
    "run.timeBudget": "fits the step count from the pace of steps 30 to 80 of a run (ResumeAndInterruptTests)",
    "data.prefetch": "batches made ahead of the model: the same batches, sooner",
]

final class EveryKeyTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-every-key-\(getpid())-\(UUID().uuidString.prefix(8))")
        try SyntheticData.writeIDX(to: folder.appendingPathComponent("digits"), train: 64, test: 16)
        try SyntheticData.writeIDX(to: folder.appendingPathComponent("other-digits"), train: 40, test: 12)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// The glyphs of the digit and image sources, and others in their place.
    var digits: String { folder.appendingPathComponent("digits").path }
    var other: String { folder.appendingPathComponent("other-digits").path }

    /// Probes every setting of `R` from `base`; fails on each that is accepted and changes nothing.
    /// `only`: the settings to probe (nil: every one).
    func probeEverySetting<R: Recipe>(_ recipe: R.Type, base: String, words: [String: [Any]], exempt: [String: String] = [:],
                                      only: Set<String>? = nil) throws {
        let shared: [String: [Any]] = [
            "data.train": [[other]], "data.eval": [[other]], "run.device": ["cuda"], "run.saveDtype": ["float16"], "run.budgetClock": ["cpu"], "optimizer.betas": [[0.5, 0.9]],
            "data.sources": [[["kind": "moving-digits", "train": [digits]]]], "data.images": [[["kind": "fashion-mnist"]]],
        ]
        let probe = try SettingsProbe<R>(base: base, folder: folder, words: shared.merging(words) { $1 })
        let baseline = try probe.run(probe.base, name: "base")
        XCTAssertEqual(try probe.run(probe.base, name: "base-again"), baseline, "two runs of the base config must leave the same files")
        var counts = (refused: 0, changed: 0, exempt: 0)
        for (path, value) in try probe.everySetting() where only?.contains(path.pattern) ?? true {
            if exempt[path.pattern] != nil || unseenInAShortRun[path.pattern] != nil {
                counts.exempt += 1
                continue
            }
            switch try probe.probe(path, value: value, baseline: baseline) {
            case .refused: counts.refused += 1
            case .changedTheRun: counts.changed += 1
            case .noEffect(let tried, let refusals):
                XCTFail("\(R.name) recipe: '\(path)' (\(value)) is accepted and changes nothing; tried \(tried), refused \(refusals)")
            }
        }
        print("\(R.name) recipe: \(counts.changed) settings change the run, \(counts.refused) are refused, \(counts.exempt) act outside it")
    }

    func testEveryTokenizerSettingChangesTheRunOrIsRefused() throws {
        var tiny = TokenizerConfig.tiny
        tiny.resolution = 32
        let start = try savedTokenizer(tiny, "start.safetensors", seed: 3)
        try probeEverySetting(TokenizerTrainer.self, base: """
            model: {preset: tiny, resolution: 32}
            data: {kind: moving-digits, train: [\(digits)], digits: 1, evalSamples: 2, imageBatch: 2, images: [{kind: moving-digits, train: [\(digits)]}]}
            loss: {reconstruction: l1, perceptualWeight: 0.1, perceptualNetwork: alex, adversarialWeight: 0.1, discriminatorChannels: 4, r1Weight: 1, lecamWeight: 0.01}
            optimizer: {warmupSteps: 0}
            run: {steps: 2, batch: 2, logEvery: 1, evalEvery: 2, checkpointEvery: 1, emaDecay: 0.5, threads: 1, seed: 1}
            """, words: [
                "initialWeights": [start.path],
                "initialization": ["random"],
                "data.images[].train": [[other]], "data.images[].eval": [[other]], "data.images[].kind": ["photo-pans"],
                "loss.reconstruction": ["l2"], "loss.perceptualNetwork": ["vgg"], "loss.discriminatorLoss": ["non-saturating"],
                "model.quantizer.kind": ["vq"], "model.temporalPadding": ["replicate"],
                "data.kind": ["videos"], "run.dtype": ["float64"],
            ], exempt: ["model.name": "a label the model file records"])
        XCTAssertEqual(Torch.threads, 1)
    }

    /// A tokenizer of `config` with random weights drawn from `seed`, saved as `name` for the
    /// generator and the classifier.
    func savedTokenizer(_ config: TokenizerConfig, _ name: String, seed: UInt64 = 2) throws -> URL {
        Torch.manualSeed(seed)
        let url = folder.appendingPathComponent(name)
        try VideoTokenizer(config: config).save(to: url)
        return url
    }

    /// An image tokenizer of 6 bits: 8×8 tokens of a 32×32 picture.
    var imageTokenizer: TokenizerConfig {
        var t = TokenizerConfig.presets["image-small"]!
        t.baseChannels = 8
        t.quantizer = QuantizerConfig(kind: .lfq, bits: 6)
        return t
    }

    func testEveryGeneratorSettingChangesTheRunOrIsRefused() throws {
        let tokenizer = try savedTokenizer(imageTokenizer, "tokenizer.safetensors"), otherTokenizer = try savedTokenizer(imageTokenizer, "other.safetensors", seed: 3)
        try probeEverySetting(GeneratorTrainer.self, base: """
            tokenizer: \(tokenizer.path)
            data: {kind: fashion-mnist, train: [\(digits)]}
            generator: {classes: 10, factorBits: [2, 4], width: 16, depth: 1, heads: 2}
            codingMasks: {fraction: 0.5}
            optimizer: {warmupSteps: 0}
            run: {steps: 2, batch: 4, logEvery: 1, evalEvery: 2, checkpointEvery: 1, emaDecay: 0.5, threads: 1, seed: 1}
            sampling: {steps: 2, guidance: 1}
            """, words: [
                "tokenizer": [otherTokenizer.path],
                "data.kind": ["images"], "data.labels": ["folders"], "data.path": [digits], "generator.objective": ["autoregressive"],
            ])
    }

    func testEveryClassifierSettingChangesTheRunOrIsRefused() throws {
        var still = TokenizerConfig.tiny
        (still.clipFrames, still.resolution) = (1, 32)  // larger than the 28-pixel glyphs: data.pad pads them
        let tokenizer = try savedTokenizer(still, "still.safetensors"), otherTokenizer = try savedTokenizer(still, "other.safetensors", seed: 3)
        try probeEverySetting(ClassifierTrainer.self, base: """
            tokenizer: \(tokenizer.path)
            data: {kind: fashion-mnist, train: [\(digits)]}
            classifier: {input: bits, width: 16, depth: 1, heads: 2}
            trainClips: 16
            evalClips: 8
            optimizer: {warmupSteps: 0}
            run: {steps: 2, batch: 4, logEvery: 1, evalEvery: 2, checkpointEvery: 1, emaDecay: 0.5, threads: 1, seed: 1}
            """, words: [
                "data.kind": ["motion-classes"], "classifier.input": ["factors"], "classifier.factorBits": [[2, 4]], "tokenizer": [otherTokenizer.path],
            ])
    }

    /// The settings that only frame prediction reads, probed from a frame-prediction run on moving
    /// digits (the run above models labelled images).
    func testEveryFramePredictionSettingChangesTheRunOrIsRefused() throws {
        var clips = TokenizerConfig.tiny
        clips.resolution = 32
        let tokenizer = try savedTokenizer(clips, "clips.safetensors")
        try probeEverySetting(GeneratorTrainer.self, base: """
            tokenizer: \(tokenizer.path)
            data: {kind: moving-digits, train: [\(digits)], digits: 1, evalSamples: 4}
            generator: {conditionFrames: 1, width: 16, depth: 1, heads: 2}
            movingDigitClips: 8
            predictionClips: 3
            optimizer: {warmupSteps: 0}
            run: {steps: 2, batch: 4, logEvery: 1, evalEvery: 2, checkpointEvery: 1, threads: 1, seed: 1}
            sampling: {steps: 2}
            """, words: [:],
            only: ["generator.conditionFrames", "generator.classes", "generator.conditionDropout", "predictionClips", "predictionFVD", "movingDigitClips",
                   "data.eval", "data.evalSamples", "data.digits", "data.digitSize", "sampling.guidance", "codingMasks.fraction", "codingMasks.groups"])
    }
}
