// The generator's training tokens from a token source (`TokenSources`: `data.kind: tokens`, a dataset
// made by `magvit tokenize`; `videos`, tokenized into the run folder), checked against its tokenizer
// and grid. Class-conditional when the dataset has labels. Frame prediction is scored on the held-out
// videos of `data.eval`, if any.
import Dataset
import Foundation
import Harness
import Tokenizer
import Torch

enum TokenData {
    /// The training set's dataset, checked against the tokenizer and the generator's grid.
    static func prepare(_ data: DataConfig, grid: [Int], run: TokenizingRun) throws -> TokenDataset {
        let dataset = try TokenSources.dataset(data, run)
        let tokenizer = run.tokenizer.model
        try dataset.checkTokenizer(weights: run.tokenizer.hash, name: tokenizer.config.name)
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
