// Encoding and decoding in overlapping spatial tiles, so that memory follows the tile, not the frame:
// a 17-frame 768×576 clip took 6.3 GB through video-small whole. The encoder sees each tile with
// `overlap` pixels of context around the part whose tokens it keeps (tokens are exact where the
// encoder's receptive field and its per-frame group norms fit in the tile, close elsewhere); the
// decoder's tiles overlap and are blended with linear ramps. docs/tokenizer.md gives the measured
// difference from the untiled result.
import Foundation
import Torch

/// Tile size and overlap in pixels (multiples of the tokenizer's spatial factor).
public struct SpatialTiling: Sendable, Equatable, CustomStringConvertible {
    /// Tiles are `tile` × `tile` pixels; frames no larger than that in both directions go whole.
    public var tile: Int
    /// Context on each side of a tile's kept part (encoder), the blend zone of the decoder.
    public var overlap: Int

    public init(tile: Int, overlap: Int) {
        self.tile = tile
        self.overlap = overlap
    }

    /// 320-pixel tiles with 32 pixels of context each side (256-pixel steps).
    public static let standard = SpatialTiling(tile: 320, overlap: 32)

    public var description: String { "\(tile)-pixel tiles, \(overlap)-pixel overlap" }

    /// Checks the sizes against a model's spatial factor.
    public func validate(factor: Int) throws {
        guard tile > 0, overlap >= 0, tile % factor == 0, overlap % factor == 0, tile > 2 * overlap else {
            throw TokenizerError.invalidInput("tiles must be positive multiples of \(factor) pixels larger than twice the overlap (a multiple of \(factor) too); got \(tile) and \(overlap)")
        }
    }

    /// One tile along an axis, in tokens: the window the model sees and the part of it kept (encoder)
    /// or weighted fully (decoder).
    struct Span: Equatable {
        var window: Range<Int>
        var core: Range<Int>
    }

    /// The spans covering `length` tokens with windows of at most `tile` tokens: the fewest equal cores
    /// that partition the axis, each window its core and `margin` tokens of context on inner sides.
    static func spans(length: Int, tile: Int, margin: Int) -> [Span] {
        guard length > tile else { return [Span(window: 0..<length, core: 0..<length)] }
        var n = 2
        while (length + n - 1) / n + (n > 2 ? 2 : 1) * margin > tile { n += 1 }
        let core = (length + n - 1) / n
        return stride(from: 0, to: length, by: core).map { a in
            let b = Swift.min(a + core, length)
            return Span(window: Swift.max(a - margin, 0)..<Swift.min(b + margin, length), core: a..<b)
        }
    }
}

extension VideoTokenizer {
    /// The spans of both axes of a token grid, nil when the frame fits one tile.
    func tileSpans(h: Int, w: Int, _ tiling: SpatialTiling) throws -> (rows: [SpatialTiling.Span], columns: [SpatialTiling.Span])? {
        let f = config.spatialFactor
        try tiling.validate(factor: f)
        let (tile, margin) = (tiling.tile / f, tiling.overlap / f)
        guard h > tile || w > tile else { return nil }
        return (SpatialTiling.spans(length: h, tile: tile, margin: margin), SpatialTiling.spans(length: w, tile: tile, margin: margin))
    }

    /// Token ids (B, t, h, w) of frames, encoded tile by tile: each tile's kept tokens.
    func encodeTiled(_ frames: Tensor, _ tiling: SpatialTiling) throws -> Tensor {
        let f = config.spatialFactor
        guard frames.rank == 5, let (rows, columns) = try tileSpans(h: frames.size(3) / f, w: frames.size(4) / f, tiling) else {
            return try withNoGrad { try quantizer.ids(latents(frames)) }
        }
        return try withNoGrad {
            try concatenate(rows.map { row in
                try concatenate(columns.map { column in
                    let window = try frames.narrow(3, start: row.window.lowerBound * f, length: row.window.count * f)
                        .narrow(4, start: column.window.lowerBound * f, length: column.window.count * f)
                    let ids = try quantizer.ids(latents(window))
                    return try ids.narrow(2, start: row.core.lowerBound - row.window.lowerBound, length: row.core.count)
                        .narrow(3, start: column.core.lowerBound - column.window.lowerBound, length: column.core.count)
                }, dim: 3)
            }, dim: 2)
        }
    }

    /// Frames of quantized latents (B, d, t, h, w), decoded tile by tile and blended: weights rise
    /// linearly across each window's margins, except at the frame's edges.
    func decodeTiled(latents: Tensor, _ tiling: SpatialTiling) throws -> Tensor {
        guard let (rows, columns) = try tileSpans(h: latents.size(3), w: latents.size(4), tiling) else { return try decode(latents: latents) }
        let f = config.spatialFactor
        var sum: Tensor?
        let weights = try Tensor.zeros([latents.size(3) * f, latents.size(4) * f], dtype: latents.dtype, device: latents.device)
        for row in rows {
            for column in columns {
                let window = try latents.narrow(3, start: row.window.lowerBound, length: row.window.count)
                    .narrow(4, start: column.window.lowerBound, length: column.window.count)
                let y = try decode(latents: window)  // (B, C, T, th, tw)
                if sum == nil { sum = try Tensor.zeros([y.size(0), y.size(1), y.size(2), weights.size(0), weights.size(1)], dtype: y.dtype, device: y.device) }
                let weight = try (SpatialTiling.ramp(row, length: latents.size(3), factor: f, margin: tiling.overlap).reshape([-1, 1])
                    * SpatialTiling.ramp(column, length: latents.size(4), factor: f, margin: tiling.overlap).reshape([1, -1])).to(y.dtype, y.device)
                func place(_ t: Tensor, _ dims: (Int, Int)) throws -> Tensor {
                    try t.narrow(dims.0, start: row.window.lowerBound * f, length: y.size(3)).narrow(dims.1, start: column.window.lowerBound * f, length: y.size(4))
                }
                try place(sum!, (3, 4)).add_(y * weight)
                try place(weights, (0, 1)).add_(weight)
            }
        }
        return try sum! / weights
    }
}

extension SpatialTiling {
    /// A window's blend weights along one axis, in pixels: rising from near 0 to 1 across `margin`
    /// pixels at each side that is not the frame's edge.
    static func ramp(_ span: Span, length: Int, factor: Int, margin: Int) throws -> Tensor {
        let n = span.window.count * factor
        let values = (0..<n).map { i -> Float in
            var w: Double = 1
            if margin > 0, span.window.lowerBound > 0 { w = Swift.min(w, (Double(i) + 0.5) / Double(margin)) }
            if margin > 0, span.window.upperBound < length { w = Swift.min(w, (Double(n - i) - 0.5) / Double(margin)) }
            return Float(w)
        }
        return try Tensor(values, shape: [n])
    }
}
