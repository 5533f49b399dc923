// Video training data: whole videos decoded once into uint8 frames, random clips of the model's
// length with a temporal stride, random square crops (resized to the model size) and flips.
import Foundation
import Harness
import Media
import NN
import Torch

/// Videos (T, H, W, 3) uint8.
public struct VideoSet: @unchecked Sendable {
    public let videos: [Tensor]
    public let names: [String]

    /// Reads every video or frames file named, expanding folders (sorted) into their files.
    public init(paths: [String]) throws {
        let files = try paths.flatMap { try VideoSet.expand($0) }
        guard !files.isEmpty else { throw ConfigError("no videos given") }
        videos = try files.map(FrameFile.load)
        names = files.map { URL(fileURLWithPath: $0).lastPathComponent }
    }

    static func expand(_ path: String) throws -> [String] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw ConfigError("\(path): no such file or folder") }
        guard isFolder.boolValue else { return [path] }
        let videoExtensions: Set<String> = ["mp4", "mkv", "avi", "mov", "webm", "y4m", "gif", "safetensors"]
        let names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
            .filter { videoExtensions.contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }
        guard !names.isEmpty else { throw ConfigError("\(path): a folder without videos (\(videoExtensions.sorted().joined(separator: ", ")))") }
        return names.map { path + "/" + $0 }
    }

    /// Checks that every video holds at least one clip of `frames` frames at `size`.
    public func check(frames: Int, size: Int) throws {
        for (name, v) in zip(names, videos) where v.size(0) < frames || v.size(1) < size || v.size(2) < size {
            throw ConfigError("\(name): \(v.size(0)) frames of \(v.size(2))x\(v.size(1)) hold no \(frames)-frame clip of \(size)x\(size)")
        }
    }

    /// A random clip (3, T, size, size) in [-1, 1]: a random video and start, a stride from `strides`
    /// that fits, a square crop of `cropScale` × size (clamped to the frame) resized to size, a flip.
    public func randomClip(frames: Int, size: Int, strides: [Int], cropScale: [Double], flip: Bool,
                           random: inout SeededRandom) throws -> Tensor {
        let video = videos[Int(random.next() % UInt64(videos.count))]
        let (t, h, w) = (video.size(0), video.size(1), video.size(2))
        let fitting = strides.filter { (frames - 1) * $0 + 1 <= t }
        let stride = fitting.isEmpty ? 1 : fitting[Int(random.next() % UInt64(fitting.count))]
        let span = (frames - 1) * stride + 1
        let first = Int(random.next() % UInt64(t - span + 1))
        let largest = Swift.min(h, w, Int(Double(size) * cropScale[1]))
        let smallest = Swift.min(largest, Int(Double(size) * cropScale[0]))
        let crop = smallest + Int(random.next() % UInt64(largest - smallest + 1))
        let y = Int(random.next() % UInt64(h - crop + 1)), x = Int(random.next() % UInt64(w - crop + 1))
        let index = try Tensor.arange(Double(first), Double(first + span), step: Double(stride), device: video.device)
        var clip = try video.indexSelect(0, index).narrow(1, start: y, length: crop).narrow(2, start: x, length: crop)
        clip = try clip.permute([0, 3, 1, 2]).to(.float32) / 127.5 - 1  // (T, 3, crop, crop)
        if crop != size { clip = try interpolate(clip, size: [size, size], mode: .linear) }
        if flip, random.next() & 1 == 1 { clip = try clip.flip([3]) }
        return try clip.transpose(0, 1)  // (3, T, size, size)
    }

    /// Consecutive clips (3, frames, size, size) of each video's centre square crop, resized to
    /// `size`: the held-out set.
    public func consecutiveClips(frames: Int, size: Int) throws -> [Tensor] {
        var clips: [Tensor] = []
        for video in videos {
            let (h, w) = (video.size(1), video.size(2))
            let side = Swift.min(h, w)
            let square = try video.narrow(1, start: (h - side) / 2, length: side).narrow(2, start: (w - side) / 2, length: side)
            var start = 0
            while start + frames <= video.size(0) {
                var clip = try square.narrow(0, start: start, length: frames).permute([0, 3, 1, 2]).to(.float32) / 127.5 - 1
                if side != size { clip = try interpolate(clip, size: [size, size], mode: .linear) }
                clips.append(try clip.transpose(0, 1))
                start += frames
            }
        }
        return clips
    }
}

/// Frames files: uint8 'frames' (T, H, W, 3) in safetensors, as `magvit frames` writes them.
public enum FrameFile {
    /// Frames (T, H, W, 3) uint8 of a frames file or of any video ffmpeg reads.
    public static func load(_ path: String) throws -> Tensor {
        if path.hasSuffix(".safetensors") {
            guard let frames = try SafeTensors.read(URL(fileURLWithPath: path)).tensors["frames"], frames.rank == 4,
                  frames.size(3) == 3, frames.dtype == .uint8 else {
                throw ConfigError("\(path): expected a uint8 tensor 'frames' (T, H, W, 3), as `magvit frames` writes")
            }
            return frames
        }
        guard let frames = try VideoReader(path: path).readAll() else { throw ConfigError("\(path): no frames decoded") }
        return try (frames * 255).round().to(.uint8)
    }

    /// Writes frames (T, H, W, 3) uint8 as a frames file.
    public static func save(_ frames: Tensor, source: String, to path: String) throws {
        try SafeTensors.write(["frames": frames], metadata: ["source": source], to: URL(fileURLWithPath: path))
    }
}
