// The generator's training tokens as a token dataset: `data.kind: tokens` names one made by
// `magvit tokenize` (`data.path`); `data.kind: videos` tokenizes the videos of `data.train` into one
// in the run folder (`tokens/`, resumed and reused like any dataset). Class-conditional when the
// dataset has labels. Frame prediction is scored on the held-out videos of `data.eval`, if any.
import Dataset
import Foundation
import Harness
import Tokenizer
import Torch

enum TokenData {
    /// Whether the generator trains on a token dataset for this kind.
    static func applies(_ kind: DataKind) -> Bool { kind == .tokens || kind == .videos }

    /// The inputs of a `videos` set with their labels.
    static func inputs(_ data: DataConfig) throws -> InputList {
        guard !data.train.isEmpty else { throw ConfigError("data.train must name the videos (files, folders, patterns or a .txt list)") }
        do { return try InputList.expand(data.train, labels: LabelSource(data.labels)) } catch let e as DatasetError {
            throw ConfigError("data.train: \(e.description)")
        }
    }

    /// Classes of the set: the dataset's or the labelled videos'.
    static func classes(_ data: DataConfig) throws -> Int {
        if data.kind == .tokens { return try dataset(data).index.classes.count }
        return try inputs(data).classes.count
    }

    /// The dataset named by `data.path`.
    static func dataset(_ data: DataConfig) throws -> TokenDataset {
        guard !data.path.isEmpty else { throw ConfigError("data.path must name a token dataset folder (made by `magvit tokenize`)") }
        guard FileManager.default.fileExists(atPath: data.path) else {
            throw ConfigError("data.path: \(data.path): no such folder (\(ShippedResources.lookupRule); make a token dataset with `magvit tokenize INPUTS -o FOLDER`)")
        }
        do { return try TokenDataset(URL(fileURLWithPath: data.path)) } catch let e as DatasetError { throw ConfigError("data.path: \(e.description)") }
    }

    /// The training set's dataset, checked against the tokenizer and the generator's grid; videos are
    /// tokenized into `folder/tokens` first.
    static func prepare(_ data: DataConfig, tokenizer: VideoTokenizer, grid: [Int], folder: URL, device: Device, log: RunLog) throws -> TokenDataset {
        let dataset: TokenDataset
        if data.kind == .tokens {
            dataset = try Self.dataset(data)
        } else {
            var options = TokenizeOptions()
            options.device = device
            let output = folder.appendingPathComponent("tokens")
            let job = try Tokenization(model: tokenizer, inputs: inputs(data), labels: LabelSource(data.labels), output: output, options: options)
            let index = try job.run { p in log.progress(step: p.filesDone, of: p.files, stepsPerSecond: p.clipsPerSecond, loss: nil) }
            log.say("tokenized \(index.clips) clips from \(index.files - index.failures.count) of \(index.files) videos into \(output.path)")
            for f in index.failures { log.say("skipped \(f.error)") }
            dataset = try TokenDataset(output)
        }
        try dataset.checkTokenizer(weights: tokenizer.weightsHash(), name: tokenizer.config.name)
        guard dataset.index.grid == grid else {
            throw ConfigError("\(dataset.url.path) holds clips of \(dataset.index.grid) tokens; the generator's grid is \(grid) (tokenize at the tokenizer's resolution, \(tokenizer.config.resolution))")
        }
        return dataset
    }

    /// Held-out clips for frame prediction: the videos of `data.eval` (nil when it names none).
    static func heldOut(_ data: DataConfig, shape: ClipShape, seed: UInt64) throws -> (any ClipSource)? {
        guard !data.eval.isEmpty else { return nil }
        var videos = data
        videos.kind = .videos
        videos.train = data.eval
        return try VideoClipSource(config: videos, shape: shape, seed: seed)
    }
}
