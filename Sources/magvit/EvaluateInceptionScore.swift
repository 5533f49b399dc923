// `magvit eval is SET`: the Inception Score of a set of images with TensorFlow's Inception-v3 (the FID
// network's pool3 features through its 1008-way logits layer, a file the user brings).
import ArgumentParser
import Evaluation
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
        try Destination.reports(json)
        let device = try runtime.apply()
        let headURL = head.map { URL(fileURLWithPath: $0) } ?? InceptionLogits.defaultWeights()
        let evaluation = GenerationEvaluation(options: .init(batch: batch, limit: limit), device: device, cache: nil) { [model] in
            try model.load(device: device)
        }
        let score = try evaluation.inceptionScore(of: set, head: headURL, splits: splits, progress: ProgressBar.show)
        print(String(format: "IS %.3f ± %.3f  (%d images, %d splits, %d classes)", score.mean, score.std, score.images, score.splits, score.classes))
        if let json {
            let result: [String: Any] = ["set": set, "images": score.images, "splits": splits, "is_mean": score.mean, "is_std": score.std,
                                         "network": "fid-inception-v3 pool3 + \(headURL.lastPathComponent)"]
            try OutputFiles.write(try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys]), to: URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
    }
}
