// A labelled video benchmark whose label needs time: one digit crossing the frame in one of four
// directions, speeding up or slowing down (8 classes). Position follows s² (speeding up) or
// 1 − (1 − s)² (slowing down) of the way, s = t/(T−1), over a random distance from a random start,
// so one frame says nothing about the class; and the frames of "right, speeding up" are those of
// "left, slowing down" in reverse, so a model that ignores frame order can at best tell the pairs
// apart (50 % top-1). Clips are a pure function of (seed, split, index): the splits never share a clip.
import Foundation
import Harness
import Torch

public struct MotionDigits: Sendable {
    public enum Split: UInt64, Sendable, CaseIterable {
        case train = 1, validation = 2, test = 3
    }

    public static let directions = ["right", "left", "down", "up"]
    public static let tempos = ["speeding-up", "slowing-down"]
    /// Class names, label = direction × 2 + tempo.
    public static let classNames = directions.flatMap { d in tempos.map { "\(d)-\($0)" } }

    /// Glyphs of the training clips, and of the validation and test clips (other digits).
    let training: MovingDigits, held: MovingDigits
    public let seed: UInt64

    public init(training: MovingDigits, held: MovingDigits, seed: UInt64) {
        self.training = training
        self.held = held
        self.seed = seed
    }

    /// Glyphs as a config's data section names them (`data.train`, `data.digitSize`; MNIST or
    /// Fashion-MNIST files, the MNIST pickle by default): training digits for the training split,
    /// test digits for the others.
    public init(data: DataConfig, seed: UInt64) throws {
        var data = data
        if data.train.isEmpty { data.train = [MNISTPickle.defaultPath] }
        let (train, test) = try DigitImageSource.splits(data)
        try self.init(training: MovingDigits(source: train, data: data), held: MovingDigits(source: test ?? train, data: data), seed: seed)
    }

    /// Clips (N, channels, frames, size, size) in [-1, 1] and labels (N) of `split`, indices
    /// `range`; with `shuffled`, each clip's frames in a random order of its own (the control).
    public func clips(_ split: Split, _ range: Range<Int>, frames: Int, size: Int, channels: Int, shuffled: Bool = false) throws -> Clips {
        let digits = split == .train ? training : held
        let (gh, gw) = digits.glyphSide
        guard frames >= 2, size > gh + 4, size > gw + 4 else {
            throw ConfigError("data.kind motion-classes: motion digits need at least 2 frames and frames wider than the \(gh)x\(gw) digit by 4 pixels, got \(frames) frames of \(size)")
        }
        var parts: [Tensor] = [], labels: [Int64] = []
        for index in range {
            var random = SeededRandom(seed: seed ^ (split.rawValue &* 0x9E37_79B9_7F4A_7C15), step: index, stream: 7)
            let label = Int(random.next() % UInt64(Self.classNames.count))
            let (direction, slowing) = (label / 2, label % 2 == 1)
            let glyph = digits.randomGlyph(&random)
            let vertical = direction >= 2
            let room = Double(vertical ? size - gh : size - gw)
            let distance = room * (0.6 + 0.4 * random.uniform())
            let start = (room - distance) * random.uniform()
            let across = Int(random.next() % UInt64((vertical ? size - gw : size - gh) + 1))
            let places = (0..<frames).map { t -> (top: Int, left: Int) in
                let s = Double(t) / Double(frames - 1)
                var along = distance * (slowing ? 1 - (1 - s) * (1 - s) : s * s)
                if direction % 2 == 1 { along = distance - along }  // left or up: from the far end
                let p = Int((start + along).rounded())
                return vertical ? (p, across) : (across, p)
            }
            var clip = try digits.render([(glyph, shuffled ? permuted(places, &random) : places)], frames: frames, size: size, channels: channels)
            clip = try clip.unsqueeze(0)
            parts.append(clip)
            labels.append(Int64(label))
        }
        return Clips(clips: try concatenate(parts, dim: 0), labels: try Tensor(labels, shape: [labels.count]))
    }

    private func permuted<T>(_ items: [T], _ random: inout SeededRandom) -> [T] {
        var items = items
        for i in stride(from: items.count - 1, to: 0, by: -1) { items.swapAt(i, Int(random.next() % UInt64(i + 1))) }
        return items
    }
}
