// Choosing the tokenizer a command runs: a checkpoint, the shipped default, or an untrained preset.
import ArgumentParser
import Codec
import Foundation
import Media
import Tokenizer
import Torch

struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Tokenizer checkpoint (.safetensors written by magvit). Default: the shipped model.")
    var checkpoint: String?

    @Option(name: .long, help: ArgumentHelp("Use an untrained model of this preset instead of a checkpoint (for trying the pipeline).",
                                            valueName: "preset"))
    var untrained: String?

    @Option(help: ArgumentHelp("Encode and decode frames larger than this many pixels a side in overlapping tiles of it (memory follows the tile, not the frame; 0: whole frames).",
                               valueName: "pixels"))
    var tile = SpatialTiling.standard.tile

    @Option(help: ArgumentHelp("Context around each tile's kept part, and the decoder's blend zone.", valueName: "pixels"))
    var tileOverlap = SpatialTiling.standard.overlap

    /// Where the shipped default tokenizer lives (`ShippedResources`: $MAGVIT_MODEL, else
    /// models/default-tokenizer.safetensors in the source tree this binary was built from).
    static var defaultModel: URL { ShippedResources.defaultTokenizer }

    func load(device: Device) throws -> VideoTokenizer {
        let model = try loadModel(device: device)
        if tile == 0 {
            model.tiling = nil
        } else {
            let tiling = SpatialTiling(tile: tile, overlap: tileOverlap)
            do { try tiling.validate(factor: model.config.spatialFactor) } catch { throw ValidationError("--tile/--tile-overlap: \(error)") }
            model.tiling = tiling
        }
        return model
    }

    private func loadModel(device: Device) throws -> VideoTokenizer {
        if let preset = untrained {
            guard checkpoint == nil else { throw ValidationError("give either --checkpoint or --untrained, not both") }
            guard let config = TokenizerConfig.presets[preset] else {
                throw ValidationError("unknown preset '\(preset)'; presets: \(TokenizerConfig.presets.keys.sorted().joined(separator: ", "))")
            }
            FileHandle.standardError.write(Data("warning: untrained \(preset) tokenizer: outputs are noise\n".utf8))
            Torch.manualSeed(0)  // the same untrained weights every run, so its token files decode
            return try VideoTokenizer(config: config, device: device)
        }
        let url = checkpoint.map { URL(fileURLWithPath: $0) } ?? Self.defaultModel
        guard FileManager.default.fileExists(atPath: url.path) else {
            if checkpoint != nil { throw ToolError("--checkpoint \(url.path): no such file") }
            throw ToolError("no --checkpoint given and no default model at \(url.path); train one (magvit train) or try --untrained tiny")
        }
        return try VideoTokenizer.load(from: url, device: device)
    }
}

/// The tokenizer a codec command (encode, decode, reconstruct, compress, decompress) runs, and where.
struct CodecOptions: ParsableArguments {
    @OptionGroup var model: ModelOptions
    @OptionGroup var runtime: RuntimeOptions

    /// Applies the runtime options and loads the tokenizer on their device.
    func load() throws -> (codec: VideoCodec, device: Device) {
        let device = try runtime.apply()
        return (try VideoCodec(model: model.load(device: device)), device)
    }
}

/// Frame-shaping options shared by encode and reconstruct.
struct FrameOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Resize to WIDTHxHEIGHT (multiples of the tokenizer's spatial factor), cropping the centre to keep the aspect ratio.", valueName: "WxH"))
    var size: String?

    @Flag(help: "With --size, stretch instead of cropping.")
    var stretch = false

    @Option(help: "Resample to this frame rate first.")
    var fps: Double?

    @Option(help: "Stop after this many frames.")
    var maxFrames: Int?

    @Flag(help: "Refuse a video on which the decoder reports errors (by default the damage it conceals is a warning).")
    var strict = false

    func readOptions() throws -> ReadOptions {
        var options = ReadOptions(centerCrop: !stretch, frameRate: fps, maxFrames: maxFrames, strict: strict)
        if let size { options.size = try Self.parseSize(size) }
        if let fps, fps <= 0 { throw ValidationError("--fps must be positive") }
        if let maxFrames, !(1...1_000_000_000).contains(maxFrames) { throw ValidationError("--max-frames must be 1...1000000000, got \(maxFrames)") }
        return options
    }

    /// WIDTHxHEIGHT of a `--size`, each side 1...16384.
    static func parseSize(_ size: String) throws -> (width: Int, height: Int) {
        let parts = size.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let width = parts[0], let height = parts[1], width > 0, height > 0 else {
            throw ValidationError("--size expects WIDTHxHEIGHT, e.g. 128x128, got '\(size)'")
        }
        guard width <= 16384, height <= 16384 else { throw ValidationError("--size: each side must be at most 16384 pixels, got '\(size)'") }
        return (width, height)
    }
}
