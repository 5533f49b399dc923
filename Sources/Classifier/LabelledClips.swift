// The classifier's examples: labelled clips, each with the video it was cut from, as the model
// reads them (token ids, pixel clips or I3D features). Sources: the motion-digits benchmark (a
// split by seed), labelled videos (a sub-folder per class, or a CSV; every consecutive clip of each
// video, decoded by the token datasets' decoder pool) and labelled token datasets.
import ClassifierModel
import Dataset
import Foundation
import Harness
import Media
import Metrics
import NN
import Tokenizer
import Torch

/// Examples on the CPU: `inputs` (N, ...) as the model reads them, `labels` (N) class ids and
/// `videos` (N) the number of the video each clip belongs to.
public struct LabelledClips: @unchecked Sendable {
    public var inputs: Tensor
    public var labels: Tensor
    public var videos: Tensor
    /// The videos' names, by number.
    public var videoNames: [String]

    public var count: Int { labels.size(0) }

    public func tensors() -> [String: Tensor] { ["inputs": inputs, "labels": labels, "videos": videos] }
}

/// Turns clips into what a classifier reads: token ids, pixels, I3D features, or the I3D
/// Kinetics-400 logits (the reference classifier).
public struct ClipEncoder {
    let encode: (Tensor) throws -> Tensor

    /// Clips (N, C, T, S, S) in [-1, 1] as the inputs of a classifier reading `input` (on the CPU).
    public init(input: ClassifierInput, tokenizer: VideoTokenizer?, device: Device) throws {
        switch input {
        case .bits, .factors:
            guard let tokenizer else { throw ClassifierError("a \(input.rawValue) classifier reads tokens: it needs its tokenizer") }
            encode = { clips in try withNoGrad { try tokenizer.encode(clips.to(device)).reshape([clips.size(0), -1]).to(.int32, .cpu) } }
        case .pixels:
            encode = { try $0.to(.float16, .cpu) }
        case .features:
            let i3d = try I3D(weights: I3D.defaultWeights(), device: device)
            encode = { clips in try withNoGrad { try i3d.pooled(Self.i3dInput(i3d, clips)).to(.float32, .cpu) } }
        }
    }

    /// The I3D Kinetics-400 logits (N, 400) of clips (N, C, T, S, S) in [-1, 1].
    public static func kineticsLogits(device: Device) throws -> ClipEncoder {
        let i3d = try I3D(weights: I3D.defaultWeights(), device: device)
        return ClipEncoder(encode: { clips in try withNoGrad { try i3d.logits(i3dInput(i3d, clips)).to(.float32, .cpu) } })
    }

    init(encode: @escaping (Tensor) throws -> Tensor) { self.encode = encode }

    static func i3dInput(_ i3d: I3D, _ clips: Tensor) throws -> Tensor {
        guard clips.size(2) >= I3D.minimumFrames else {
            throw ClassifierError("I3D needs clips of at least \(I3D.minimumFrames) frames, these have \(clips.size(2))")
        }
        return try i3d.prepare((clips + 1.0) / 2.0)
    }

    public func callAsFunction(_ clips: Tensor) throws -> Tensor { try encode(clips) }

    /// The inputs of many clips, `chunk` at a time, with progress (clips done, of all).
    public func encodeAll(count: Int, chunk: Int, clips: (Range<Int>) throws -> Tensor, progress: (Int) -> Void) throws -> Tensor {
        var parts: [Tensor] = []
        for first in stride(from: 0, to: count, by: chunk) {
            let range = first..<Swift.min(first + chunk, count)
            parts.append(try self(clips(range)))
            progress(range.upperBound)
        }
        return try concatenate(parts, dim: 0)
    }
}

/// Makes the examples of a classifier's clip shape from each source.
public struct ExampleMaker {
    public let encoder: ClipEncoder
    public let frames: Int, size: Int, channels: Int

    public init(encoder: ClipEncoder, frames: Int, size: Int, channels: Int) {
        self.encoder = encoder
        (self.frames, self.size, self.channels) = (frames, size, channels)
    }

    /// The first `count` clips of a motion-digits split, each its own video; `shuffled`: the control
    /// with every clip's frames in a random order.
    public func motionDigits(_ digits: MotionDigits, _ split: MotionDigits.Split, count: Int, shuffled: Bool = false,
                             progress: (Int) -> Void = { _ in }) throws -> LabelledClips {
        var labels: [Tensor] = []
        let inputs = try encoder.encodeAll(count: count, chunk: 64, clips: { range in
            let clips = try digits.clips(split, range, frames: frames, size: size, channels: channels, shuffled: shuffled)
            labels.append(clips.labels!)
            return clips.clips
        }, progress: progress)
        return LabelledClips(inputs: inputs, labels: try concatenate(labels, dim: 0), videos: try Tensor.arange(0, Double(count)),
                             videoNames: (0..<count).map { "\(split)-\($0)" })
    }

    /// The first `count` training examples of a registered clip source (one that can index them), or
    /// the first `count` of its held-out set; each clip its own video. Both must carry labels.
    public func labelled(_ source: any ClipSource, training: Bool, count: Int, progress: (Int) -> Void = { _ in }) throws -> LabelledClips {
        let name = training ? "training" : "held-out"
        var held: Clips?
        if training {
            guard source.count != nil else { throw ClassifierError("\(source.summary): its examples are drawn at random; a classifier needs a set it can index") }
        } else {
            held = try source.heldOut(limit: count)
            guard held != nil else { throw ClassifierError("\(source.summary): no held-out set to score (data.eval)") }
        }
        let n = training ? Swift.min(count, source.count!) : held!.count
        var labels: [Tensor] = []
        let inputs = try encoder.encodeAll(count: n, chunk: 64, clips: { range in
            let part = try held.map { try $0.rows(Array(range)) } ?? source.examples(Array(range))
            guard let partLabels = part.labels else { throw ClassifierError("\(source.summary): its \(name) examples carry no labels") }
            labels.append(partLabels)
            return part.clips
        }, progress: progress)
        return LabelledClips(inputs: inputs, labels: try concatenate(labels, dim: 0), videos: try Tensor.arange(0, Double(n)),
                             videoNames: (0..<n).map { "\(name)-\($0)" })
    }

    /// Every consecutive clip (at most `maxClips` per video) of the videos; unlabelled videos get
    /// label −1. Files that cannot be decoded are left out and returned with their errors.
    public func videos(_ list: InputList, maxClips: Int, workers: Int, progress: (Int) -> Void = { _ in }) throws
        -> (examples: LabelledClips, failures: [(path: String, message: String)]) {
        let pool = DecodePool(files: list.files, clipFrames: frames, options: ReadOptions(size: (size, size), centerCrop: true), workers: workers)
        defer { pool.cancel() }
        var inputs: [Tensor] = [], pending: [Tensor] = [], labels: [Int64] = [], videos: [Int64] = [], kept = 0
        var failures: [(path: String, message: String)] = [], failed = Set<Int>()
        func flush() throws {
            guard !pending.isEmpty else { return }
            inputs.append(try encoder(stacked(pending, dim: 0)))
            pending.removeAll()
        }
        while let item = pool.next() {
            switch item {
            case .clip(let clip):
                if clip.index == 0 { kept = 0 }
                guard kept < maxClips else { continue }
                kept += 1
                pending.append(try modelClip(clip.pixels, channels: channels))
                labels.append(Int64(list.labels?[clip.file] ?? -1))
                videos.append(Int64(clip.file))
                if pending.count == 16 { try flush() }
            case .finished(let file, _, _):
                progress(file + 1)
            case .failed(let file, let message):
                failures.append((list.files[file], message))
                failed.insert(file)
            }
        }
        try flush()
        // A failed file's clips decoded before its error are dropped.
        let keep = videos.indices.filter { !failed.contains(Int(videos[$0])) }.map(Int64.init)
        guard !keep.isEmpty else {
            throw ClassifierError(failures.isEmpty ? "no clips in the videos" : "no video could be decoded: \(failures[0].path): \(failures[0].message)")
        }
        let index = try Tensor(keep, shape: [keep.count])
        return (LabelledClips(inputs: try concatenate(inputs, dim: 0).indexSelect(0, index), labels: try Tensor(labels, shape: [labels.count]).indexSelect(0, index),
                              videos: try Tensor(videos, shape: [videos.count]).indexSelect(0, index), videoNames: list.files), failures)
    }

    /// A labelled token dataset's clips for a classifier of `classNames` reading clips of `grid`
    /// tokens of the tokenizer with the weights hash `tokenizer`, grouped into videos by their
    /// source, at most `maxClips` each; unlabelled clips are left out. A dataset made by another
    /// tokenizer, on another grid or with other classes (or the same in another order) is refused.
    public static func tokens(_ dataset: TokenDataset, maxClips: Int, tokenizer: (weights: String, name: String), classNames: [String],
                              grid: [Int]) throws -> LabelledClips {
        try dataset.checkTokenizer(weights: tokenizer.weights, name: tokenizer.name)
        let path = dataset.url.path, index = dataset.index
        guard index.grid == grid else { throw ClassifierError("\(path) holds clips of \(index.grid) tokens; the classifier reads \(grid)") }
        guard index.classes == classNames else {
            throw ClassifierError("\(path): its classes \(index.classes.map(TerminalText.escaped)) are not the classifier's \(classNames.map(TerminalText.escaped))")
        }
        return try tokens(dataset, maxClips: maxClips)
    }

    private static func tokens(_ dataset: TokenDataset, maxClips: Int) throws -> LabelledClips {
        var ids: [Tensor] = [], labels: [Int64] = [], videos: [Int64] = [], names: [String] = [], number: [String: Int] = [:], kept: [Int: Int] = [:]
        for i in dataset.index.shards.indices where dataset.index.shards[i].clips > 0 {
            let shard = try dataset.shard(i)
            let flat = try shard.ids.reshape([shard.count, -1])
            let sources = try shard.tensors["source"]!.toArray(Int32.self), shardLabels = try shard.labels.toArray(Int32.self)
            var rows: [Int64] = []
            for r in 0..<shard.count {
                let name = shard.sources[Int(sources[r])]
                if number[name] == nil { number[name] = names.count; names.append(name) }
                let video = number[name]!
                guard kept[video, default: 0] < maxClips, shardLabels[r] >= 0 else { continue }
                kept[video, default: 0] += 1
                rows.append(Int64(r)); labels.append(Int64(shardLabels[r])); videos.append(Int64(video))
            }
            if !rows.isEmpty { ids.append(try flat.indexSelect(0, Tensor(rows, shape: [rows.count]))) }
        }
        guard !labels.isEmpty else { throw ClassifierError("\(dataset.url.path): no labelled clips") }
        return LabelledClips(inputs: try concatenate(ids, dim: 0), labels: try Tensor(labels, shape: [labels.count]),
                             videos: try Tensor(videos, shape: [videos.count]), videoNames: names)
    }
}

/// Clips (C, T, S, S) in [-1, 1] from the decoder pool's (T, S, S, 3) frames in [0, 1].
func modelClip(_ pixels: Tensor, channels: Int) throws -> Tensor {
    var x = try pixels.permute([3, 0, 1, 2]) * 2.0 - 1.0
    if channels == 1 { x = try x.mean([0], keepDim: true) }
    return try x.contiguous()
}
