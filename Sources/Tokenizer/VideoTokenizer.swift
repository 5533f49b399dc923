// The MAGVIT-v2 tokenizer (arXiv 2310.05737): encoder → quantizer → decoder, one model and one
// vocabulary for images (1-frame videos) and videos of 1 + k·temporalFactor frames.
import Foundation
import NN
import Torch

/// Encodes frames to discrete tokens and decodes tokens back to frames.
///
/// Frames are (B, C, T, H, W) floats in [-1, 1] (or (B, C, H, W) images); tokens are int64 grids
/// (B, t, h, w) with t = 1 + (T − 1)/temporalFactor, h = H/spatialFactor, w = W/spatialFactor.
public final class VideoTokenizer {
    public let config: TokenizerConfig
    public let store: ParameterStore
    public let encoder: Encoder
    public let decoder: Decoder
    public let quantizer: any Quantizer
    /// How `encode` and `decode` split frames larger than a tile (SpatialTiling.swift); nil: whole frames.
    public var tiling: SpatialTiling? = .standard

    public init(config: TokenizerConfig, device: Device = .cpu, dtype: DType = .float32) throws {
        try config.validate()
        self.config = config
        store = ParameterStore(device: device, dtype: dtype)
        encoder = try Encoder(store.root("encoder"), config: config)
        decoder = try Decoder(store.root("decoder"), config: config)
        quantizer = try Quantizers.make(store.root("quantize"), config: config.quantizer)
    }

    public var device: Device { store.device }

    /// Moves the weights to `device` in place and returns self.
    @discardableResult
    public func to(_ device: Device) throws -> VideoTokenizer {
        try store.move(to: device)
        return self
    }

    /// Checks frames against the config and returns them as 5-d (images gain T = 1).
    public func validated(_ frames: Tensor) throws -> Tensor {
        let video = frames.rank == 4 ? try frames.unsqueeze(2) : frames
        guard video.rank == 5 else {
            throw TokenizerError.invalidInput("expected (B, C, T, H, W) frames or (B, C, H, W) images, got shape \(frames.shape)")
        }
        let (c, t, h, w) = (video.size(1), video.size(2), video.size(3), video.size(4))
        guard c == config.imageChannels else {
            throw TokenizerError.invalidInput("\(config.name) takes \(config.imageChannels) channels, got \(c) (shape \(frames.shape))")
        }
        guard t >= 1, (t - 1) % config.temporalFactor == 0 else {
            throw TokenizerError.invalidInput("\(config.name) takes 1 + k·\(config.temporalFactor) frames (1, \(1 + config.temporalFactor), \(1 + 2 * config.temporalFactor), ...), got \(t)")
        }
        guard h > 0, w > 0, h % config.spatialFactor == 0, w % config.spatialFactor == 0 else {
            throw TokenizerError.invalidInput("\(config.name) takes height and width divisible by \(config.spatialFactor), got \(h)×\(w)")
        }
        guard video.dtype.isFloatingPoint else {
            throw TokenizerError.invalidInput("frames must be floating point in [-1, 1], got \(video.dtype)")
        }
        return video
    }

    /// True when no layer mixes frames (temporal kernel 1, no temporal downsampling): an image
    /// tokenizer, which tokenizes a video frame by frame.
    public var isPerFrame: Bool { config.temporalKernel == 1 && config.temporalDownsamplings == 0 }

    /// Continuous encoder latents (B, d, t, h, w).
    public func latents(_ frames: Tensor) throws -> Tensor {
        let video = try validated(frames).to(store.dtype, device)
        return try perFrame(video) { try encoder($0) }
    }

    /// Runs `body` on (B·T, C, 1, H, W) for per-frame models, so frames go through as a batch of images.
    private func perFrame(_ x: Tensor, _ body: (Tensor) throws -> Tensor) throws -> Tensor {
        let (b, t) = (x.size(0), x.size(2))
        guard isPerFrame, t > 1 else { return try body(x) }
        let images = try x.transpose(1, 2).reshape([b * t, x.size(1), 1, x.size(3), x.size(4)])
        let y = try body(images)  // (B·T, C', 1, H', W')
        return try y.reshape([b, t, y.size(1), y.size(3), y.size(4)]).transpose(1, 2)
    }

    /// Quantizes latents, with losses for training (`step` drives entropy annealing).
    public func quantize(_ latents: Tensor, step: Int = 0, losses: Bool = true) throws -> Quantization {
        try quantizer(latents, step: step, losses: losses)
    }

    /// Token ids (B, t, h, w) of frames.
    /// Frames larger than a tile in either direction go tile by tile (`tiling`, nil: always whole).
    public func encode(_ frames: Tensor) throws -> Tensor {
        let video = try validated(frames)
        let f = config.spatialFactor
        return try withNoGrad {
            guard let tiling, let (rows, columns) = try tileSpans(h: video.size(3) / f, w: video.size(4) / f, tiling) else {
                return try quantizer.ids(latents(video))
            }
            return try encodeTiles(video, rows: rows, columns: columns)
        }
    }

    /// Frames (B, C, T, H, W) of token ids (B, t, h, w).
    public func decode(_ tokens: Tensor) throws -> Tensor {
        guard tokens.rank == 4 else { throw TokenizerError.invalidTokens("expected ids (B, t, h, w), got shape \(tokens.shape)") }
        guard tokens.dtype == .int64 || tokens.dtype == .int32 else {
            throw TokenizerError.invalidTokens("token ids must be integers, got \(tokens.dtype)")
        }
        if tokens.count > 0 {
            let (low, high) = (try tokens.min().item(), try tokens.max().item())
            guard low >= 0, high < Double(config.quantizer.codebookSize) else {
                throw TokenizerError.invalidTokens("ids must be in 0..<\(config.quantizer.codebookSize), found \(Int(low))...\(Int(high))")
            }
        }
        return try withNoGrad {
            let latents = try quantizer.codes(tokens.to(device)).to(store.dtype)
            guard let tiling, let (rows, columns) = try tileSpans(h: latents.size(3), w: latents.size(4), tiling) else { return try decode(latents: latents) }
            return try decodeTiles(latents: latents, rows: rows, columns: columns, overlap: tiling.overlap)
        }
    }

    /// Frames of quantized latents (differentiable; for training).
    public func decode(latents: Tensor) throws -> Tensor { try perFrame(latents) { try decoder($0) } }

    /// encode → quantize → decode in one differentiable pass, for training and evaluation.
    public func reconstruct(_ frames: Tensor, step: Int = 0, losses: Bool = true) throws -> (frames: Tensor, quantization: Quantization) {
        let q = try quantize(latents(frames), step: step, losses: losses)
        return (try decode(latents: q.latents), q)
    }

    // MARK: size and cost

    /// Trainable parameters of encoder, quantizer (VQ codebook) and decoder.
    public var parameterCount: Int { store.parameterCount }

    /// FLOPs (2 per multiply-add of convolutions and linear layers) to encode and to decode one clip
    /// of `frames` × `height` × `width`, counted by running this model's code with convolutions dry.
    public func flops(frames: Int, height: Int, width: Int) throws -> (encode: Int, decode: Int) {
        let input = try Tensor.zeros([1, config.imageChannels, frames, height, width], device: device)
        return try withNoGrad {
            let (z, encode) = try FlopCounter.count(dryRun: true) { try encoder(validated(input)) }
            let (_, decode) = try FlopCounter.count(dryRun: true) { try decoder(z) }
            return (encode, decode)
        }
    }
}
