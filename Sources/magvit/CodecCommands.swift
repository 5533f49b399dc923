// `magvit encode`, `decode`, `reconstruct`: video files to token files and back.
import ArgumentParser
import Codec
import Foundation
import Media
import Tokenizer
import Torch

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode a video or image into a token file (.mgvt).",
        discussion: "Long videos go through in clips of the tokenizer's length (4k+1 frames). Example:\n  magvit encode clip.mp4 -o clip.mgvt --size 128x128")

    @Argument(help: "Input video or image (anything ffmpeg reads), or a folder of frame_00001.png...")
    var input: String
    @Option(name: .shortAndLong, help: "Output token file.")
    var output: String
    @OptionGroup var frames: FrameOptions
    @OptionGroup var codecOptions: CodecOptions

    func run() throws {
        try Destination.file(output, inputs: [input], extensions: ["mgvt"], writes: "a token file")
        let codec = try codecOptions.load().codec
        let file = try ProgressBar.showing("encode") { try codec.encode(path: input, options: frames.readOptions(), progress: $0) }
        try file.write(to: URL(fileURLWithPath: output))
        let h = file.header
        print("\(output): \(file.frames) frames -> \(h.t)x\(h.h)x\(h.w) tokens of \(h.bits) bits (\(h.chunks.count) clips)")
    }
}

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode a token file into a video (.mp4, .gif, .mkv, .y4m) or a folder of PNG frames.",
        discussion: "The tokenizer must be the one that encoded the file (checked by its weights hash).")

    @Argument(help: "Token file (.mgvt).")
    var input: String
    @Option(name: .shortAndLong, help: "Output video, or a folder name for PNG frames.")
    var output: String
    @OptionGroup var size: OutputSizeOptions
    @OptionGroup var codecOptions: CodecOptions

    func run() throws {
        try Destination.video(output, inputs: [input])
        let file = try TokenFile(contentsOf: URL(fileURLWithPath: input))
        let frameSize = try size.check(file.header, input: input)
        let codec = try codecOptions.load().codec
        try ProgressBar.showing("decode") { try codec.decode(file, to: output, scaledTo: frameSize, progress: $0) }
        print("\(output): \(file.frames) frames \(frameSize.width)x\(frameSize.height)")
    }
}

struct Reconstruct: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode and decode a video, write the original and the reconstruction side by side, and print PSNR and SSIM.")

    @Argument(help: "Input video or image.")
    var input: String
    @Option(name: .shortAndLong, help: "Output video (original | reconstruction).")
    var output: String
    @OptionGroup var frames: FrameOptions
    @OptionGroup var codecOptions: CodecOptions

    func run() throws {
        try Destination.video(output, inputs: [input])
        let codec = try codecOptions.load().codec
        let options = try frames.readOptions(), info = try VideoInfo(probing: input)
        let report = try ProgressBar.showing("reconstruct") { try codec.reconstruct(path: input, to: output, options: options, progress: $0) }
        let scored = EvaluateReconstruction.scored(try codec.frameSize(for: info, requested: options.size), of: (info.width, info.height),
                                                   requested: options.size != nil, factor: codec.model.config.spatialFactor)
        print(String(format: "%@: %d frames, PSNR %.2f dB, SSIM %.4f on %@ (left: original, right: reconstruction)",
                     output, report.frames, report.meanPSNR, report.meanSSIM, scored))
        if let psnr = report.meanFloorPSNR, let ssim = report.meanFloorSSIM {
            let floor = BlockMeanCodec(matching: codec.model.config)
            print(String(format: "floor (each token's block as its mean colour in the same %d bits): PSNR %.2f dB, SSIM %.4f; tokenizer %+.2f dB against it",
                         floor.bitsPerBlock, psnr, ssim, report.meanPSNR - psnr))
        }
    }
}

/// The checks on a command's output made before any work (docs/robustness.md, "Output rules"): not
/// one of the inputs, a name that fits what the command writes, and a destination that may be written.
enum Destination {
    /// A file output (a token file, a stream, a frames file) named with one of `extensions`.
    static func file(_ output: String, inputs: [String], extensions: [String], writes what: String) throws {
        try OutputFiles.checkNotInput(output, inputs: inputs)
        try OutputFiles.checkDestination(output)
        try OutputFiles.checkExtension(output, extensions, writes: what)
    }

    /// Files written after the work (`--json`, `--confusion`, `--save-stats`; `-` is standard output),
    /// checked before it, so that a name that cannot be written does not cost a whole evaluation.
    static func reports(_ paths: String?...) throws {
        for case let path? in paths where path != "-" { try OutputFiles.checkDestination(path) }
    }

    /// A video, an image or a folder of PNG frames.
    static func video(_ output: String, inputs: [String]) throws {
        try OutputFiles.checkNotInput(output, inputs: inputs)
        try VideoWriter.checkDestination(output)
    }
}
