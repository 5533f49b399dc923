// `magvit eval recon`: reconstruction metrics of a tokenizer on a set of videos.
import ArgumentParser
import Codec
import Foundation
import Media
import NN
import Torch
import Training

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Evaluate tokenizers.", subcommands: [EvaluateReconstruction.self, EvaluateGeneration.self, EvaluateInceptionScore.self])
}

struct EvaluateReconstruction: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recon",
        abstract: "Reconstruction metrics of a tokenizer on videos: PSNR, SSIM, MS-SSIM per frame, codebook usage.",
        discussion: "Prints a table, a row per video and a last row with the mean over the videos, and with --json writes the numbers (the mean under \"mean\"). Example: magvit eval recon --checkpoint runs/fashion-mnist/tokenizer.safetensors --dataset fashion-mnist")

    @Option(parsing: .upToNextOption, help: "Videos to evaluate on, or the files/folder of --dataset.") var data: [String] = []
    @Option(help: "Score the held-out split of an image set instead: fashion-mnist or mnist (with --data naming its folder or pickle when not at the default place), or images (a folder).")
    var dataset: String?
    @Option(help: "Write the results as JSON here.") var json: String?
    @OptionGroup var model: ModelOptions
    @OptionGroup var frames: FrameOptions
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        if let dataset { return try scoreDataset(dataset) }
        guard !data.isEmpty else { throw ValidationError("--data needs at least one video (or use --dataset)") }
        let device = try runtime.apply()
        let codec = try VideoCodec(model: model.load(device: device))
        var videos: [ReconstructionScores] = []
        print("video                          frames  PSNR dB   SSIM    MS-SSIM  codes used  perplexity")
        for path in data {
            let bar = ProgressBar(label: URL(fileURLWithPath: path).lastPathComponent)
            let r = try codec.reconstruct(path: path, to: nil, options: frames.readOptions(), progress: bar.update)
            bar.done()
            let usage = try r.usage()
            let scores = ReconstructionScores(
                frames: r.frames, psnr: r.meanPSNR, ssim: r.meanSSIM, msSSIM: r.meanMSSSIM, codesUsed: Double(usage?.used ?? 0),
                perplexity: usage?.perplexity ?? 0)
            print(scores.row(URL(fileURLWithPath: path).lastPathComponent))
            videos.append(scores)
        }
        let mean = ReconstructionScores.mean(of: videos)
        print(mean.row("mean of \(videos.count) video\(videos.count == 1 ? "" : "s")"))
        if let json {
            let rows = zip(data, videos).map { path, scores in scores.json.merging(["video": path]) { $1 } }
            let result: [String: Any] = [
                "tokenizer": codec.name, "weights": codec.weightsHash, "videos": rows,
                "mean": mean.json.merging(["videos": videos.count]) { $1 },
            ]
            try writeAtomically(try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys]),
                                to: URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
    }
}

/// One row of `magvit eval recon`: a video's scores, or their mean over the videos.
struct ReconstructionScores {
    var frames: Int
    var psnr: Double
    var ssim: Double
    /// Nil when the frames are too small for MS-SSIM's five scales.
    var msSSIM: Double?
    var codesUsed: Double
    var perplexity: Double

    /// Each score averaged over the videos, every video counting once; `frames` is their total, and
    /// MS-SSIM is there only when every video has one.
    static func mean(of videos: [ReconstructionScores]) -> ReconstructionScores {
        let n = Double(Swift.max(videos.count, 1))
        func average(_ score: (ReconstructionScores) -> Double) -> Double { videos.map(score).reduce(0, +) / n }
        let msSSIMs = videos.compactMap(\.msSSIM)
        return ReconstructionScores(
            frames: videos.map(\.frames).reduce(0, +), psnr: average(\.psnr), ssim: average(\.ssim),
            msSSIM: msSSIMs.count == videos.count && !videos.isEmpty ? msSSIMs.reduce(0, +) / n : nil,
            codesUsed: average(\.codesUsed), perplexity: average(\.perplexity))
    }

    /// The table line under the header of `EvaluateReconstruction.run`.
    func row(_ label: String) -> String {
        let ms = msSSIM.map { String(format: "%.4f", $0) } ?? "-"
        let codes = codesUsed == codesUsed.rounded() ? String(format: "%10.0f", codesUsed) : String(format: "%10.1f", codesUsed)
        return label.padding(toLength: 30, withPad: " ", startingAt: 0) + " "
            + String(format: "%6d  %7.2f  %6.4f  ", frames, psnr, ssim) + ms.padding(toLength: 7, withPad: " ", startingAt: 0) + " "
            + codes + String(format: "  %10.1f", perplexity)
    }

    var json: [String: Any] {
        var fields: [String: Any] = [
            "frames": frames, "psnr": psnr, "ssim": ssim, "perplexity": perplexity,
            // A count for a video, a mean (possibly fractional) for the mean row.
            "codes_used": codesUsed == codesUsed.rounded() ? Int(codesUsed) as Any : codesUsed,
        ]
        if let msSSIM { fields["ms_ssim"] = msSSIM }
        return fields
    }
}

extension EvaluateReconstruction {
    /// The test split of an image set through the tokenizer: mean PSNR, SSIM, codebook usage.
    func scoreDataset(_ name: String) throws {
        let kind = DataKind(rawValue: name)
        guard [.fashionMNIST, .mnist, .images].contains(kind) else {
            throw ValidationError("--dataset must be fashion-mnist, mnist or images, got '\(name)'")
        }
        let device = try runtime.apply()
        let tokenizer = try model.load(device: device)
        var data = DataConfig()
        data.kind = kind
        data.train = self.data
        if kind == .images { data.eval = self.data }
        let source = try DataSources.make(data, shape: tokenizer.config.clipShape, seed: 0)
        guard let clips = try source.heldOut(limit: Int.max)?.clips else { throw ValidationError("\(name): no held-out images") }
        let scores = try HeldOutEvaluation.score(tokenizer, clips: clips, batch: 64)
        print("\(name): \(scores.summary)")
        if let json {
            var result = try JSONSerialization.jsonObject(with: JSONEncoder().encode(scores)) as? [String: Any] ?? [:]
            result["dataset"] = name
            result["tokenizer"] = tokenizer.config.name
            result["weights"] = try tokenizer.weightsHash()
            try writeAtomically(try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys]),
                                to: URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
    }
}
