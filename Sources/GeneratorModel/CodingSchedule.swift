// The order in which the codec (Compression) codes a clip's tokens: S groups (1, 4, 16 or 64), each a
// spatial phase of an n×n block (n = √S) in the order of a Bayer matrix, so the first groups are
// evenly spread coarse grids and each later one fills between them. Steps run group by group and,
// within a group, frame by frame: a step is coded given every earlier group in all frames and its
// own group in earlier frames. Sending only the first k groups leaves an evenly thinned clip for the
// decoder to fill. Here because the generator also trains on masks shaped by it (codingMasks).
public struct CodingSchedule: Sendable, Equatable {
    public static let allowedGroups = [1, 4, 16, 64]
    public let groups: Int
    /// The block side n.
    let side: Int

    public init(groups: Int) throws {
        guard Self.allowedGroups.contains(groups) else {
            throw GeneratorError("the coding schedule's groups must be one of \(Self.allowedGroups), got \(groups)")
        }
        self.groups = groups
        side = [1: 1, 4: 2, 16: 4, 64: 8][groups]!
    }

    /// The group of grid position (y, x): the Bayer index of (y mod n, x mod n), where the lowest bits
    /// of the coordinates decide the highest bits of the index.
    public func group(y: Int, x: Int) -> Int {
        var index = 0
        var (y, x) = (y % side, x % side)
        var weight = groups
        while weight > 1 {
            weight /= 4
            let (by, bx) = (y & 1, x & 1)
            index += weight * [0, 2, 3, 1][by * 2 + bx]  // (0,0) 0, (1,1) 1, (0,1) 2, (1,0) 3
            (y, x) = (y >> 1, x >> 1)
        }
        return index
    }

    /// The step of every position of a t × h × w grid, row-major: group · t + frame.
    public func stepIndices(t: Int, h: Int, w: Int) -> [Int] {
        (0..<t).flatMap { f in (0..<h).flatMap { y in (0..<w).map { x in group(y: y, x: x) * t + f } } }
    }

    /// Flat (frame, y, x) row-major indices of a clip of t × h × w coded by each step, in order.
    public func steps(t: Int, h: Int, w: Int) -> [(group: Int, frame: Int, positions: [Int])] {
        var byGroup = [[Int]](repeating: [], count: groups)  // (y, x) offsets within a frame
        for y in 0..<h {
            for x in 0..<w { byGroup[group(y: y, x: x)].append(y * w + x) }
        }
        return (0..<groups).flatMap { g in
            (0..<t).map { f in (g, f, byGroup[g].map { f * h * w + $0 }) }
        }
    }
}
