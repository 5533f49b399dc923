// The sets `magvit eval` scores: folders of images or videos, single videos, token files (.mgvt,
// decoded with their tokenizer), and the 10k test images of Fashion-MNIST or MNIST, read as images
// (every frame of a video counts as one) or as fixed-length clips for FVD.
import Codec
import Crypto
import Dataset
import Foundation
import Media
import Metrics
import Tokenizer
import Torch

/// A set of images or videos named by a spec (a path, `fashion-mnist` or `mnist`), delivered as
/// (N, 3, H, W) float32 image batches in [0, 1] (grey repeated to RGB) or as (1, C, T, H, W) clips.
public struct MediaSet {
    public enum Kind {
        /// The 10k test images (N, H, W, C) uint8 of a digit set.
        case digits(ImageSet)
        /// Image or video files (and token files), in name order.
        case files([URL])
    }

    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "bmp", "webp", "ppm"]
    public static let videoExtensions: Set<String> = ["mp4", "mkv", "avi", "mov", "webm", "gif", "y4m", "mgvt"]

    public let kind: Kind
    /// The spec the set was opened with.
    public let name: String
    let tokenizer: () throws -> VideoTokenizer

    /// Opens `spec`. `tokenizer` is called only when the set holds token files (and for their signature).
    public init(_ spec: String, tokenizer: @escaping () throws -> VideoTokenizer) throws {
        name = spec
        self.tokenizer = tokenizer
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
            throw EvaluationError("\(spec): no such file or folder (expected a folder of images or videos, a video, token files, fashion-mnist, mnist or a .safetensors statistics file)")
        }
        let known = Self.imageExtensions.union(Self.videoExtensions)
        if isFolder.boolValue {
            let files = try FileManager.default.contentsOfDirectory(at: URL(fileURLWithPath: spec), includingPropertiesForKeys: nil)
                .filter { known.contains($0.pathExtension.lowercased()) }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
            guard !files.isEmpty else { throw EvaluationError("\(spec): no images or videos in it (\(known.sorted().joined(separator: ", ")))") }
            kind = .files(files)
        } else {
            let url = URL(fileURLWithPath: spec)
            guard known.contains(url.pathExtension.lowercased()) else {
                throw EvaluationError("\(spec): unknown kind of file '.\(url.pathExtension)' (images: \(Self.imageExtensions.sorted().joined(separator: ", ")); videos: \(Self.videoExtensions.sorted().joined(separator: ", ")))")
            }
            kind = .files([url])
        }
    }

    /// Images in the set when known before reading (image files and digit sets).
    public var count: Int? {
        switch kind {
        case .digits(let set): return set.count
        case .files(let files): return files.allSatisfy(Self.isImage) ? files.count : nil
        }
    }

    /// Images in the set when known before reading, at most `limit` (0: no limit).
    public func count(limit: Int) -> Int? { count.map { limit > 0 ? min($0, limit) : $0 } }

    /// A name for the statistics cache: what the set is (paths, sizes and dates of its files, the
    /// tokenizer's weights for token files) and how it was read (`network`, `limit`).
    public func signature(network: String, limit: Int) throws -> String {
        var text = "\(network)|limit \(limit)|"
        switch kind {
        case .digits(let set): text += "\(name) \(set.count)"
        case .files(let files):
            for file in files {
                let a = try FileManager.default.attributesOfItem(atPath: file.path)
                text += "\(file.standardizedFileURL.path) \(a[.size] ?? 0) \((a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)\n"
            }
            if files.contains(where: { $0.pathExtension == "mgvt" }) { text += try tokenizer().weightsHash() }
        }
        return SHA256.hash(data: Data(text.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
    }

    /// The set's images in batches (N, 3, H, W) float32 in [0, 1]: digit sets 256 at a time, videos
    /// 16 frames at a time, an image file one at a time; at most `limit` images in all (0: all).
    public func forEachImages(limit: Int, _ body: (Tensor) throws -> Void) throws {
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

    /// pool3 features (N, 2048) of the set's images, prepared for the FID Inception `batch` at a time.
    public func forEachInceptionBatch(_ inception: FIDInception, batch: Int, limit: Int, _ body: (Tensor) throws -> Void) throws {
        var batches = Batching(size: batch)
        try forEachImages(limit: limit) { images in  // (N, 3, H, W) in [0, 1]
            for i in 0..<images.size(0) {
                if let b = try batches.add(inception.prepare(images.narrow(0, start: i, length: 1))) { try body(inception.pool3(b)) }
            }
        }
        if let b = try batches.rest() { try body(inception.pool3(b)) }
    }

    /// Clips (1, C, frames, H, W) in [0, 1] for FVD: up to `perVideo` (0: all) consecutive clips from
    /// the start of each video, at most `limit` in all (0: all). A video shorter than one clip is an
    /// error; a set of images is refused.
    public func forEachClip(frames: Int, perVideo: Int, limit: Int, _ body: (Tensor) throws -> Void) throws {
        guard case .files(let files) = kind, !files.contains(where: Self.isImage) else {
            throw EvaluationError("\(name): FVD needs videos (a video, token files or a folder of them), not images")
        }
        var remaining = limit > 0 ? limit : Int.max
        for file in files where remaining > 0 {
            try withReadableVideo(file) { reader in
                var taken = 0
                while remaining > 0, perVideo == 0 || taken < perVideo, let clip = try reader.read(frames) {
                    guard clip.size(0) == frames else {
                        if taken > 0 { break }  // the tail of a longer video
                        throw EvaluationError("\(file.lastPathComponent): \(clip.size(0)) frames, shorter than one \(frames)-frame FVD clip (see --clip-frames)")
                    }
                    try body(clip.permute([3, 0, 1, 2]).unsqueeze(0).to(.float32))  // (T, H, W, C) → (1, C, T, H, W)
                    taken += 1
                    remaining -= 1
                }
            }
        }
    }

    private static func isImage(_ file: URL) -> Bool { imageExtensions.contains(file.pathExtension.lowercased()) }

    /// A reader of a video file, or of token files decoded losslessly to a temporary y4m first.
    private func withReadableVideo(_ file: URL, _ body: (VideoReader) throws -> Void) throws {
        var path = file.path
        var temporary: URL?
        if file.pathExtension == "mgvt" {
            let codec = try VideoCodec(model: tokenizer())
            let y4m = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-eval-\(UUID()).y4m")
            temporary = y4m
            try codec.decode(TokenFile(contentsOf: file), to: y4m.path)
            path = y4m.path
        }
        defer { if let temporary { try? FileManager.default.removeItem(at: temporary) } }
        try body(try VideoReader(path: path))
    }
}

/// Collects tensors into batches of `size` along dim 0.
public struct Batching {
    public let size: Int
    private var pending: [Tensor] = []

    public init(size: Int) { self.size = size }

    /// Adds `x`; returns the batch it completes, if it completes one.
    public mutating func add(_ x: Tensor) throws -> Tensor? {
        pending.append(x)
        guard pending.count == size else { return nil }
        defer { pending.removeAll() }
        return try concatenate(pending, dim: 0)
    }

    /// What is left as a shorter last batch, if anything.
    public mutating func rest() throws -> Tensor? {
        guard !pending.isEmpty else { return nil }
        defer { pending.removeAll() }
        return try concatenate(pending, dim: 0)
    }
}

/// A set that cannot be scored: a missing or unknown file, an empty folder, too few images, the
/// wrong network's statistics. The message says what was expected and what was found.
public struct EvaluationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
