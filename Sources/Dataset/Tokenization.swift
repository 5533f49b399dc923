// `magvit tokenize`: a whole set of videos and images into a token dataset. A pool of decoders cuts
// the files into clips, the clips go through the tokenizer in batches, and each file's clips join the
// dataset only once the whole file decoded (a file that fails is skipped and counted). Every batch
// has the same shape (a short last one is padded), so a clip's ids do not depend on where batches
// start, and a run resumed after a kill writes the same shards, byte for byte, as an uninterrupted one.
// After each shard `.tokenize-state.json` records where the next one starts; `dataset.json` is
// written last and marks the dataset finished.
import Codec
import Foundation
import Media
import NN
import Tokenizer
import Torch

public struct TokenizeOptions: Sendable {
    /// Frame size (width, height); nil: the tokenizer's training resolution, square.
    public var size: (width: Int, height: Int)?
    /// Scale to cover the size and cut the centre (otherwise stretch).
    public var centerCrop = true
    /// Resample every video to this frame rate first.
    public var fps: Double?
    /// Skip (as failed) a file on which the decoder reported errors.
    public var strict = false
    /// Clips per model call.
    public var batch = 8
    /// Decoder processes working ahead of the model.
    public var workers = 2
    /// Clips per shard.
    public var shardSize = 1024
    public var device: Device = .cpu

    public init() {}
}

/// How far a job is.
public struct TokenizeProgress: Sendable {
    public var filesDone: Int
    public var files: Int
    public var failed: Int
    /// Clips encoded by this run, and its seconds.
    public var clips: Int
    public var seconds: Double
    public var clipsPerSecond: Double { seconds > 0 ? Double(clips) / seconds : 0 }
    /// Seconds left, from this run's rate over files (nil before the first file).
    public var eta: Double?
}

public final class Tokenization {
    public static let stateName = ".tokenize-state.json"

    public let model: VideoTokenizer
    public let name: String
    public let weights: String
    public let inputs: InputList
    public let labels: LabelSource
    public let output: URL
    public let options: TokenizeOptions
    let settings: Settings
    let grid: [Int]

    /// `weights`: the model's weights hash when the caller has it (else it is computed).
    public init(model: VideoTokenizer, weights: String? = nil, name: String? = nil, inputs: InputList, labels: LabelSource, output: URL,
                options: TokenizeOptions) throws {
        let c = model.config
        let size = options.size ?? (c.resolution, c.resolution)
        guard size.width >= c.spatialFactor, size.height >= c.spatialFactor, size.width % c.spatialFactor == 0, size.height % c.spatialFactor == 0 else {
            throw DatasetError("frame size \(size.width)x\(size.height) must be a positive multiple of \(c.spatialFactor) (\(c.name))")
        }
        guard options.batch >= 1, options.workers >= 1, options.shardSize >= 1 else {
            throw DatasetError("batch, workers and shard size must be at least 1 (got \(options.batch), \(options.workers), \(options.shardSize))")
        }
        if let fps = options.fps, !(fps > 0 && fps.isFinite) { throw DatasetError("--fps must be a positive number, got \(fps)") }
        self.model = model
        self.name = name ?? c.name
        self.weights = try weights ?? model.weightsHash()
        self.inputs = inputs
        self.labels = labels
        self.output = output
        var o = options
        o.size = size
        self.options = o
        let g = c.tokenGrid(frames: c.clipFrames, height: size.height, width: size.width)
        grid = [g.t, g.h, g.w]
        settings = Settings(
            tokenizerWeights: self.weights, inputsSHA256: sha256Hex(Data(inputs.files.joined(separator: "\n").utf8)), size: [size.width, size.height],
            centerCrop: options.centerCrop, fps: options.fps, batch: options.batch, shardSize: options.shardSize,
            labels: labels.description, classes: inputs.classes)
    }

    var stateURL: URL { output.appendingPathComponent(Self.stateName) }
    var indexURL: URL { output.appendingPathComponent(TokenDataset.indexName) }

    /// Runs (or resumes, or finds finished) the job; returns the dataset's index.
    @discardableResult
    public func run(progress: ((TokenizeProgress) -> Void)? = nil) throws -> DatasetIndex {
        if let finished = try finishedIndex() { return finished }
        var state = try resumeState() ?? State(settings: settings)
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        try saveState(state)

        let files = inputs.files, clipFrames = model.config.clipFrames, shardSize = options.shardSize
        let size = options.size!
        let pool = DecodePool(files: files, clipFrames: clipFrames, options: ReadOptions(size: size, centerCrop: options.centerCrop, frameRate: options.fps, strict: options.strict),
                              workers: options.workers, queueClips: Swift.max(2, options.batch), start: (state.next.file, state.next.clip))
        defer { pool.cancel() }

        var batch: [DecodedClip] = []
        var encoded: [Int: [ClipRecord]] = [:]
        var finished: [Int: (clips: Int, fps: Double)] = [:]
        var failed: [Int: String] = [:]
        var commitFile = state.next.file
        var buffer: [ClipRecord] = []
        var encodedClips = 0
        let start = Date()
        let firstFile = state.next.file

        func report() {
            let done = commitFile - firstFile, seconds = Date().timeIntervalSince(start)
            let eta = done > 0 ? seconds / Double(done) * Double(files.count - commitFile) : nil
            progress?(TokenizeProgress(filesDone: commitFile, files: files.count, failed: state.failures.count,
                                       clips: encodedClips, seconds: seconds, eta: eta))
        }
        func writeShard(next: Position) throws {
            let name = TokenDataset.shardName(state.shards.count)
            let sha = try ShardContents.write(buffer, grid: grid, tokenizerWeights: weights, to: output.appendingPathComponent(name))
            state.shards.append(.init(file: name, clips: buffer.count, sha256: sha))
            state.next = next
            buffer.removeAll()
            try saveState(state)
        }
        func commit() throws {
            while commitFile < files.count {
                if let message = failed[commitFile] {
                    state.failures.append(.init(path: files[commitFile], error: message))
                    encoded[commitFile] = nil
                } else {
                    guard let done = finished[commitFile] else { return }
                    let skipped = commitFile == firstFile ? state.next.clip : 0
                    let records = encoded[commitFile] ?? []
                    guard records.count == done.clips - skipped else { return }  // clips still waiting for a batch
                    for (i, var record) in records.enumerated() {
                        record.fps = done.fps
                        buffer.append(record)
                        if buffer.count == shardSize {
                            let last = i == records.count - 1
                            try writeShard(next: last ? Position(file: commitFile + 1) : Position(file: commitFile, clip: record.clipIndex + 1))
                        }
                    }
                    encoded[commitFile] = nil
                }
                commitFile += 1
                report()
            }
        }
        func encode() throws {
            guard !batch.isEmpty else { return }
            let ids = try encodeBatch(batch.map(\.pixels))
            for (clip, row) in zip(batch, ids) where failed[clip.file] == nil {
                let label = inputs.labels?[clip.file] ?? -1
                encoded[clip.file, default: []].append(ClipRecord(
                    ids: row, source: files[clip.file], clipIndex: clip.index, startFrame: clip.startFrame, frames: clip.frames, label: label, fps: 0))
            }
            encodedClips += batch.count
            batch.removeAll()
            try commit()
        }

        while let item = pool.next() {
            switch item {
            case .clip(let clip):
                batch.append(clip)
                if batch.count == options.batch { try encode() }
            case .finished(let file, let clips, let fps):
                finished[file] = (clips, fps)
                try commit()
            case .failed(let file, let message):
                failed[file] = message
                try commit()
            }
        }
        try encode()
        try commit()
        if !buffer.isEmpty { try writeShard(next: Position(file: files.count)) }

        let index = DatasetIndex(
            tokenizer: .init(name: name, config: model.config, weights: weights), bits: model.config.quantizer.bits,
            codebookSize: model.config.quantizer.codebookSize, grid: grid, clipFrames: clipFrames, size: settings.size, resampleFPS: options.fps,
            shardSize: shardSize, shards: state.shards, clips: try DatasetIndex.clips(state.shards), files: files.count,
            failures: state.failures, classes: inputs.classes, labels: labels.description, inputsSHA256: settings.inputsSHA256)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try OutputFiles.write(try encoder.encode(index), to: indexURL)
        try? FileManager.default.removeItem(at: stateURL)
        return index
    }

    /// The ids (B rows of t·h·w) of clips (each (T, H, W, 3) in [0, 1]).
    func encodeBatch(_ clips: [Tensor]) throws -> [[Int32]] {
        let x = try modelBatch(clips, batch: options.batch, channels: model.config.imageChannels)
        let ids = try model.encode(x.to(options.device)).to(.int32, .cpu).reshape([options.batch, -1])
        let perClip = ids.size(1)
        let all = try ids.toArray(Int32.self)
        return (0..<clips.count).map { i -> [Int32] in Array(all[(i * perClip)..<((i + 1) * perClip)]) }
    }
}

/// Clips (each (T, H, W, 3) in [0, 1]) as one model input (batch, channels, T, H, W) in [-1, 1] of
/// exactly `batch` clips: a short batch is padded with copies of its last clip, so every call has the
/// same shape and a clip's result does not depend on its neighbours; grey models get the channel mean.
public func modelBatch(_ clips: [Tensor], batch: Int, channels: Int) throws -> Tensor {
    var parts = clips
    while parts.count < batch { parts.append(clips.last!) }
    var x = try stacked(parts, dim: 0).permute([0, 4, 1, 2, 3]) * 2 - 1
    if channels == 1 { x = try x.mean([1], keepDim: true) }
    return try x.contiguous()
}
