// The masked token model's shape: vocabulary and its factorization, token grid, conditioning and
// transformer size. Codable, so it travels in checkpoints and config files.
import Foundation
import Torch

public struct GeneratorConfig: Codable, Equatable, Sendable {
    /// masked | autoregressive | diffusion (GenerativeNetwork.swift): one backbone, three objectives.
    public var objective = GeneratorObjective.masked
    /// Bits of a token id: the tokenizer's vocabulary is 2^bits.
    public var vocabularyBits = 10
    /// How a token splits into sub-tokens, low bits first (sums to vocabularyBits), e.g. [9, 9] or [6, 12]
    /// for 2^18; [10] for no factorization.
    public var factorBits = [10]
    /// The latent grid (frames, height, width) of one example.
    public var grid = [1, 8, 8]
    /// Number of classes for class-conditional generation; 0 for none.
    public var classes = 0
    /// Latent frames given as condition (frame prediction): never masked, never predicted.
    public var conditionFrames = 0
    public var width = 256
    public var depth = 4
    public var heads = 4
    public var mlpRatio = 4
    public var dropout = 0.1
    /// Probability of replacing the class with the null class in training (classifier-free guidance).
    public var conditionDropout = 0.1
    public var labelSmoothing = 0.1
    /// Channels of the tokenizer's continuous latents (objective diffusion only; taken from the tokenizer).
    public var latentChannels = 0

    public init() {}

    public var tokensPerExample: Int { grid.reduce(1, *) }
    /// An unconditional generator of whole clips: more than one latent frame, none given, no classes.
    public var generatesUnconditionalVideo: Bool { conditionFrames == 0 && classes == 0 && (grid.first ?? 1) > 1 }
    public var givenTokens: Int { conditionFrames * grid[1] * grid[2] }
    /// Positions the model fills: all but the given frames.
    public var generatedTokens: Int { tokensPerExample - givenTokens }

    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws { if !ok { throw GeneratorError(message) } }
        try require(vocabularyBits >= 1 && vocabularyBits <= 30, "vocabularyBits must be 1...30, got \(vocabularyBits)")
        try require(!factorBits.isEmpty && factorBits.allSatisfy { $0 >= 1 } && (try? Checked.sum(factorBits, "factorBits")) == vocabularyBits,
                    "factorBits \(factorBits) must be positive and sum to vocabularyBits \(vocabularyBits)")
        try require(factorBits.allSatisfy { $0 <= 16 }, "each factor must have at most 16 bits (an output head of 2^16), got \(factorBits)")
        try require(grid.count == 3 && grid.allSatisfy { $0 >= 1 }, "grid must be [frames, height, width], got \(grid)")
        try require(classes >= 0, "classes must be 0 (unconditional) or more")
        try require(conditionFrames >= 0 && conditionFrames < grid[0], "conditionFrames must be below the grid's \(grid[0]) frames")
        try require(width > 0 && heads > 0 && width % heads == 0, "width \(width) must be a positive multiple of heads \(heads)")
        try require(depth >= 1 && mlpRatio >= 1, "depth and mlpRatio must be at least 1")
        try require((0..<1).contains(dropout) && (0...1).contains(conditionDropout) && (0..<1).contains(labelSmoothing),
                    "dropout and labelSmoothing must be in [0, 1), conditionDropout in [0, 1]")
        try validateObjective()
    }
}

public struct GeneratorError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension GeneratorConfig {
    /// Whether `other` is a network of the same shape, whatever its training settings (dropout,
    /// condition dropout, label smoothing): what a warm start needs.
    public func hasNetwork(of other: GeneratorConfig) -> Bool {
        var o = other
        (o.dropout, o.conditionDropout, o.labelSmoothing) = (dropout, conditionDropout, labelSmoothing)
        return o == self
    }

    /// The config as a generator file records it: JSON with sorted keys.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// The config a generator file records, over the defaults: a file written before a setting
    /// existed (objective, latentChannels) takes its default; a setting this version does not know
    /// is an error.
    public static func saved(_ json: String) throws -> GeneratorConfig {
        let given = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] ?? [:]
        var merged = try JSONSerialization.jsonObject(with: JSONEncoder().encode(GeneratorConfig())) as? [String: Any] ?? [:]
        for (key, value) in given {
            guard merged[key] != nil else {
                throw GeneratorError("unknown setting '\(key)'; settings here: \(merged.keys.sorted().joined(separator: ", "))")
            }
            merged[key] = value
        }
        return try JSONDecoder().decode(GeneratorConfig.self, from: JSONSerialization.data(withJSONObject: merged))
    }
}
