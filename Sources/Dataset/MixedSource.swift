// Several clip sources as one training set (`data.kind: mixture`): each clip of a batch comes from a
// source drawn by weight, e.g. real videos and virtual-camera moves over photos at a stated ratio.
import Foundation
import Harness
import Torch

/// One part of a mixture (`data.sources`): a kind, its files and its weight. Every other data setting
/// (strides, crops, flips, pan) is the data section's.
public struct MixturePart: Codable, Sendable, Equatable {
    public var kind: DataKind
    public var train: [String]
    public var eval: [String]
    public var weight: Double

    public init(kind: DataKind, train: [String], eval: [String] = [], weight: Double = 1) {
        self.kind = kind
        self.train = train
        self.eval = eval
        self.weight = weight
    }

    enum CodingKeys: String, CodingKey { case kind, train, eval, weight }

    public init(from decoder: Decoder) throws {
        let keys = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
        if let unknown = keys.first(where: { CodingKeys(rawValue: $0) == nil }) {
            throw ConfigError("data.sources or data.images: unknown setting '\(unknown)' in a part; settings of a part: kind, train, eval, weight")
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(DataKind.self, forKey: .kind)
        train = try c.decodeIfPresent([String].self, forKey: .train) ?? []
        eval = try c.decodeIfPresent([String].self, forKey: .eval) ?? []
        weight = try c.decodeIfPresent(Double.self, forKey: .weight) ?? 1
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

/// Clips drawn from the parts by weight; the held-out set is the parts' held-out sets in turn.
public final class MixedSource: ClipSource {
    let parts: [any ClipSource]
    let weights: [Double]
    let config: DataConfig
    let seed: UInt64

    public convenience init(config: DataConfig, shape: ClipShape, seed: UInt64) throws {
        guard !config.sources.isEmpty else { throw ConfigError("data.kind mixture needs data.sources: a list of {kind, train, eval, weight}") }
        try self.init(config.sources, named: "data.sources", config: config, shape: shape, seed: seed)
    }

    /// The parts `sources` (named `name` in messages) with every other setting from `config`; image
    /// sets only when `shape` is 1-frame clips.
    public init(_ sources: [MixturePart], named name: String, config: DataConfig, shape: ClipShape, seed: UInt64) throws {
        var parts: [any ClipSource] = []
        for (i, part) in sources.enumerated() {
            guard part.kind != .mixture, shape.frames == 1 || !DataSources.holdsImages(part.kind) else {
                throw ConfigError("\(name)[\(i)]: \(part.kind) cannot be mixed into clips (videos, photo-pans and moving-digits can)")
            }
            guard part.weight > 0, part.weight.isFinite else { throw ConfigError("\(name)[\(i)]: weight must be positive, got \(part.weight)") }
            var c = config
            (c.kind, c.train, c.eval, c.sources, c.images) = (part.kind, part.train, part.eval, [], [])
            // Each part draws from its own stream of the run's seed.
            parts.append(try DataSources.make(c, shape: shape, seed: seed &+ UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15))
        }
        self.parts = parts
        let total = sources.map(\.weight).reduce(0, +)
        weights = sources.map { $0.weight / total }
        self.config = config
        self.seed = seed
    }

    public var summary: String {
        "mixture: " + zip(parts, weights).map { "\(String(format: "%.0f", $1 * 100)) % \($0.summary)" }.joined(separator: "; ")
    }
    public var count: Int? { nil }
    public var classes: Int { 0 }

    /// The part row `row` of a step's batch comes from: a pure function of (seed, step, row).
    func part(step: Int, row: Int) -> Int {
        var random = SeededRandom(seed: seed, step: step, example: row, stream: 301)
        var u = random.uniform(), i = 0
        while i < weights.count - 1, u >= weights[i] { u -= weights[i]; i += 1 }
        return i
    }

    /// How many clips of a batch of `size` each part gives at `step`.
    func counts(step: Int, size: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: parts.count)
        for row in 0..<size { counts[part(step: step, row: row)] += 1 }
        return counts
    }

    public func batch(step: Int, size: Int) throws -> Clips { try batch(step: step, size: size, rows: Array(0..<size)) }

    /// Each row made by its part as that part's own row of the step, so a rank makes only the clips of
    /// its rows (parts that are not sharded make their whole batch and keep the rows).
    public func batch(step: Int, size: Int, rows: [Int]) throws -> Clips {
        let drawn = rows.map { part(step: step, row: $0) }
        var pieces: [Tensor] = [], order: [Int] = []  // order[k]: the position in `rows` of the pieces' k-th clip
        for (p, source) in parts.enumerated() {
            let mine = rows.indices.filter { drawn[$0] == p }
            guard !mine.isEmpty else { continue }
            pieces.append(try source.batch(step: step, size: size, rows: mine.map { rows[$0] }).clips)
            order += mine
        }
        let clips = try concatenate(pieces, dim: 0)
        guard order != Array(rows.indices) else { return Clips(clips: clips) }
        var back = [Int64](repeating: 0, count: rows.count)
        for (k, position) in order.enumerated() { back[position] = Int64(k) }
        return Clips(clips: try clips.indexSelect(0, Tensor(back, shape: [rows.count])))
    }

    /// Up to `limit` held-out clips, shared out among the parts that have any.
    public func heldOut(limit: Int) throws -> Clips? {
        let sets = try parts.compactMap { try $0.heldOut(limit: limit)?.clips }
        guard !sets.isEmpty else { return nil }
        let share = Swift.max(1, limit / sets.count)
        return Clips(clips: try concatenate(sets.map { try $0.narrow(0, start: 0, length: Swift.min(share, $0.size(0))) }, dim: 0))
    }
}
