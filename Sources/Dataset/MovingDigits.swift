// Synthetic video in the manner of Moving MNIST (Srivastava et al. 2015): digits bouncing inside a
// square, drawn on the fly from an image set, so video training and frame prediction can be tested
// on clips whose motion is known.
import Foundation
import Harness
import Torch

public struct MovingDigits: @unchecked Sendable {
    /// The digit glyphs (N, h, w) as bytes, row-major.
    private let glyphs: [UInt8]
    private let glyphCount: Int
    private let glyphSize: (h: Int, w: Int)
    public let digits: Int

    /// Digits are taken from `source` (grey; colour images are averaged), shrunk by area averaging to
    /// `size`×`size` when `size` is given (it must divide the glyph side).
    public init(source: ImageSet, digits: Int = 2, size: Int? = nil) throws {
        guard digits >= 1 else { throw ConfigError("moving digits need at least one digit per clip") }
        var grey = try source.images.to(.float32).mean([3])  // (N, h, w)
        if let size, size != grey.size(1) || size != grey.size(2) {
            let (h, w) = (grey.size(1), grey.size(2))
            guard size > 0, h % size == 0, w % size == 0 else {
                throw ConfigError("moving digits: digit size \(size) must divide the glyphs' \(h)x\(w)")
            }
            grey = try avgPool(grey.unsqueeze(1), kernel: [h / size, w / size]).squeeze(1)
        }
        grey = try grey.round().to(.uint8)
        glyphs = try grey.toArray(UInt8.self)
        glyphCount = source.count
        glyphSize = (grey.size(1), grey.size(2))
        self.digits = digits
    }

    /// Digits of `source` as a config's data section asks: `digits` per clip, `digitSize` pixels a side.
    public init(source: ImageSet, data: DataConfig) throws {
        try self.init(source: source, digits: data.digits, size: data.digitSize > 0 ? data.digitSize : nil)
    }

    /// A clip (channels, frames, size, size) in [-1, 1]: each digit starts at a random place with a
    /// random velocity of 1 to 3 pixels a frame per axis and bounces off the borders; overlaps take
    /// the brighter pixel.
    public func clip(frames: Int, size: Int, channels: Int, random: inout SeededRandom) throws -> Tensor {
        let (gh, gw) = glyphSize
        guard size >= gh, size >= gw else { throw ConfigError("moving digits need frames of at least \(gh)x\(gw), got \(size)") }
        var tracks: [(glyph: Int, places: [(top: Int, left: Int)])] = []
        for _ in 0..<digits {
            let glyph = Int(random.next() % UInt64(glyphCount))
            var y = Double(random.next() % UInt64(size - gh + 1)), x = Double(random.next() % UInt64(size - gw + 1))
            var dy = Double(1 + random.next() % 3) * (random.next() & 1 == 0 ? 1 : -1)
            var dx = Double(1 + random.next() % 3) * (random.next() & 1 == 0 ? 1 : -1)
            var places: [(top: Int, left: Int)] = []
            for _ in 0..<frames {
                places.append((Int(y), Int(x)))
                // Move, reflecting off the borders.
                y += dy; x += dx
                if y < 0 || y > Double(size - gh) { dy = -dy; y = Swift.min(Swift.max(y, 0), Double(size - gh)) }
                if x < 0 || x > Double(size - gw) { dx = -dx; x = Swift.min(Swift.max(x, 0), Double(size - gw)) }
            }
            tracks.append((glyph, places))
        }
        return try render(tracks, frames: frames, size: size, channels: channels)
    }

    /// The glyph side (height, width) in pixels.
    var glyphSide: (h: Int, w: Int) { glyphSize }
    /// A random glyph's number.
    func randomGlyph(_ random: inout SeededRandom) -> Int { Int(random.next() % UInt64(glyphCount)) }

    /// Draws each glyph at its place in every frame (the top-left corners, inside the frame); overlaps
    /// take the brighter pixel. Returns (channels, frames, size, size) in [-1, 1].
    func render(_ tracks: [(glyph: Int, places: [(top: Int, left: Int)])], frames: Int, size: Int, channels: Int) throws -> Tensor {
        let (gh, gw) = glyphSize
        var canvas = [Float](repeating: 0, count: frames * size * size)
        for (glyph, places) in tracks {
            let first = glyph * gh * gw
            for (t, (top, left)) in places.enumerated() {
                for r in 0..<gh {
                    for c in 0..<gw {
                        let value = Float(glyphs[first + r * gw + c])
                        let i = (t * size + top + r) * size + left + c
                        if value > canvas[i] { canvas[i] = value }
                    }
                }
            }
        }
        let clip = try Tensor(canvas, shape: [1, frames, size, size]) / 127.5 - 1
        return channels == 1 ? clip : try clip.expand([channels, frames, size, size]).contiguous()
    }
}
