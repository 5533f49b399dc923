// `magvit eval is SET`: the Inception Score of a set of images with TensorFlow's Inception-v3 (the FID
// network's pool3 features through its 1008-way logits layer, a file the user brings).
import ArgumentParser
import Codec
import Foundation
import Metrics
import NN
import Torch

struct EvaluateInceptionScore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "is",
        abstract: "Inception Score of an image set (mean and std over splits).",
        discussion: """
            SET is what `eval gen` takes (folders of images or videos, videos, token files, fashion-mnist, mnist). The
            logits layer is not in any package that can be had offline: convert pytorch-fid's
            pt_inception-2015-12-05-6726825d.pth with `python3 scripts/convert-weights.py inception-logits PTH OUT` and pass
            OUT with --head (or put it in .deps/weights/inception-v3-logits.safetensors). Images are prepared as for FID.
            Example: magvit eval is runs/generated --splits 10 --json is.json
            """)

    @Argument(help: "The set to score.") var set: String
    @Option(help: "The Inception logits layer (.safetensors from scripts/convert-weights.py inception-logits).") var head: String?
    @Option(help: "Parts the set is split into; the score is their mean and std.") var splits = 10
    @Option(help: "Images per Inception batch.") var batch = 32
    @Option(help: "Use at most this many images (0: all).") var limit = 0
    @Option(help: "Write the result as JSON here.") var json: String?
    @OptionGroup var model: ModelOptions
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        guard splits >= 1, batch > 0, limit >= 0 else { throw ValidationError("--splits and --batch must be positive, --limit not negative") }
    }

    func run() throws {
        let device = try runtime.apply()
        let headURL = head.map { URL(fileURLWithPath: $0) } ?? InceptionLogits.defaultWeights()
        let logits = try InceptionLogits(weights: headURL, device: device)
        let inception = try FIDInception(weights: FIDInception.defaultWeights(), device: device)
        let source = try ImageSource(set, model: model, device: device)
        var parts: [Tensor] = []
        var count = 0
        let bar = ProgressBar(label: "IS " + URL(fileURLWithPath: set).lastPathComponent)
        let start = Date()
        try source.forEachInceptionBatch(inception, batch: batch, limit: limit) { features in
            parts.append(try logits.probabilities(features).to(.float64, .cpu))
            count += features.size(0)
            bar.update(JobProgress(frames: count, total: source.count(limit: limit), seconds: Date().timeIntervalSince(start)))
        }
        bar.done()
        guard count >= splits else { throw ValidationError("\(set): \(count) images, fewer than the \(splits) splits") }
        let (mean, std) = try InceptionScore.score(probabilities: concatenate(parts, dim: 0), splits: splits)
        print(String(format: "IS %.3f ± %.3f  (%d images, %d splits, %d classes)", mean, std, count, splits, logits.weight.size(0)))
        if let json {
            let result: [String: Any] = ["set": set, "images": count, "splits": splits, "is_mean": mean, "is_std": std,
                                         "network": "fid-inception-v3 pool3 + \(headURL.lastPathComponent)"]
            try writeAtomically(try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys]), to: URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
    }
}
