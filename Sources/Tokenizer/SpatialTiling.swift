// Encoding and decoding in overlapping spatial tiles, so that memory follows the tile, not the frame:
// a 17-frame 768×576 clip took 6.3 GB through video-small whole. The encoder sees each tile with
// `overlap` pixels of context around the part whose tokens it keeps (tokens are exact where the
// encoder's receptive field and its per-frame group norms fit in the tile, close elsewhere); the
// decoder's tiles overlap and are blended with linear ramps. docs/tokenizer.md gives the measured
// difference from the untiled result.
import Foundation
import Torch

/// Tile size and overlap in pixels (multiples of the tokenizer's spatial factor).
public struct SpatialTiling: Sendable, Equatable {
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
    /// The spans of both axes of a token grid of h × w, nil when the frame fits one tile.
    func tileSpans(h: Int, w: Int, _ tiling: SpatialTiling) throws -> (rows: [SpatialTiling.Span], columns: [SpatialTiling.Span])? {
        let f = config.spatialFactor
        try tiling.validate(factor: f)
        let (tile, margin) = (tiling.tile / f, tiling.overlap / f)
        guard h > tile || w > tile else { return nil }
        return (SpatialTiling.spans(length: h, tile: tile, margin: margin), SpatialTiling.spans(length: w, tile: tile, margin: margin))
    }

    /// Token ids (B, t, h, w) of frames (B, C, T, H, W), window by window: each window's core tokens.
    func encodeTiles(_ frames: Tensor, rows: [SpatialTiling.Span], columns: [SpatialTiling.Span]) throws -> Tensor {
        let f = config.spatialFactor
        return try concatenate(rows.map { row in
            try concatenate(columns.map { column in
                let ids = try quantizer.ids(latents(region(frames, row.window, column.window, scale: f)))
                return try region(ids, row.core.shifted(by: -row.window.lowerBound), column.core.shifted(by: -column.window.lowerBound), dims: (2, 3))
            }, dim: 3)
        }, dim: 2)
    }

    /// Frames of quantized latents (B, d, t, h, w), window by window, blended: weights rise linearly
    /// across each window's margins, except at the frame's edges.
    func decodeTiles(latents: Tensor, rows: [SpatialTiling.Span], columns: [SpatialTiling.Span], overlap: Int) throws -> Tensor {
        let f = config.spatialFactor
        let (h, w) = (latents.size(3), latents.size(4))
        var sum: Tensor?
        let weights = try Tensor.zeros([h * f, w * f], dtype: latents.dtype, device: latents.device)
        for row in rows {
            let rowRamp = try SpatialTiling.ramp(row, length: h, factor: f, margin: overlap).reshape([-1, 1])
            for column in columns {
                let y = try decode(latents: region(latents, row.window, column.window))  // (B, C, T, th, tw)
                if sum == nil { sum = try Tensor.zeros([y.size(0), y.size(1), y.size(2), h * f, w * f], dtype: y.dtype, device: y.device) }
                let weight = try (rowRamp * SpatialTiling.ramp(column, length: w, factor: f, margin: overlap).reshape([1, -1])).to(y.dtype, y.device)
                try region(sum!, row.window, column.window, scale: f).add_(y * weight)
                try region(weights, row.window, column.window, dims: (0, 1), scale: f).add_(weight)
            }
        }
        return try sum! / weights
    }

    /// The part of `t` at `rows` × `columns` (token ranges, × `scale` for pixels) of dims `dims`.
    private func region(_ t: Tensor, _ rows: Range<Int>, _ columns: Range<Int>, dims: (Int, Int) = (3, 4), scale: Int = 1) throws -> Tensor {
        try t.narrow(dims.0, start: rows.lowerBound * scale, length: rows.count * scale)
            .narrow(dims.1, start: columns.lowerBound * scale, length: columns.count * scale)
    }
}

fileprivate extension Range where Bound == Int {
    func shifted(by offset: Int) -> Range<Int> { (lowerBound + offset)..<(upperBound + offset) }
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
