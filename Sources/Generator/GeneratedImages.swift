// From generated frames to pictures: cropping the padding the image sets were trained with, and
// PNG grids and files. (Token ids become frames through the tokenizer in GeneratorModel:
// `GenerativeNetworks.decodeTokens`.)
import Foundation
import Media
import Torch

public enum GeneratedImages {
    /// (B, C, T, H, W) in [-1, 1] as (B·T, H, W, 3) in [0, 1], the centre `crop`×`crop` when given.
    public static func pictures(_ frames: Tensor, crop: Int? = nil) throws -> Tensor {
        let (b, c, t, h, w) = (frames.size(0), frames.size(1), frames.size(2), frames.size(3), frames.size(4))
        var x = try frames.permute([0, 2, 3, 4, 1]).reshape([b * t, h, w, c])
        if let crop, crop < h, crop < w {
            x = try x.narrow(1, start: (h - crop) / 2, length: crop).narrow(2, start: (w - crop) / 2, length: crop)
        }
        if c == 1 { x = try x.expand([x.size(0), x.size(1), x.size(2), 3]) }
        return try ((x + 1.0) / 2.0).contiguous()
    }

    /// One PNG of the frames (B, C, T, H, W) in [-1, 1]: `columns` per row, a 1-pixel white border each.
    public static func writeGrid(_ frames: Tensor, columns: Int, crop: Int? = nil, to url: URL) throws {
        let grid = try grid(frames, columns: columns, crop: crop)
        let writer = try VideoWriter(path: url.path, width: grid.size(1), height: grid.size(0))
        try writer.write(grid.unsqueeze(0))
        try writer.finish()
    }

    /// The frames (B, C, T, H, W) in [-1, 1] as one picture (H', W', 3) in [0, 1]: `columns` per row,
    /// a 1-pixel white border each.
    public static func grid(_ frames: Tensor, columns: Int, crop: Int? = nil) throws -> Tensor {
        let x = try pictures(frames, crop: crop)
        let (n, h, w) = (x.size(0), x.size(1), x.size(2))
        let rows = (n + columns - 1) / columns
        var lines: [Tensor] = []
        for r in 0..<rows {
            var tiles: [Tensor] = []
            for c in 0..<columns {
                let i = r * columns + c
                let tile = i < n ? try x.select(0, i) : try Tensor.ones([h, w, 3])
                tiles.append(try tile.pad([0, 0, 1, 1, 1, 1], value: 1))
            }
            lines.append(try concatenate(tiles, dim: 1))
        }
        return try concatenate(lines, dim: 0)
    }
}

