// `data.kind: token-tiles`: token files of whole frames (`magvit encode`), cut into tiles of the
// generator's grid, overlapping by half a tile (`TileLayout`). The codec prior's training data: the
// tokens of real frames at their own size, as the codec sees them (tiles of a whole-frame encoding,
// not encodings of crops, whose borders the tokenizer's padding changes). Only clips of the grid's
// latent frames are used.
import Codec
import Dataset
import Foundation
import GeneratorModel
import Harness
import Torch

public enum TokenTiles {
    /// (N, T·H·W) int64 tiles of the token files of `data.train`, made by the tokenizer of `weights`.
    static func load(_ data: DataConfig, grid: [Int], tokenizerWeights: String) throws -> Tensor {
        guard !data.train.isEmpty else { throw ConfigError("data.train must list token files (.mgvt, made by magvit encode)") }
        let (tt, th, tw) = (grid[0], grid[1], grid[2])
        var tiles: [Int64] = []
        var count = 0
        for path in data.train {
            let file: TokenFile
            do { file = try TokenFile(contentsOf: URL(fileURLWithPath: path)) } catch { throw ConfigError("data.train: \(error)") }
            let h = file.header
            guard h.tokenizer.weights == tokenizerWeights else {
                throw ConfigError("data.train: \(path) was made by another tokenizer (weights \(h.tokenizer.weights.prefix(12)))")
            }
            guard h.h >= th, h.w >= tw else { throw ConfigError("data.train: \(path) has a \(h.h)x\(h.w) token grid, smaller than the tiles' \(th)x\(tw)") }
            var first = 0
            for chunk in h.chunks {
                defer { first += chunk.latentFrames }
                guard chunk.latentFrames == tt else { continue }
                for oy in TileLayout.origins(h.h, tile: th, step: Swift.max(1, th / 2)) {
                    for ox in TileLayout.origins(h.w, tile: tw, step: Swift.max(1, tw / 2)) {
                        for f in 0..<tt {
                            for y in 0..<th {
                                let row = ((first + f) * h.h + oy + y) * h.w + ox
                                tiles += file.ids[row..<(row + tw)]
                            }
                        }
                        count += 1
                    }
                }
            }
        }
        guard count > 0 else { throw ConfigError("data.train: no clip of \(tt) latent frames in the token files") }
        return try Tensor(tiles, shape: [count, tt * th * tw])
    }
}
