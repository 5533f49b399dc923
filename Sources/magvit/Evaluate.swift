// `magvit eval recon`: reconstruction metrics of a tokenizer on a set of videos.
import ArgumentParser
import Codec
import Foundation
import Media
import NN
import Torch

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Evaluate tokenizers.", subcommands: [EvaluateReconstruction.self])
}

struct EvaluateReconstruction: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recon",
        abstract: "Reconstruction metrics of a tokenizer on videos: PSNR, SSIM, MS-SSIM per frame, codebook usage.",
        discussion: "Prints a table and, with --json, writes the numbers. LPIPS, FID and FVD are not available yet.")

    @Option(parsing: .upToNextOption, help: "Videos or images to evaluate on.") var data: [String]
    @Option(help: "Write the results as JSON here.") var json: String?
    @OptionGroup var model: ModelOptions
    @OptionGroup var frames: FrameOptions
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        guard !data.isEmpty else { throw ValidationError("--data needs at least one video") }
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
