// `magvit eval recon`: reconstruction metrics of a tokenizer on a set of videos.
import ArgumentParser
import Codec
import Dataset
import Evaluation
import Foundation
import Media
import NN
import Tokenizer
import Torch
import TokenizerTraining

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Evaluate tokenizers, generators and classifiers.", subcommands: [EvaluateReconstruction.self, EvaluateCompare.self, EvaluateGeneration.self, EvaluateInceptionScore.self, EvaluateClassification.self])
}

struct EvaluateReconstruction: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recon",
        abstract: "Reconstruction metrics of a tokenizer on a set of videos: PSNR, SSIM, MS-SSIM, LPIPS, rFID, rFVD, codebook usage.",
        discussion: """
            Every clip of every input (files, folders searched recursively, glob patterns, .txt lists) goes through \
            the tokenizer, read by a pool of decoders and batched as in `magvit tokenize`: each video's whole frames \
            (its size rounded down to the tokenizer's multiple, the frames `magvit reconstruct` scores), or with \
            --size one size for all (scaled to cover it and centre-cropped, or stretched with --stretch). Prints a row per video and a last row with the mean over the videos \
            (each video counting once) and the codebook usage over the whole set, then rFID (original vs \
            reconstructed frames, FID Inception) and rFVD (16-frame windows, I3D); --json writes it all. A file that \
            cannot be decoded is reported and left out; the exit status is then 2. Example:
              magvit eval recon --data .deps/media --json recon.json
            With --dataset: the held-out split of an image set instead (PSNR, SSIM, usage).
            """)

    @Option(parsing: .upToNextOption, help: "Videos to evaluate on (files, folders, patterns, .txt lists), or the files/folder of --dataset.") var data: [String] = []
    @Option(help: "Score the held-out split of an image set instead: fashion-mnist or mnist (with --data naming its folder or pickle when not at the default place), or images (a folder).")
    var dataset: String?
    @Option(help: "Write the results as JSON here.") var json: String?
    @Option(help: "Clips per model call.") var batch = 8
    @Option(help: "Decoder processes reading ahead of the model.") var workers = 2
    @Option(help: "Metrics to leave out, comma-separated: lpips, rfid, rfvd.") var skip = ""
    @Option(help: "Frames of an rFVD clip.") var fvdFrames = 16
    @OptionGroup var model: ModelOptions
    @OptionGroup var frames: FrameOptions
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        try Destination.reports(json)
        if let dataset { return try scoreDataset(dataset) }
        guard !data.isEmpty else { throw ValidationError("--data needs at least one video (or use --dataset)") }
        let skipped = Set(skip.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
        if let unknown = skipped.subtracting(["lpips", "rfid", "rfvd"]).first { throw ValidationError("--skip: unknown metric '\(unknown)' (lpips, rfid, rfvd)") }
        guard batch >= 1, workers >= 1 else { throw ValidationError("--batch and --workers must be at least 1") }
        let device = try runtime.apply()
        let files = try InputList.expand(data).files
        let read = try frames.readOptions()
        var options = ReconstructionEvaluation.Options()
        (options.size, options.centerCrop, options.fps, options.maxFrames, options.strict) = (read.size, read.centerCrop, read.frameRate, read.maxFrames, read.strict)
        (options.batch, options.workers, options.device, options.fvdFrames) = (batch, workers, device, fvdFrames)
        (options.lpips, options.rFID, options.rFVD) = (!skipped.contains("lpips"), !skipped.contains("rfid"), !skipped.contains("rfvd"))
        let tokenizer = try model.load(device: device)
        let evaluation = try ReconstructionEvaluation(model: tokenizer, options: options)
        let lines = ProgressLines(label: "eval recon", every: 30)
        let start = Date()
        let result = try evaluation.run(files: files) { done, total in
            let seconds = Date().timeIntervalSince(start)
            lines.update(done: done, total: total, unit: "files", detail: "", eta: seconds / Double(done) * Double(total - done))
        }
        lines.done()
        print(ReconstructionScores.header)
        for (path, scores) in result.videos {
            print(scores.row(URL(fileURLWithPath: path).lastPathComponent))
            if let floor = scores.floorRow() { print(floor) }
        }
        print(result.mean.row("mean of \(result.videos.count) video\(result.videos.count == 1 ? "" : "s")"))
        if let floor = result.mean.floorRow() { print(floor) }
        let floor = BlockMeanCodec(matching: tokenizer.config)
        print("block-mean floor: each token's block (\(floor.temporalFactor)x\(floor.spatialFactor)x\(floor.spatialFactor), the first frame alone) as its mean colour in the same \(floor.bitsPerBlock) bits, bilinear in space")
        print("frames: " + Self.scored(result.frameSizes, size: options.size, stretch: frames.stretch, factor: tokenizer.config.spatialFactor))
        print("codebook usage over the whole set: \(Int(result.mean.codesUsed)) of \(tokenizer.config.quantizer.codebookSize) codes, perplexity \(String(format: "%.1f", result.mean.perplexity))")
        if let f = result.rFID { print(String(format: "rFID %.2f over %d frame pairs", f, result.fidFrames)) }
        if let f = result.rFVD { print(String(format: "rFVD %.2f over %d %d-frame clip pairs", f, result.fvdClips, fvdFrames)) }
        if options.rFVD, result.rFVD == nil { print("rFVD: fewer than 2 clips of \(fvdFrames) frames") }
        if let json {
            let rows = zip(result.videos, result.frameSizes).map { video, size in
                video.scores.json.merging(["video": video.path, "size": [size.width, size.height]]) { $1 }
            }
            var mean = result.mean.json.merging(["videos": result.videos.count]) { $1 }
            if let f = result.rFID { (mean["rfid"], mean["rfid_frames"]) = (f, result.fidFrames) }
            if let f = result.rFVD { (mean["rfvd"], mean["rfvd_clips"], mean["rfvd_frames"]) = (f, result.fvdClips, fvdFrames) }
            let output: [String: Any] = [
                "tokenizer": tokenizer.config.name, "weights": try tokenizer.weightsHash(), "videos": rows, "mean": mean,
                "size": options.size.map { [$0.width, $0.height] as Any } ?? "source", "failures": result.failures.map { ["path": $0.path, "error": $0.error] },
            ]
            try OutputFiles.write(try JSONSerialization.data(withJSONObject: output, options: [.prettyPrinted, .sortedKeys]), to: URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
        guard result.failures.isEmpty else {
            for f in result.failures { FileHandle.standardError.write(Data("skipped \(f.error)\n".utf8)) }
            FileHandle.standardError.write(Data("error: \(result.failures.count) of \(files.count) files could not be decoded and were left out\n".utf8))
            throw ExitCode(2)
        }
    }
}

extension EvaluateReconstruction {
    /// The frames `reconstruct` scores: `size` taken from a video of `source`.
    static func scored(_ size: (width: Int, height: Int), of source: (width: Int, height: Int), requested: Bool, factor: Int) -> String {
        let frame = "\(size.width)x\(size.height)"
        if requested { return frame + " frames (--size)" }
        if size == source { return "whole \(frame) frames" }
        return "the centre \(frame) of \(source.width)x\(source.height) frames (rounded down to a multiple of \(factor))"
    }

    /// What the frames scored were: every size with its count of videos, and how they were had.
    static func scored(_ sizes: [(width: Int, height: Int)], size: (width: Int, height: Int)?, stretch: Bool, factor: Int) -> String {
        if let size { return "\(size.width)x\(size.height) (--size: " + (stretch ? "stretched)" : "scaled to cover, centre cropped)") }
        var counts: [String: Int] = [:], order: [String] = []
        for s in sizes {
            let key = "\(s.width)x\(s.height)"
            if counts[key] == nil { order.append(key) }
            counts[key, default: 0] += 1
        }
        let list = order.map { "\($0) (\(counts[$0]!) video\(counts[$0]! == 1 ? "" : "s"))" }.joined(separator: ", ")
        return "whole frames, each video's size rounded down to a multiple of \(factor) (centre kept), as `magvit reconstruct` scores them: \(list)"
    }

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
        guard let clips = try source.heldOut(limit: Int.max)?.clips else { throw ToolError("\(name): no held-out images") }
        let scores = try HeldOutEvaluation.score(tokenizer, clips: clips, batch: 64)
        print("\(name): \(scores.summary)")
        if let json {
            var result = try JSONSerialization.jsonObject(with: JSONEncoder().encode(scores)) as? [String: Any] ?? [:]
            result["dataset"] = name
            result["tokenizer"] = tokenizer.config.name
            result["weights"] = try tokenizer.weightsHash()
            try OutputFiles.write(try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys]),
                                to: URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
    }
}
