// The distributions a clip's tokens are coded under. Both sides of the codec walk the same schedule
// through the same code: the encoder with every id known, the decoder learning each as it decodes it,
// so the tables they build are the same. Two priors: adaptive per-factor frequencies (the baseline,
// no model), and the masked transformer of the generator (MaskGIT, MAGVIT-v2 §3.2) asked, at each
// step, for the distribution of every sub-token of the step given all ids known so far.
import Foundation
import GeneratorModel
import Tokenizer
import Torch

public struct CompressionError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One clip's ids, t × h × w row-major; −1 where not known yet.
public struct ClipIds: Sendable, Equatable {
    public let t: Int, h: Int, w: Int
    public var ids: [Int]

    /// A clip with no id known yet.
    public init(t: Int, h: Int, w: Int) {
        (self.t, self.h, self.w) = (t, h, w)
        ids = [Int](repeating: -1, count: t * h * w)
    }
}

/// Encodes a known symbol or decodes the next one: the schedule's walk is the same on both sides.
public protocol SymbolCoder {
    mutating func code(_ symbol: Int, _ table: FrequencyTable) throws -> Int
}

public struct EncodingCoder: SymbolCoder {
    public var encoder = RangeEncoder()
    public init() {}
    public mutating func code(_ symbol: Int, _ table: FrequencyTable) throws -> Int {
        encoder.encode(symbol, table)
        return symbol
    }
}

public struct DecodingCoder: SymbolCoder {
    public var decoder: RangeDecoder
    public init(_ bytes: [UInt8]) { decoder = RangeDecoder(bytes) }
    public mutating func code(_ symbol: Int, _ table: FrequencyTable) throws -> Int {
        let s = decoder.decode(table)
        // A complete stream is read to its last byte and no further (the encoder's 5-byte flush covers
        // the decoder's lookahead); a few bytes past the end are left to the ids' CRC, more mean a cut stream.
        if decoder.overrun > 5 { throw CompressionError("the stream ends before its last token (truncated)") }
        return s
    }
}

/// What a stream was coded with, as its header records it.
public struct PriorIdentity: Codable, Equatable, Sendable {
    public static let adaptiveKind = "adaptive", maskedKind = "masked-transformer"
    /// `adaptive` or `masked-transformer`.
    public var kind: String
    /// Bits of each sub-token, low bits first.
    public var factorBits: [Int]
    /// The model's file name and the SHA-256 of its weights (masked-transformer only).
    public var name: String?
    public var weights: String?

    public init(kind: String, factorBits: [Int], name: String? = nil, weights: String? = nil) {
        (self.kind, self.factorBits, self.name, self.weights) = (kind, factorBits, name, weights)
    }

    /// The same model (the file's name may differ).
    public func sameModel(as other: PriorIdentity) -> Bool {
        kind == other.kind && factorBits == other.factorBits && weights == other.weights
    }

    /// How a message names it: 'file' (weights 0123456789ab), or the adaptive prior.
    public var described: String {
        name.map { "'\($0)' (weights \(weights?.prefix(12) ?? ""))" } ?? "the \(kind) prior"
    }
}

public protocol TokenPrior: AnyObject {
    var identity: PriorIdentity { get }
    /// Codes one schedule step: the ids at `positions`, unknown in the clip (the decoder's view), are
    /// `values` when encoding (ignored when decoding); sets them in the clip.
    func code<C: SymbolCoder>(_ clip: inout ClipIds, positions: [Int], values: [Int], coder: inout C) throws
    /// Sets the ids at `positions` to their most probable values given the clip (a step not sent).
    func fill(_ clip: inout ClipIds, positions: [Int]) throws
}

/// The baseline: adaptive frequencies per factor, over the whole stream.
public final class AdaptivePrior: TokenPrior {
    public let identity: PriorIdentity
    let factorization: TokenFactorization
    var tables: [AdaptiveFrequencies]

    /// Factors of at most 9 bits (an 18-bit id: 9 + 9).
    public static func factorBits(forBits bits: Int) -> [Int] {
        let count = (bits + 8) / 9
        return (0..<count).map { bits / count + ($0 < bits % count ? 1 : 0) }
    }

    public init(bits: Int) {
        let split = Self.factorBits(forBits: bits)
        identity = PriorIdentity(kind: PriorIdentity.adaptiveKind, factorBits: split)
        factorization = TokenFactorization(bits: split)
        tables = factorization.sizes.map { AdaptiveFrequencies(size: $0) }
    }

    public func code<C: SymbolCoder>(_ clip: inout ClipIds, positions: [Int], values: [Int], coder: inout C) throws {
        for (p, id) in zip(positions, values) {
            var sub = factorization.split(id)
            for i in sub.indices {
                sub[i] = try coder.code(sub[i], tables[i].table)
                tables[i].update(sub[i])
            }
            clip.ids[p] = factorization.join(sub)
        }
    }

    public func fill(_ clip: inout ClipIds, positions: [Int]) throws {
        throw CompressionError("sending part of the tokens needs an entropy model to fill the rest (--prior)")
    }
}

/// The masked transformer as a conditional prior. The clip's token grid is cut into tiles of the
/// model's grid (the last row and column of tiles shifted back to end at the edge, so they overlap
/// their neighbours instead of running past it); tiles are sequences of a batch (at most
/// `tilesPerBatch`, so memory is bounded whatever the frame size), unknown ids masked; a position is
/// predicted by the tile that owns it (the unshifted one), and a step's positions are coded tile by tile.
public final class MaskedPrior: TokenPrior {
    public let identity: PriorIdentity
    public let model: MaskedTransformer
    public static let tilesPerBatch = 64
    var factorization: TokenFactorization { model.factorization }

    public init(model: MaskedTransformer, name: String) throws {
        self.model = model
        identity = PriorIdentity(kind: PriorIdentity.maskedKind, factorBits: model.config.factorBits, name: name, weights: try model.store.weightsHash())
    }

    /// The tiles of a clip and which one owns each position.
    struct Tiling {
        let ys: [Int], xs: [Int]
        let t: Int, h: Int, w: Int  // the model's grid

        init(_ clip: ClipIds, grid: [Int]) throws {
            (t, h, w) = (grid[0], grid[1], grid[2])
            guard clip.t <= t else { throw CompressionError("the entropy model's grid has \(t) latent frames; this clip has \(clip.t)") }
            (ys, xs) = (TileLayout.origins(clip.h, tile: h, step: h), TileLayout.origins(clip.w, tile: w, step: w))
        }

        var length: Int { t * h * w }

        /// The owning tile of clip position p, and p's index inside it.
        func locate(_ p: Int, in clip: ClipIds) -> (tile: Int, index: Int) {
            let (f, y, x) = (p / (clip.h * clip.w), p / clip.w % clip.h, p % clip.w)
            let (iy, ix) = (Swift.min(y / h, ys.count - 1), Swift.min(x / w, xs.count - 1))
            return (iy * xs.count + ix, (f * h + y - ys[iy]) * w + x - xs[ix])
        }
    }

    /// Per factor, (rows.count, 2^bᵢ) float32 probabilities, or the most probable values when
    /// `argmax`, at `rows` (tile's place in `tiles` × length + index) given the clip's known ids.
    private func predict(_ clip: ClipIds, _ tiling: Tiling, tiles: [Int], rows: [Int64], argmax: Bool) throws -> [[Float]] {
        let length = tiling.length, batch = tiles.count
        var inputs = factorization.sizes.indices.map { [Int64](repeating: Int64(model.maskID($0)), count: batch * length) }
        for (b, tile) in tiles.enumerated() {
            let (oy, ox) = (tiling.ys[tile / tiling.xs.count], tiling.xs[tile % tiling.xs.count])
            for f in 0..<clip.t {
                for y in 0..<Swift.min(tiling.h, clip.h - oy) {
                    for x in 0..<Swift.min(tiling.w, clip.w - ox) {
                        let id = clip.ids[(f * clip.h + oy + y) * clip.w + ox + x]
                        guard id >= 0 else { continue }
                        let values = factorization.split(id)
                        for i in values.indices { inputs[i][b * length + (f * tiling.h + y) * tiling.w + x] = Int64(values[i]) }
                    }
                }
            }
        }
        return try withNoGrad {
            let logits = try model.logits(inputs.map { try Tensor($0, shape: [batch, length]) })
            let index = try Tensor(rows, device: model.device)
            return try zip(logits, factorization.sizes).map { l, size in
                let picked = try l.reshape([batch * length, size]).indexSelect(0, index).to(.float32)
                return argmax ? try picked.argmax(dim: -1).to(.cpu).toArray(Int64.self).map(Float.init)
                              : try picked.softmax(dim: -1).to(.cpu).toArray(Float.self)
            }
        }
    }

    /// The step's positions (as indices into `positions`) in coding order, batch by batch of tiles:
    /// calls `body` with each batch's positions and their predictions.
    private func forEachBatch(_ clip: ClipIds, positions: [Int], argmax: Bool, _ body: ([Int], [[Float]]) throws -> Void) throws {
        let tiling = try Tiling(clip, grid: model.config.grid)
        var byTile: [Int: [(k: Int, index: Int)]] = [:]
        for (k, p) in positions.enumerated() {
            let (tile, index) = tiling.locate(p, in: clip)
            byTile[tile, default: []].append((k, index))
        }
        let tiles = byTile.keys.sorted()
        for first in stride(from: 0, to: tiles.count, by: Self.tilesPerBatch) {
            let batch = Array(tiles[first..<Swift.min(first + Self.tilesPerBatch, tiles.count)])
            var ks: [Int] = [], rows: [Int64] = []
            for (b, tile) in batch.enumerated() {
                for (k, index) in byTile[tile]! {
                    ks.append(k)
                    rows.append(Int64(b * tiling.length + index))
                }
            }
            try body(ks, try predict(clip, tiling, tiles: batch, rows: rows, argmax: argmax))
        }
    }

    public func code<C: SymbolCoder>(_ clip: inout ClipIds, positions: [Int], values: [Int], coder: inout C) throws {
        let sizes = factorization.sizes
        var decoded: [(p: Int, id: Int)] = []
        try forEachBatch(clip, positions: positions, argmax: false) { ks, probabilities in
            for (row, k) in ks.enumerated() {
                var sub = factorization.split(values[k])
                for i in sub.indices {
                    let table = probabilities[i].withUnsafeBufferPointer { buffer in
                        FrequencyTable.quantized(UnsafeBufferPointer(rebasing: buffer[(row * sizes[i])..<((row + 1) * sizes[i])]))
                    }
                    sub[i] = try coder.code(sub[i], table)
                }
                decoded.append((positions[k], factorization.join(sub)))
            }
        }
        // Set after the step: every position of a step is predicted from the same context.
        for (p, id) in decoded { clip.ids[p] = id }
    }

    public func fill(_ clip: inout ClipIds, positions: [Int]) throws {
        var filled: [(p: Int, id: Int)] = []
        try forEachBatch(clip, positions: positions, argmax: true) { ks, best in
            for (row, k) in ks.enumerated() { filled.append((positions[k], factorization.join(best.map { Int($0[row]) }))) }
        }
        for (p, id) in filled { clip.ids[p] = id }
    }
}

extension MaskedPrior {
    /// The masked transformer of a generator file (`magvit train-generator`) as the prior of
    /// `tokenizer`'s tokens: refused when it was trained on another tokenizer's.
    public convenience init(contentsOf url: URL, tokenizerWeights: String, bits: Int, device: Device = .cpu) throws {
        let (model, metadata) = try GeneratorCheckpoint.model(url, device: device)
        if let mismatch = Self.mismatch(model, metadata, tokenizerWeights: tokenizerWeights, bits: bits) { throw CompressionError("\(url.path) \(mismatch)") }
        try self.init(model: model, name: url.lastPathComponent)
    }

    /// The prior of a generator file when it models `tokenizer`'s tokens; nil when it models
    /// another tokenizer's (the shipped prior, passed over for the baseline by a tokenizer of one's
    /// own). A file that cannot be read as a generator is an error.
    public static func ifTrained(on tokenizerWeights: String, bits: Int, at url: URL, device: Device = .cpu) throws -> MaskedPrior? {
        let (model, metadata) = try GeneratorCheckpoint.model(url, device: device)
        guard mismatch(model, metadata, tokenizerWeights: tokenizerWeights, bits: bits) == nil else { return nil }
        return try MaskedPrior(model: model, name: url.lastPathComponent)
    }

    /// Why a generator cannot code a tokenizer's tokens (another tokenizer's, another size, classes); nil when it can.
    static func mismatch(_ model: MaskedTransformer, _ metadata: [String: String], tokenizerWeights: String, bits: Int) -> String? {
        if let trained = metadata["tokenizer_hash"], trained != tokenizerWeights {
            return "was trained on the tokens of another tokenizer (weights \(trained.prefix(12)), this one \(tokenizerWeights.prefix(12)))"
        }
        guard model.config.vocabularyBits == bits, model.config.classes == 0 else {
            return "models \(model.config.vocabularyBits)-bit tokens\(model.config.classes > 0 ? " with classes" : ""); the tokenizer's are \(bits)-bit, unconditional"
        }
        return nil
    }
}
