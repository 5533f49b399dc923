// The video classifier's shape: what it reads (token ids through their LFQ bits or factorized
// sub-token embeddings, raw pixel tubelets on the same grid, or frozen I3D features), the grid,
// the classes and the transformer size. Codable, so it travels in checkpoints and config files.
import Foundation
import NN
import Torch

public enum ClassifierInput: String, ConfigChoice {
    /// Token ids, each position's LFQ bits (±1) projected to the width.
    case bits
    /// Token ids as factorized sub-tokens, their embeddings summed (the generator's input layer).
    case factors
    /// Raw pixels: tubelets of the clip on the token grid, projected (ViViT's tubelet embedding).
    case pixels
    /// Frozen I3D Kinetics-400 features (1024, pooled over space and time): a linear probe.
    case features
}

public struct ClassifierConfig: Codable, Equatable, Sendable {
    public var input = ClassifierInput.bits
    /// Bits of a token id, and their split into sub-tokens (factors input), low bits first.
    public var vocabularyBits = 18
    public var factorBits = [9, 9]
    /// The latent grid (frames, height, width) of one clip: tokens, or tubelets of pixels.
    public var grid = [5, 8, 8]
    /// The clips the tokenizer takes (pixels input: the tubelets cut from them).
    public var channels = 3
    public var clipFrames = 17
    public var resolution = 64
    public var featureDimensions = 1024
    public var classes = 2
    public var width = 128
    public var depth = 4
    public var heads = 4
    public var mlpRatio = 4
    public var dropout = 0.1
    public var labelSmoothing = 0.1

    public init() {}

    public var tokensPerClip: Int { grid.reduce(1, *) }

    /// Frames, rows and columns of pixels per tubelet: the first latent frame is the clip's first
    /// frame alone (the causal tokenizer's), repeated to a tubelet's length.
    public var tubelet: [Int] {
        let frames = grid[0] > 1 ? (clipFrames - 1) / (grid[0] - 1) : 1
        return [frames, resolution / grid[1], resolution / grid[2]]
    }

    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws { if !ok { throw ClassifierError(message) } }
        try require(classes >= 2, "classes must be at least 2, got \(classes)")
        try require((1...30).contains(vocabularyBits), "vocabularyBits must be 1...30, got \(vocabularyBits)")
        try require(!factorBits.isEmpty && factorBits.allSatisfy { (1...16).contains($0) } && (try? Checked.sum(factorBits, "factorBits")) == vocabularyBits,
                    "factorBits \(factorBits) must each be 1...16 and sum to vocabularyBits \(vocabularyBits)")
        try require(grid.count == 3 && grid.allSatisfy { $0 >= 1 }, "grid must be [frames, height, width], got \(grid)")
        try require(width > 0 && heads > 0 && width % heads == 0, "width \(width) must be a positive multiple of heads \(heads)")
        try require(depth >= 1 && mlpRatio >= 1, "depth and mlpRatio must be at least 1")
        try require((0..<1).contains(dropout) && (0..<1).contains(labelSmoothing), "dropout and labelSmoothing must be in [0, 1)")
        try require(featureDimensions >= 1, "featureDimensions must be positive")
        if input == .pixels {
            try require([1, 3].contains(channels), "channels must be 1 or 3, got \(channels)")
            try require(resolution % grid[1] == 0 && resolution % grid[2] == 0, "resolution \(resolution) must divide into the grid's \(grid[1])x\(grid[2])")
            try require(grid[0] == 1 ? clipFrames == 1 : (clipFrames - 1) % (grid[0] - 1) == 0 && clipFrames > 1,
                        "clipFrames \(clipFrames) must be 1 + a multiple of the grid's \(grid[0]) − 1 frames")
        }
    }
}

public struct ClassifierError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
