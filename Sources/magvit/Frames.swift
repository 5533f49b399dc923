// `magvit frames`: decode a video into a frames file (uint8 safetensors) for training on machines
// without ffmpeg (Training's FrameFile reads both kinds of input).
import ArgumentParser
import Dataset
import Foundation
import Media
import Torch

struct Frames: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode a video into a frames file (.safetensors holding uint8 'frames' (T, H, W, 3)) for training.",
        discussion: "With --photos: pack the photos of a folder (or file) into one photo pack for data kind photo-pans, each scaled to --shorter-side at most.")

    @Argument(help: "Input video (with --photos: a photo or a folder of photos).")
    var input: String
    @Flag(help: "Pack photos instead of decoding a video.")
    var photos = false
    @Option(help: "With --photos: the largest shorter side kept, in pixels.")
    var shorterSide = 512
    @Option(name: .shortAndLong, help: "Output .safetensors file.")
    var output: String
    @OptionGroup var frames: FrameOptions

    func run() throws {
        try Destination.file(output, inputs: [input], extensions: ["safetensors"],
                             writes: "a frames file (use `magvit reconstruct` or ffmpeg for images and videos)")
        if photos {
            guard shorterSide >= 1 else { throw ValidationError("--shorter-side must be positive") }
            let set = try PhotoSet(paths: [input], shorterSide: shorterSide, smallest: 1)
            try set.pack(to: URL(fileURLWithPath: output))
            let bytes = set.pyramids.reduce(0) { $0 + $1[0].count }
            print("\(output): \(set.count) photos, \(bytes / 1_000_000) MB")
            return
        }
        let reader = try VideoReader(path: input, options: frames.readOptions())
        guard let all = try reader.readAll() else { throw ValidationError("\(input): no frames decoded") }
        let bytes = try (all * 255).round().to(.uint8)
        try FrameFile.save(bytes, source: URL(fileURLWithPath: input).lastPathComponent, to: output)
        print("\(output): \(bytes.shape[0]) frames \(bytes.shape[2])x\(bytes.shape[1])")
    }
}
