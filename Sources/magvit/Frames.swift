// `magvit frames`: decode a video into a frames file (uint8 safetensors) for training on machines
// without ffmpeg (Training's FrameFile reads both kinds of input).
import ArgumentParser
import Foundation
import Media
import Training
import Torch

struct Frames: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode a video into a frames file (.safetensors holding uint8 'frames' (T, H, W, 3)) for training.")

    @Argument(help: "Input video.")
    var input: String
    @Option(name: .shortAndLong, help: "Output .safetensors file.")
    var output: String
    @OptionGroup var frames: FrameOptions

    func run() throws {
        guard output.hasSuffix(".safetensors") else {
            throw ValidationError("-o \(output): a frames file is written as .safetensors (use `magvit reconstruct` or ffmpeg for images and videos)")
        }
        let reader = try VideoReader(path: input, options: frames.readOptions())
        guard let all = try reader.readAll() else { throw ValidationError("\(input): no frames decoded") }
        let bytes = try (all * 255).round().to(.uint8)
        try FrameFile.save(bytes, source: URL(fileURLWithPath: input).lastPathComponent, to: output)
        print("\(output): \(bytes.shape[0]) frames \(bytes.shape[2])x\(bytes.shape[1])")
    }
}
