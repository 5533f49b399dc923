// `magvit presets`: the named tokenizer configurations with their size and cost.
import ArgumentParser
import Foundation
import Tokenizer
import Torch

struct Presets: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List tokenizer presets: token grid, parameters and FLOPs per clip (counted by running the model with convolutions dry).")

    @Flag(help: "Print each preset's configuration as JSON.")
    var json = false

    func run() throws {
        let names = ["video-128", "image-256", "image-128", "video-small", "image-small", "tiny"]
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            for name in names {
                print("\(name): " + String(decoding: try encoder.encode(TokenizerConfig.presets[name]!), as: UTF8.self))
            }
            return
        }
        print("preset        input           tokens     vocab   params     encode GFLOPs  decode GFLOPs")
        for name in names {
            let c = TokenizerConfig.presets[name]!
            let model = try VideoTokenizer(config: c)
            let (encode, decode) = try model.flops(frames: c.clipFrames, height: c.resolution, width: c.resolution)
            let grid = c.tokenGrid(frames: c.clipFrames, height: c.resolution, width: c.resolution)
            let input = "\(c.clipFrames)x\(c.resolution)x\(c.resolution)x\(c.imageChannels)"
            let tokens = "\(grid.t)x\(grid.h)x\(grid.w)"
            let params = String(format: "%.2fM", Double(model.parameterCount) / 1e6)
            let vocab = "2^\(c.quantizer.bits)"
            print(pad(name, 13), pad(input, 15), pad(tokens, 10), pad(vocab, 7), pad(params, 10),
                  String(format: "%13.2f  %13.2f", Double(encode) / 1e9, Double(decode) / 1e9))
        }
    }
}

private func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}
