// A pool of ffmpeg decoders working ahead of the model: each worker takes the next file, cuts it
// into fixed-length clips and queues them; the consumer receives every file's clips in file order,
// whatever order the workers finish in. At most `workers` files are in flight, each with at most
// `queueClips` clips waiting, so memory stays bounded however long the videos are.
import Foundation
import Media
import Torch

/// A clip of a file: frames (clipFrames, H, W, 3) float32 in [0, 1]; a tail shorter than a clip is
/// padded by repeating its last frame, `frames` counting the real ones.
public struct DecodedClip: @unchecked Sendable {
    public let file: Int
    /// The clip's number within its file (from 0).
    public let index: Int
    /// The file's frame (after --fps resampling) where the clip starts.
    public let startFrame: Int
    public let frames: Int
    public let pixels: Tensor
}

/// What the pool delivers, per file in order: its clips, then `finished` or `failed`.
public enum DecodedItem: @unchecked Sendable {
    case clip(DecodedClip)
    /// The file's clips are all delivered; `clips` counts them (skipped ones too), `fps` is its rate.
    case finished(file: Int, clips: Int, fps: Double)
    /// The file could not be decoded (some clips may have been delivered before the error).
    case failed(file: Int, message: String)
}

public final class DecodePool: @unchecked Sendable {
    public let files: [String]
    public let clipFrames: Int
    public let options: ReadOptions
    /// Each file's read options in place of `options` (e.g. its own frame size), worked out by the
    /// worker that decodes it; a file whose options cannot be had fails like an unreadable one.
    let optionsOf: (@Sendable (String) throws -> ReadOptions)?
    private let condition = NSCondition()
    private var queues: [Int: [DecodedItem]] = [:]
    private var nextFile: Int
    private var current: Int
    private var cancelled = false
    private let queueClips: Int
    private let skip: (file: Int, clips: Int)

    /// Starts `workers` decoder threads over `files` from `start.file`, whose first `start.clips`
    /// clips are decoded but not delivered (resuming inside a file).
    public init(files: [String], clipFrames: Int, options: ReadOptions, workers: Int, queueClips: Int = 8, start: (file: Int, clips: Int) = (0, 0),
                optionsOf: (@Sendable (String) throws -> ReadOptions)? = nil) {
        self.files = files
        self.clipFrames = clipFrames
        self.options = options
        self.optionsOf = optionsOf
        self.queueClips = Swift.max(1, queueClips)
        nextFile = start.file
        current = start.file
        skip = start
        for _ in 0..<Swift.max(1, workers) {
            let thread = Thread { [weak self] in self?.work() }
            thread.stackSize = 4 << 20
            thread.start()
        }
    }

    /// Stops the workers (their ffmpeg children are ended with them). Call it when done reading,
    /// also after an error: a worker waiting on a full queue holds the pool until then.
    public func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next item in file order; nil after the last file.
    public func next() -> DecodedItem? {
        condition.lock()
        defer { condition.unlock() }
        while current < files.count {
            if var queue = queues[current], !queue.isEmpty {
                let item = queue.removeFirst()
                queues[current] = queue
                if case .clip = item {} else {
                    queues[current] = nil
                    current += 1
                }
                condition.broadcast()
                return item
            }
            condition.wait()
        }
        return nil
    }

    private func work() {
        while true {
            condition.lock()
            guard !cancelled, nextFile < files.count else {
                condition.unlock()
                return
            }
            let file = nextFile
            nextFile += 1
            queues[file] = []
            condition.unlock()
            decode(file)
        }
    }

    /// Queues an item of `file`, waiting while its queue is full; false once cancelled.
    @discardableResult
    private func put(_ item: DecodedItem, _ file: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if case .clip = item {
            while !cancelled, (queues[file]?.count ?? 0) >= queueClips { condition.wait() }
        }
        guard !cancelled else { return false }
        queues[file, default: []].append(item)
        condition.broadcast()
        return true
    }

    private func decode(_ file: Int) {
        let path = files[file]
        do {
            let options = try optionsOf?(path) ?? self.options
            let reader = try VideoReader(path: path, options: options)
            let skipped = file == skip.file ? skip.clips : 0
            var index = 0
            while let frames = try reader.read(clipFrames) {
                defer { index += 1 }
                guard index >= skipped else { continue }
                let count = frames.size(0)
                var pixels = frames
                if count < clipFrames {
                    let last = try frames.narrow(0, start: count - 1, length: 1).expand([clipFrames - count, -1, -1, -1])
                    pixels = try concatenate([frames, last], dim: 0)
                }
                let clip = DecodedClip(file: file, index: index, startFrame: index * clipFrames, frames: count, pixels: pixels)
                guard put(.clip(clip), file) else { return }
            }
            try reader.checkComplete()
            guard index > 0 else { throw MediaError(path, "no frames decoded (an empty or unreadable video)") }
            let fps = options.frameRate ?? Double(reader.info.frameRateNumerator) / Double(Swift.max(1, reader.info.frameRateDenominator))
            put(.finished(file: file, clips: index, fps: fps), file)
        } catch {
            put(.failed(file: file, message: "\(error)"), file)
        }
    }
}
