// Tokenizer configurations with the paper's and Open-MAGVIT2's presets (MAGVIT-v2 §3, REFERENCE.md §2).
import Foundation
import NN

/// How a causal convolution fills the frames before the first one.
public enum TemporalPadding: String, Codable, Sendable {
    case zeros, replicate
}

/// Lookup-free quantization's settings (MAGVIT-v2 §3.1, REFERENCE.md §1).
public struct LFQConfig: Codable, Sendable, Equatable {
    /// Weight of the entropy penalty E[H(p(c|z))] − γ·H(E[p(c|z)]).
    public var entropyWeight: Double = 0.1
    /// γ, the weight of the codebook (batch) entropy inside the penalty.
    public var diversityGamma: Double = 1
    /// T in p(c|z) = softmax(2 z·c / T).
    public var temperature: Double = 0.01
    /// The codebook entropy is exact up to this many bits; above, bits are split into groups of this
    /// size and the groups' entropies summed, so nothing of size tokens × 2^bits is ever allocated.
    public var entropyGroupBits: Int = 9
    /// Entropy weight multiplier 1 + r·max(0, 1 − step/S) (official MAGVIT code; r = 0 disables).
    public var annealRatio: Double = 3
    public var annealSteps: Int = 2000

    public init() {}
}

/// Vector quantization's settings (VQ-VAE).
public struct VQConfig: Codable, Sendable, Equatable {
    /// Width of the codes (0: the number of bits, as LFQ).
    public var latentChannels: Int = 0
    /// Weight of the codebook loss ‖sg(z) − e‖².
    public var codebookWeight: Double = 1

    public init() {}
}

/// The quantizer: its kind and size, the commitment weight every kind has, and each kind's own
/// settings (`lfq`, `vq`, and a section of numbers for each kind registered with `Quantizers.register`;
/// only the section of `kind` is used).
public struct QuantizerConfig: Codable, Sendable, Equatable {
    public var kind: QuantizerKind = .lfq
    /// Bits per token: the vocabulary has 2^bits codes. For VQ, log2 of the codebook size.
    public var bits: Int = 18
    /// Weight of mean((z − sg(q))²).
    public var commitmentWeight: Double = 0.25
    public var lfq = LFQConfig()
    public var vq = VQConfig()
    /// The settings of the registered kinds by kind, over their registered defaults.
    public var sections: [String: [String: Double]] = [:]

    /// The settings of a registered `kind`: its registered defaults with this config's values over them.
    public func settings(of kind: QuantizerKind) -> [String: Double] {
        (Quantizers.sections[kind.rawValue] ?? [:]).merging(sections[kind.rawValue] ?? [:]) { $1 }
    }

    public init(kind: QuantizerKind = .lfq, bits: Int = 18) {
        self.kind = kind
        self.bits = bits
    }

    /// How a token model splits a token into sub-tokens, low bits first: whole up to 12 bits (an
    /// output head of 4,096), otherwise two halves (MAGVIT-v2 §3.2's factorized heads).
    public var tokenFactors: [Int] { bits <= 12 ? [bits] : [bits / 2, bits - bits / 2] }

    public var codebookSize: Int { 1 << bits }

    /// Latent channels per token: one per bit for LFQ; VQ's code width.
    public var latentChannels: Int { kind == .vq && vq.latentChannels > 0 ? vq.latentChannels : bits }

    private enum CodingKeys: String, CodingKey {
        case kind, bits, commitmentWeight, lfq, vq
        // The flat layout of checkpoints written before the per-kind sections.
        case latentChannels, entropyWeight, diversityGamma, temperature, entropyGroupBits, annealRatio, annealSteps, codebookWeight
    }

    public init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decodeIfPresent(QuantizerKind.self, forKey: .kind) ?? .lfq
        bits = try c.decodeIfPresent(Int.self, forKey: .bits) ?? 18
        commitmentWeight = try c.decodeIfPresent(Double.self, forKey: .commitmentWeight) ?? 0.25
        lfq = try c.decodeIfPresent(LFQConfig.self, forKey: .lfq) ?? LFQConfig()
        vq = try c.decodeIfPresent(VQConfig.self, forKey: .vq) ?? VQConfig()
        if !c.contains(.lfq), !c.contains(.vq) {
            lfq.entropyWeight = try c.decodeIfPresent(Double.self, forKey: .entropyWeight) ?? lfq.entropyWeight
            lfq.diversityGamma = try c.decodeIfPresent(Double.self, forKey: .diversityGamma) ?? lfq.diversityGamma
            lfq.temperature = try c.decodeIfPresent(Double.self, forKey: .temperature) ?? lfq.temperature
            lfq.entropyGroupBits = try c.decodeIfPresent(Int.self, forKey: .entropyGroupBits) ?? lfq.entropyGroupBits
            lfq.annealRatio = try c.decodeIfPresent(Double.self, forKey: .annealRatio) ?? lfq.annealRatio
            lfq.annealSteps = try c.decodeIfPresent(Int.self, forKey: .annealSteps) ?? lfq.annealSteps
            vq.codebookWeight = try c.decodeIfPresent(Double.self, forKey: .codebookWeight) ?? vq.codebookWeight
            let width = try c.decodeIfPresent(Int.self, forKey: .latentChannels) ?? bits
            vq.latentChannels = width == bits ? 0 : width
        }
        let named = try decoder.container(keyedBy: SectionKey.self)
        for kind in Quantizers.sections.keys {
            // Kept only where it differs from the registered defaults, so that a config reads back equal.
            if let section = try named.decodeIfPresent([String: Double].self, forKey: SectionKey(kind)), section != Quantizers.sections[kind] {
                sections[kind] = section
            }
        }
    }

    /// A registered kind's section, by its name.
    private struct SectionKey: CodingKey {
        let stringValue: String
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Swift.Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(bits, forKey: .bits)
        try c.encode(commitmentWeight, forKey: .commitmentWeight)
        try c.encode(lfq, forKey: .lfq)
        try c.encode(vq, forKey: .vq)
        var named = encoder.container(keyedBy: SectionKey.self)
        // A registered kind's section: its own, and every one in the defaults a config file is laid over.
        let every = encoder.userInfo[.everySetting] as? Bool == true
        for kind in Quantizers.sections.keys.sorted() where every || kind == self.kind.rawValue {
            try named.encode(settings(of: QuantizerKind(rawValue: kind)), forKey: SectionKey(kind))
        }
    }
}

/// The whole tokenizer: encoder, quantizer and decoder shapes.
public struct TokenizerConfig: Codable, Sendable, Equatable {
    /// A short name for logs and token files.
    public var name: String
    public var imageChannels: Int = 3
    /// Channels of the first level; level i has baseChannels · channelMultipliers[i].
    public var baseChannels: Int = 128
    public var channelMultipliers: [Int] = [1, 2, 2, 4]
    public var residualBlocks: Int = 4
    /// Groups of every group norm.
    public var normGroups: Int = 32
    /// How many of the last downsampling steps also halve time (the first frame is kept alone).
    public var temporalDownsamplings: Int = 0
    /// Temporal kernel size of the causal convolutions (1 makes a per-frame image model).
    public var temporalKernel: Int = 3
    public var temporalPadding: TemporalPadding = .zeros
    /// A group norm without affine parameters right before quantization (VidTok found it helps LFQ).
    public var normalizeLatents: Bool = false
    public var quantizer = QuantizerConfig()
    /// The clip length the model is trained on: 1 for images, 4k+1 frames for videos.
    public var clipFrames: Int = 1
    /// The frame size the preset is made for (any multiple of `spatialFactor` works).
    public var resolution: Int = 128

    public init(name: String) { self.name = name }

    /// Spatial downsampling factor: 2 per level but the last.
    public var spatialFactor: Int { 1 << (channelMultipliers.count - 1) }
    /// Temporal downsampling factor (after the first frame).
    public var temporalFactor: Int { 1 << temporalDownsamplings }

    /// The token grid (t, h, w) for `frames` frames of height × width.
    public func tokenGrid(frames: Int, height: Int, width: Int) -> (t: Int, h: Int, w: Int) {
        (1 + (frames - 1) / temporalFactor, height / spatialFactor, width / spatialFactor)
    }

    /// The token grid [t, h, w] of one clip the model takes.
    public var latentGrid: [Int] {
        let g = tokenGrid(frames: clipFrames, height: resolution, width: resolution)
        return [g.t, g.h, g.w]
    }

    /// Checks the fields against each other; throws with what is wrong.
    public func validate() throws {
        func fail(_ message: String) -> TokenizerError { .invalidConfig("\(name): \(message)") }
        guard (1...8).contains(channelMultipliers.count), channelMultipliers.allSatisfy({ (1...64).contains($0) }) else {
            throw fail("channelMultipliers must be 1 to 8 levels of 1...64, got \(channelMultipliers)")
        }
        guard (1...4096).contains(baseChannels), (0...64).contains(residualBlocks), (1...16).contains(imageChannels), normGroups >= 1 else {
            throw fail("baseChannels (1...4096), residualBlocks (0...64), imageChannels (1...16) and normGroups (≥ 1) are out of range")
        }
        for m in channelMultipliers where (baseChannels * m) % normGroups != 0 {
            throw fail("\(baseChannels * m) channels are not divisible into \(normGroups) norm groups")
        }
        guard temporalDownsamplings >= 0, temporalDownsamplings <= channelMultipliers.count - 1 else {
            throw fail("temporalDownsamplings must be between 0 and \(channelMultipliers.count - 1), got \(temporalDownsamplings)")
        }
        guard temporalKernel >= 1 else { throw fail("temporalKernel must be at least 1") }
        guard resolution >= spatialFactor, resolution <= 1 << 16, resolution % spatialFactor == 0 else {
            throw fail("resolution must be a positive multiple of the spatial factor \(spatialFactor) up to 65536, got \(resolution)")
        }
        guard clipFrames >= 1, (clipFrames - 1) % temporalFactor == 0 else {
            throw fail("clipFrames must be 1 + a multiple of \(temporalFactor), got \(clipFrames)")
        }
        let q = quantizer
        guard q.bits >= 1, q.bits <= 30 else { throw fail("quantizer bits must be 1...30, got \(q.bits)") }
        guard q.lfq.entropyGroupBits >= 1, q.lfq.temperature > 0 else { throw fail("quantizer.lfq.entropyGroupBits and temperature must be positive") }
        guard q.vq.latentChannels >= 0 else { throw fail("quantizer.vq.latentChannels must not be negative (0: the number of bits)") }
    }
}

extension TokenizerConfig {
    /// A preset: the defaults, named `name`, with `changes` made to them.
    init(name: String, _ changes: (inout TokenizerConfig) -> Void) {
        self.init(name: name)
        changes(&self)
    }

    /// MAGVIT-v2's video tokenizer: 17×128×128 → 5×16×16 tokens, 2^18 codes (first frame alone,
    /// then 4× temporal and 8× spatial compression).
    public static var videoPaper: TokenizerConfig {
        TokenizerConfig(name: "video-128") { ($0.temporalDownsamplings, $0.clipFrames, $0.resolution) = (2, 17, 128) }
    }

    /// Open-MAGVIT2's 256×256 → 16×16 image tokenizer (2^18 codes).
    public static var image256: TokenizerConfig {
        TokenizerConfig(name: "image-256") { ($0.channelMultipliers, $0.temporalKernel, $0.resolution) = ([1, 1, 2, 2, 4], 1, 256) }
    }

    /// Open-MAGVIT2's 128×128 → 16×16 image tokenizer (2^18 codes).
    public static var image128: TokenizerConfig {
        TokenizerConfig(name: "image-128") { ($0.temporalKernel, $0.resolution) = (1, 128) }
    }

    /// A small video tokenizer with the paper's vocabulary: 17×64×64 → 5×8×8 tokens, 2^18 codes.
    public static var videoSmall: TokenizerConfig {
        TokenizerConfig(name: "video-small") {
            ($0.baseChannels, $0.residualBlocks, $0.normGroups) = (32, 1, 8)
            ($0.temporalDownsamplings, $0.clipFrames, $0.resolution) = (2, 17, 64)
        }
    }

    /// An image tokenizer for 32×32 images (Fashion-MNIST padded) → 8×8 tokens, 2^10 codes.
    public static var imageSmall: TokenizerConfig {
        TokenizerConfig(name: "image-small") {
            ($0.imageChannels, $0.baseChannels, $0.channelMultipliers, $0.residualBlocks, $0.normGroups) = (1, 32, [1, 2, 2], 1, 8)
            ($0.temporalKernel, $0.resolution, $0.quantizer) = (1, 32, QuantizerConfig(kind: .lfq, bits: 10))
        }
    }

    /// A tiny model for tests: 16×16 RGB, 5 frames → 2×4×4 tokens, 2^6 codes.
    public static var tiny: TokenizerConfig {
        TokenizerConfig(name: "tiny") {
            ($0.baseChannels, $0.channelMultipliers, $0.residualBlocks, $0.normGroups) = (8, [1, 2, 2], 1, 4)
            ($0.temporalDownsamplings, $0.clipFrames, $0.resolution, $0.quantizer) = (1, 5, 16, QuantizerConfig(kind: .lfq, bits: 6))
        }
    }

    /// Every named preset.
    public static var presets: [String: TokenizerConfig] {
        ["video-128": .videoPaper, "image-256": .image256, "image-128": .image128,
         "video-small": .videoSmall, "image-small": .imageSmall, "tiny": .tiny]
    }
}

/// What a user can get wrong with a tokenizer: configs, input shapes, checkpoints, token grids.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(String)
    case invalidInput(String)
    case invalidTokens(String)
    case checkpoint(String)

    public var description: String {
        switch self {
        case .invalidConfig(let m): "invalid tokenizer config: \(m)"
        case .invalidInput(let m): "invalid input: \(m)"
        case .invalidTokens(let m): "invalid tokens: \(m)"
        case .checkpoint(let m): "checkpoint: \(m)"
        }
    }
}
