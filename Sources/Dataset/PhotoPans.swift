// Video made from still photos by a moving virtual camera: each clip is a square window that pans,
// zooms and turns a little over one photo, at a speed that changes along the clip. Real textures in
// motion, where real video is scarce (REFERENCE.md §3: the tokenizer is trained on images and videos).
import Foundation
import Synchronization
import Harness
import Media
import NN
import Torch

/// How the virtual camera moves (`data.pan`).
public struct PanConfig: Codable, Sendable, Equatable {
    /// The window's side as a fraction of the photo's shorter side, drawn log-uniformly in [low, high].
    public var crop: [Double] = [0.12, 0.6]
    /// The largest displacement over a clip, in window sides.
    public var travel: Double = 0.8
    /// The largest zoom over a clip: the window's side changes by a factor up to e^±zoom.
    public var zoom: Double = 0.3
    /// The largest rotation in degrees, at the start and added over the clip.
    public var rotation: Double = 4
    /// Photos are kept with their shorter side at most this many model sides (a pyramid of halvings below).
    public var detail: Int = 8

    public init() {}

    func validate() throws {
        guard crop.count == 2, crop[0] > 0, crop[1] >= crop[0], crop[1] <= 1 else {
            throw ConfigError("data.pan.crop must be [low, high] with 0 < low <= high <= 1, got \(crop)")
        }
        guard travel >= 0, zoom >= 0, rotation >= 0, rotation <= 45, detail >= 1 else {
            throw ConfigError("data.pan: travel, zoom and rotation (≤ 45°) must not be negative, detail must be positive")
        }
    }
}

/// Photos (H, W, 3) uint8, each as a pyramid: level k has the shorter side of level 0 halved k times.
public struct PhotoSet: @unchecked Sendable {
    public let pyramids: [[Tensor]]
    public let names: [String]

    static let extensions: Set<String> = ["png", "jpg", "jpeg", "bmp", "webp", "tif", "tiff"]

    /// Reads every photo named, found (recursively) in the folders named, or held in a photo pack
    /// (`.safetensors`, `PhotoSet.pack`), its shorter side scaled down to `shorterSide` when larger;
    /// levels go down to `smallest` pixels.
    public init(paths: [String], shorterSide: Int, smallest: Int) throws {
        var photos: [(name: String, image: Tensor)] = []  // (1, 3, H, W) in [0, 1]
        for path in paths {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw ConfigError("\(path): no such file or folder") }
            if path.hasSuffix(".safetensors") {
                photos += try Self.unpack(path)
                continue
            }
            let url = URL(fileURLWithPath: path)
            var files = [url]
            if isFolder.boolValue {
                files = (FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? [])
                    .filter { Self.extensions.contains($0.pathExtension.lowercased()) }.sorted { $0.path < $1.path }
                guard !files.isEmpty else { throw ConfigError("\(path): a folder without photos (\(Self.extensions.sorted().joined(separator: ", ")))") }
            }
            for file in files { photos.append((file.lastPathComponent, try Self.read(file.path, shorterSide: shorterSide, smallest: smallest))) }
        }
        guard !photos.isEmpty else { throw ConfigError("no photos given") }
        pyramids = try photos.map { name, image in
            var level = image
            while Swift.min(level.size(2), level.size(3)) / 2 >= shorterSide { level = try Self.halved(level) }
            let short = Swift.min(level.size(2), level.size(3))
            guard short >= smallest else {
                throw ConfigError("\(name): \(level.size(3))x\(level.size(2)) is smaller than \(smallest) pixels on its shorter side")
            }
            if short > shorterSide {
                let scale = Double(shorterSide) / Double(short)
                level = try interpolate(level, size: [Int((Double(level.size(2)) * scale).rounded()), Int((Double(level.size(3)) * scale).rounded())], mode: .linear)
            }
            var levels: [Tensor] = []
            while true {
                levels.append(try Self.bytes(level))
                guard Swift.min(level.size(2), level.size(3)) / 2 >= smallest else { break }
                level = try Self.halved(level)
            }
            return levels
        }
        names = photos.map(\.name)
    }

    /// A photo file decoded by ffmpeg, scaled (keeping its aspect) to `shorterSide` when larger: (1, 3, H, W) in [0, 1].
    static func read(_ path: String, shorterSide: Int, smallest: Int) throws -> Tensor {
        let info = try VideoInfo(probing: path)
        let short = Swift.min(info.width, info.height)
        guard short >= smallest else { throw ConfigError("\(path): \(info.width)x\(info.height) is smaller than \(smallest) pixels on its shorter side") }
        let scale = Swift.min(1, Double(shorterSide) / Double(short))
        let size = (width: Int((Double(info.width) * scale).rounded()), height: Int((Double(info.height) * scale).rounded()))
        guard let frame = try VideoReader(path: path, options: ReadOptions(size: size, centerCrop: false)).read(1) else {
            throw ConfigError("\(path): no image decoded")
        }
        return try frame.squeeze(0).permute([2, 0, 1]).unsqueeze(0)
    }

    /// Half the size by 2×2 averages (an odd last row or column dropped).
    static func halved(_ x: Tensor) throws -> Tensor {
        try avgPool(x.narrow(2, start: 0, length: x.size(2) / 2 * 2).narrow(3, start: 0, length: x.size(3) / 2 * 2), kernel: [2, 2])
    }

    /// (1, 3, H, W) in [0, 1] as (H, W, 3) uint8.
    static func bytes(_ x: Tensor) throws -> Tensor { try (x * 255).round().to(.uint8).squeeze(0).permute([1, 2, 0]).contiguous() }

    /// Writes the photos (their largest level) as one safetensors file of uint8 (H, W, 3) tensors
    /// `photo.NNNN` with their names in the metadata: photos for a machine without ffmpeg.
    public func pack(to url: URL) throws {
        var tensors: [String: Tensor] = [:], metadata = ["magvit.format": "photos-v1"]
        for (i, (levels, name)) in zip(pyramids, names).enumerated() {
            let key = String(format: "photo.%04d", i)
            tensors[key] = levels[0]
            metadata[key] = name
        }
        try SafeTensors.write(tensors, metadata: metadata, to: url)
    }

    static func unpack(_ path: String) throws -> [(name: String, image: Tensor)] {
        let contents = try SafeTensors.read(URL(fileURLWithPath: path))
        guard contents.metadata["magvit.format"] == "photos-v1" else {
            throw ConfigError("\(path): not a photo pack (`magvit frames --photos` writes them)")
        }
        return try contents.tensors.keys.sorted().map { key in
            let t = contents.tensors[key]!
            guard t.rank == 3, t.size(2) == 3, t.dtype == .uint8 else { throw ConfigError("\(path): \(key) is not a uint8 (H, W, 3) photo") }
            return (contents.metadata[key] ?? key, try t.permute([2, 0, 1]).unsqueeze(0).to(.float32) / 255)
        }
    }

    public var count: Int { pyramids.count }
}

/// One clip's camera path: the window's centre (pixels of level 0), side and angle at the first and
/// last frame, and how progress along the path speeds up or slows down.
struct CameraPath {
    var start: (x: Double, y: Double), end: (x: Double, y: Double)
    var side: (Double, Double)
    var angle: (Double, Double)
    /// Progress at frame t of T is (t / (T-1))^pace.
    var pace: Double
    var flip: Bool

    /// Draws a path over a photo of `width` × `height` pixels that stays inside it at every frame.
    static func random(width: Int, height: Int, pan: PanConfig, flip: Bool, random: inout SeededRandom) -> CameraPath {
        let (w, h) = (Double(width), Double(height))
        let short = Swift.min(w, h)
        let logCrop = log(pan.crop[0]) + random.uniform() * (log(pan.crop[1]) - log(pan.crop[0]))
        var side0 = exp(logCrop) * short
        var side1 = side0 * exp((2 * random.uniform() - 1) * pan.zoom)
        let maxAngle = pan.rotation * .pi / 180
        let angle0 = (2 * random.uniform() - 1) * maxAngle
        let angle1 = angle0 + (2 * random.uniform() - 1) * maxAngle
        // Half the extent of the turned window, at the largest side and angle of the path.
        let turn = Swift.max(abs(angle0), abs(angle1))
        var half = Swift.max(side0, side1) / 2 * (abs(cos(turn)) + abs(sin(turn)))
        if half > short / 2 {  // the window would not fit: shrink both sides alike
            let shrink = short / 2 / half
            side0 *= shrink; side1 *= shrink; half = short / 2
        }
        func inside(_ v: Double, _ extent: Double) -> Double { Swift.min(Swift.max(v, half), extent - half) }
        let start = (x: half + random.uniform() * (w - 2 * half), y: half + random.uniform() * (h - 2 * half))
        let distance = random.uniform() * pan.travel * (side0 + side1) / 2
        let direction = random.uniform() * 2 * .pi
        let end = (x: inside(start.x + distance * cos(direction), w), y: inside(start.y + distance * sin(direction), h))
        let pace = exp((2 * random.uniform() - 1) * 0.7)
        let flipped = flip && random.next() & 1 == 1
        return CameraPath(start: start, end: end, side: (side0, side1), angle: (angle0, angle1), pace: pace, flip: flipped)
    }

    /// The window at frame t of T: its centre and side in level-0 pixels, its angle.
    func pose(frame t: Int, of frames: Int) -> (x: Double, y: Double, side: Double, angle: Double) {
        let p = frames == 1 ? 0 : pow(Double(t) / Double(frames - 1), pace)
        return (start.x + p * (end.x - start.x), start.y + p * (end.y - start.y), side.0 * exp(p * log(side.1 / side.0)), angle.0 + p * (angle.1 - angle.0))
    }

    /// The sampling grid (1, T·S, S, 2) over a level with `scale` pixels per level-0 pixel and the
    /// given size, in grid_sample's normalised coordinates (align_corners false).
    func grid(frames: Int, size: Int, scale: Double, width: Int, height: Int) throws -> Tensor {
        var grid = [Float](repeating: 0, count: frames * size * size * 2)
        let (w, h) = (Double(width), Double(height))
        for t in 0..<frames {
            let pose = pose(frame: t, of: frames)
            let (cx, cy, side) = (pose.x * scale, pose.y * scale, pose.side * scale)
            let (c, s) = (cos(pose.angle), sin(pose.angle))
            for i in 0..<size {
                let v = (2 * Double(i) + 1) / Double(size) - 1
                for j in 0..<size {
                    var u = (2 * Double(j) + 1) / Double(size) - 1
                    if flip { u = -u }
                    let x = cx + side / 2 * (c * u - s * v), y = cy + side / 2 * (s * u + c * v)
                    let k = ((t * size + i) * size + j) * 2
                    grid[k] = Float(2 * x / w - 1)
                    grid[k + 1] = Float(2 * y / h - 1)
                }
            }
        }
        return try Tensor(grid, shape: [1, frames * size, size, 2])
    }

    /// The pyramid level to sample: the coarsest whose window still has at least `size` pixels.
    func level(levels: Int, size: Int) -> Int {
        let smallest = Swift.min(side.0, side.1)
        var k = 0
        while k + 1 < levels, smallest / Double(1 << (k + 1)) >= Double(size) { k += 1 }
        return k
    }
}

/// Clips of virtual-camera moves over photos (`data.train`: folders or files of photos); the held-out
/// set (`data.eval`) is a fixed series of moves over other photos.
public final class PhotoPanSource: ShardedClipSource {
    let train: PhotoSet
    let config: DataConfig
    let shape: ClipShape
    let seed: UInt64

    public init(config: DataConfig, shape: ClipShape, seed: UInt64) throws {
        let paths = try config.trainPaths(naming: "photos or folders of photos")
        try config.pan.validate()
        train = try PhotoPanSource.photos(paths, config: config, shape: shape)
        self.config = config
        self.shape = shape
        self.seed = seed
    }

    /// The photos at the detail the shape needs, read once per process for each list (a run's clips
    /// and still images often pan over the same photos; their pyramids are only ever read).
    static func photos(_ paths: [String], config: DataConfig, shape: ClipShape) throws -> PhotoSet {
        let shorterSide = shape.size * config.pan.detail
        let key = "\(paths.joined(separator: "\u{0}"))|\(shorterSide)|\(shape.size)"
        if let cached = loaded.withLock({ $0[key] }) { return cached }
        let photos = try PhotoSet(paths: paths, shorterSide: shorterSide, smallest: shape.size)
        loaded.withLock { $0[key] = photos }
        return photos
    }

    private static let loaded = Mutex<[String: PhotoSet]>([:])

    public var summary: String { "photo pans: \(train.count) photos" }
    public var count: Int? { nil }
    public var classes: Int { 0 }

    /// Each move a pure function of (seed, step, row).
    public func batch(step: Int, rows: [Int]) throws -> Clips {
        Clips(clips: try grey(stacked(rows.map { row in
            var random = SeededRandom(seed: seed, step: step, example: row, stream: 201)
            return try clip(train, random: &random)
        }), shape.channels))
    }

    /// `data.evalSamples` fixed moves over the held-out photos, in turn.
    public func heldOut(limit: Int) throws -> Clips? {
        guard !config.eval.isEmpty else { return nil }
        let held = try PhotoPanSource.photos(config.eval, config: config, shape: shape)
        let clips = try (0..<Swift.min(limit, config.evalSamples)).map { i in
            var random = SeededRandom(seed: seed, step: i, stream: 202)
            return try clip(held, photo: i % held.count, random: &random)
        }
        return Clips(clips: try grey(stacked(clips), shape.channels))
    }

    /// One clip (3, T, S, S) in [-1, 1] over a random photo (or the one given).
    func clip(_ photos: PhotoSet, photo: Int? = nil, random: inout SeededRandom) throws -> Tensor {
        let pyramid = photos.pyramids[photo ?? Int(random.next() % UInt64(photos.count))]
        let (height, width) = (pyramid[0].size(0), pyramid[0].size(1))
        let path = CameraPath.random(width: width, height: height, pan: config.pan, flip: config.flip, random: &random)
        let k = path.level(levels: pyramid.count, size: shape.size)
        let image = try pyramid[k].permute([2, 0, 1]).unsqueeze(0).to(.float32) / 127.5 - 1  // (1, 3, h, w)
        let grid = try path.grid(frames: shape.frames, size: shape.size, scale: Double(image.size(3)) / Double(width),
                                 width: image.size(3), height: image.size(2))
        let frames = try gridSample(image, grid: grid, padding: .reflection)  // (1, 3, T·S, S)
        return try frames.reshape([3, shape.frames, shape.size, shape.size]).clamp(min: -1, max: 1)
    }
}
