// Image datasets held in memory as uint8: Fashion-MNIST and MNIST IDX files, MNIST's pickle, and
// folders of images. Batches are 1-frame clips (B, C, 1, S, S) in [-1, 1].
import Foundation
import Harness
import Media
import NN
import Torch

/// Images (N, H, W, C) uint8 with optional class labels.
public struct ImageSet: @unchecked Sendable {
    public let images: Tensor
    public let labels: [Int]?

    public init(images: Tensor, labels: [Int]?) throws {
        guard images.rank == 4, images.dtype == .uint8, images.size(0) > 0 else {
            throw ConfigError("expected uint8 images (N, H, W, C), got \(images.dtype) \(images.shape)")
        }
        if let labels, labels.count != images.size(0) {
            throw ConfigError("\(labels.count) labels for \(images.size(0)) images")
        }
        self.images = images
        self.labels = labels
    }

    public var count: Int { images.size(0) }
    public var channels: Int { images.size(3) }

    /// Where Debian's dataset-fashion-mnist puts the files.
    public static let fashionMNISTFolder = "/usr/share/datasets/fashion-mnist"

    /// The train (60k) or test (10k) split of (Fashion-)MNIST in IDX format from `folder`
    /// (`train-images-idx3-ubyte[.gz]`, `t10k-...`).
    public static func idx(folder: String, train: Bool) throws -> ImageSet {
        let prefix = train ? "train" : "t10k"
        let images = try IDX.read(file(in: folder, prefix + "-images-idx3-ubyte"))
        let labels = try IDX.read(file(in: folder, prefix + "-labels-idx1-ubyte"))
        guard images.dimensions.count == 3, labels.dimensions == [images.dimensions[0]] else {
            throw ConfigError("\(folder): expected images (N, H, W) and N labels, got \(images.dimensions) and \(labels.dimensions)")
        }
        let tensor = try Tensor(images.bytes, shape: images.dimensions + [1])
        return try ImageSet(images: tensor, labels: labels.bytes.map(Int.init))
    }

    private static func file(in folder: String, _ name: String) throws -> String {
        for candidate in [name, name + ".gz"] where FileManager.default.fileExists(atPath: folder + "/" + candidate) {
            return folder + "/" + candidate
        }
        throw ConfigError("\(folder): no \(name) or \(name).gz (Fashion-MNIST: apt-get install dataset-fashion-mnist)")
    }

    /// Every image file (png, jpg, jpeg, bmp, webp) of a folder, sorted by name, centre-cropped square and
    /// resized to `size` × `size` RGB. Labels are the names of their subfolders when there are any.
    public static func folder(_ path: String, size: Int) throws -> ImageSet {
        let root = URL(fileURLWithPath: path)
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else {
            throw ConfigError("\(path): not a folder")
        }
        let extensions: Set<String> = ["png", "jpg", "jpeg", "bmp", "webp"]
        let files = walker.compactMap { $0 as? URL }.filter { extensions.contains($0.pathExtension.lowercased()) }
            .sorted { $0.path < $1.path }
        guard !files.isEmpty else { throw ConfigError("\(path): no images (png, jpg, jpeg, bmp, webp)") }
        let images = try files.map { url -> Tensor in
            guard let frame = try VideoReader(path: url.path, options: ReadOptions(size: (size, size))).read(1) else {
                throw ConfigError("\(url.path): no image decoded")
            }
            return try (frame * 255).round().to(.uint8)
        }
        let classes = files.map { $0.deletingLastPathComponent().lastPathComponent }
        let names = Array(Set(classes)).sorted()
        let labels = names.count > 1 ? classes.map { names.firstIndex(of: $0)! } : nil
        return try ImageSet(images: concatenate(images), labels: labels)
    }

    /// Images `indices` as 1-frame clips (B, channels, 1, size, size) in [-1, 1]: padded with the
    /// background (centred) when smaller than `size` and `pad` is set, else resized; grey and
    /// colour are converted to `channels`.
    public func clips(_ indices: [Int], channels: Int, size: Int, pad: Bool, flips: [Bool]? = nil) throws -> Tensor {
        let index = try Tensor(indices.map(Int64.init), shape: [indices.count])
        var x = try images.indexSelect(0, index).permute([0, 3, 1, 2]).to(.float32) / 127.5 - 1  // (B, C, H, W)
        if x.size(1) != channels {
            x = channels == 1 ? try x.mean([1], keepDim: true) : try x.expand([x.size(0), channels, x.size(2), x.size(3)])
        }
        let (h, w) = (x.size(2), x.size(3))
        if pad, h <= size, w <= size {
            let (top, left) = ((size - h) / 2, (size - w) / 2)
            x = try x.pad([left, size - w - left, top, size - h - top], value: -1)
        } else if h != size || w != size {
            x = try interpolate(x, size: [size, size], mode: .linear)
        }
        if let flips, flips.contains(true) {
            let flipped = try x.flip([3])
            let mask = try Tensor(flips, shape: [flips.count, 1, 1, 1])
            x = try which(mask, flipped, x)
        }
        return try x.unsqueeze(2)
    }
}

/// The IDX format of (Fashion-)MNIST (LeCun et al.): magic 0x0000 08 NDIM, big-endian dimensions, bytes.
public enum IDX {
    public static func read(_ path: String) throws -> (dimensions: [Int], bytes: [UInt8]) {
        try parse(Gzip.contents(path), name: path)
    }

    /// Parses IDX bytes; sizes are checked with overflow-safe arithmetic against the data present.
    public static func parse(_ data: [UInt8], name path: String) throws -> (dimensions: [Int], bytes: [UInt8]) {
        guard data.count >= 4, data[0] == 0, data[1] == 0, data[2] == 0x08 else {
            throw ConfigError("\(path): not an IDX file of unsigned bytes (expected magic 00 00 08 NN)")
        }
        let rank = Int(data[3])
        guard (1...4).contains(rank) else { throw ConfigError("\(path): IDX rank must be 1...4, found \(rank)") }
        guard data.count >= 4 + 4 * rank else { throw ConfigError("\(path): truncated IDX header") }
        let dimensions = (0..<rank).map { i in
            (0..<4).reduce(0) { $0 << 8 | Int(data[4 + 4 * i + $1]) }
        }
        let start = 4 + 4 * rank
        var count = 1
        for d in dimensions {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, product <= data.count else {
                throw ConfigError("\(path): IDX header says \(dimensions), more bytes than the file holds (\(data.count - start))")
            }
            count = product
        }
        guard data.count == start + count else {
            throw ConfigError("\(path): IDX header says \(dimensions) (\(count) bytes) but the file holds \(data.count - start)")
        }
        return (dimensions, Array(data[start...]))
    }
}

/// Reading possibly gzip-compressed files through the `gzip` program.
enum Gzip {
    static func contents(_ path: String) throws -> [UInt8] {
        guard let raw = FileManager.default.contents(atPath: path) else { throw ConfigError("\(path): cannot read the file") }
        guard raw.count >= 2, raw[raw.startIndex] == 0x1f, raw[raw.startIndex + 1] == 0x8b else { return [UInt8](raw) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc", path]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw ConfigError("\(path): gzip could not decompress it (\(message.trimmingCharacters(in: .whitespacesAndNewlines)))")
        }
        return [UInt8](data)
    }
}
