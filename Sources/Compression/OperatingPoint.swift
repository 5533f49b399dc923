// The codec's rate settings: how many groups of the coding schedule a clip has, how many are sent
// (the decoder fills the rest with the prior), and the scale the clip is coded at (played back at its
// own size). `ladder` is `magvit compress --quality`; `magvit-bench rd-study` measures the points.
import GeneratorModel

/// One operating point of the codec.
public struct OperatingPoint: Equatable, Sendable, CustomStringConvertible {
    public let groups: Int, keep: Int, scale: Double

    public init(groups: Int, keep: Int, scale: Double = 1) throws {
        let allowed = CodingSchedule.allowedGroups
        guard allowed.contains(groups), (1...groups).contains(keep), scale > 0, scale <= 1 else {
            throw CompressionError("an operating point needs groups one of \(allowed), 1 <= keep <= groups and 0 < scale <= 1; got \(groups) groups, \(keep) sent, scale \(scale)")
        }
        (self.groups, self.keep, self.scale) = (groups, keep, scale)
    }

    /// `GROUPS:KEEP` or `GROUPS:KEEP@SCALE`, e.g. `4:2@0.5`.
    public init(parsing text: String) throws {
        let pieces = text.split(separator: "@", omittingEmptySubsequences: false)
        let parts = pieces[0].split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard pieces.count <= 2, parts.count == 2, let groups = parts[0], let keep = parts[1],
              let scale = pieces.count == 2 ? Double(pieces[1]) : 1 else {
            throw CompressionError("expected GROUPS:KEEP or GROUPS:KEEP@SCALE (e.g. 4:2@0.5), got '\(text)'")
        }
        try self.init(groups: groups, keep: keep, scale: scale)
    }

    public var description: String { "\(keep)/\(groups) groups" + (scale == 1 ? "" : " at \(scale)x") }

    /// The quality levels of `magvit compress --quality`, lowest rate first. Above the lowest, every
    /// level is a complete stream (all groups sent) at a larger scale: a partial stream's missing tokens
    /// are the prior's guesses, which erase objects (bikes: full size with 1 of 4 groups, 17.2 dB, lost
    /// to half size with all groups, 22.8 dB, at the same bytes), while more of a clip's pixels coded in
    /// full never reconstruct worse. The lowest level alone is partial (half size, 2 of 4 groups), below
    /// every complete stream in rate. scripts/ladder-check.sh checks that LPIPS falls level by level on
    /// five clips; a 0.875 level was left out, as it was no better than 0.75 on the astronaut pan
    /// (0.3861 against 0.3829) and better than full size on bikes (0.3087 against 0.3128).
    public static let ladder: [OperatingPoint] = [
        try! OperatingPoint(groups: 4, keep: 2, scale: 0.5), try! OperatingPoint(groups: 4, keep: 4, scale: 0.5),
        try! OperatingPoint(groups: 4, keep: 4, scale: 0.625), try! OperatingPoint(groups: 4, keep: 4, scale: 0.75),
        try! OperatingPoint(groups: 4, keep: 4),
    ]

    /// The size a width×height clip is coded at: each side scaled and rounded to a multiple of the
    /// tokenizer's spatial factor (at least one factor); nil at full scale.
    public func codedSize(width: Int, height: Int, factor: Int) -> (width: Int, height: Int)? {
        guard scale < 1 else { return nil }
        func side(_ n: Int) -> Int { max(factor, Int((Double(n) * scale / Double(factor)).rounded()) * factor) }
        return (side(width), side(height))
    }
}
