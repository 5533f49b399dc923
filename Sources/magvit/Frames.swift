// `magvit frames`: decode a video into a frames file (uint8 safetensors) for training on machines
// without ffmpeg, and the loader that `train` uses for both kinds of input.
import ArgumentParser
import Foundation
import Media
import NN
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
        let reader = try VideoReader(path: input, options: frames.readOptions())
        guard let all = try reader.readAll() else { throw ValidationError("\(input): no frames decoded") }
        let bytes = try (all * 255).round().to(.uint8)
        try SafeTensors.write(["frames": bytes], metadata: ["source": URL(fileURLWithPath: input).lastPathComponent],
                              to: URL(fileURLWithPath: output))
        print("\(output): \(bytes.shape[0]) frames \(bytes.shape[2])x\(bytes.shape[1])")
    }
}

/// Frames (T, H, W, 3) uint8 from a frames file or any video.
func loadFrames(_ path: String) throws -> Tensor {
    if path.hasSuffix(".safetensors") {
        guard let frames = try SafeTensors.read(URL(fileURLWithPath: path)).tensors["frames"], frames.rank == 4,
              frames.size(3) == 3, frames.dtype == .uint8 else {
            throw ValidationError("\(path): expected a uint8 tensor 'frames' (T, H, W, 3), as `magvit frames` writes")
        }
        return frames
    }
    guard let frames = try VideoReader(path: path).readAll() else { throw ValidationError("\(path): no frames decoded") }
    return try (frames * 255).round().to(.uint8)
}
