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
        discussion: "Prints a table and, with --json, writes the numbers. Example: magvit eval recon --checkpoint runs/fashion-mnist/tokenizer.safetensors --dataset fashion-mnist")

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
        var rows: [[String: Any]] = []
        print("video                          frames  PSNR dB   SSIM    MS-SSIM  codes used  perplexity")
        for path in data {
            let bar = ProgressBar(label: URL(fileURLWithPath: path).lastPathComponent)
            let r = try codec.reconstruct(path: path, to: nil, options: frames.readOptions(), progress: bar.update)
            bar.done()
            let usage = try r.usage()
            let name = URL(fileURLWithPath: path).lastPathComponent
            let ms = r.meanMSSSIM.map { String(format: "%.4f", $0) } ?? "-"
            print(name.padding(toLength: 30, withPad: " ", startingAt: 0),
                  String(format: "%6d  %7.2f  %6.4f  ", r.frames, r.meanPSNR, r.meanSSIM) + ms.padding(toLength: 7, withPad: " ", startingAt: 0),
                  String(format: "%10d  %10.1f", usage?.used ?? 0, usage?.perplexity ?? 0))
            var row: [String: Any] = ["video": path, "frames": r.frames, "psnr": r.meanPSNR, "ssim": r.meanSSIM,
                                      "codes_used": usage?.used ?? 0, "perplexity": usage?.perplexity ?? 0]
            if let m = r.meanMSSSIM { row["ms_ssim"] = m }
            rows.append(row)
        }
        if let json {
            let result: [String: Any] = ["tokenizer": codec.name, "weights": codec.weightsHash, "videos": rows]
            try writeAtomically(try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys]),
                                to: URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
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
