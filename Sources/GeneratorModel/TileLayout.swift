// How a token grid larger than a generator's is cut into tiles of the generator's grid: one layout
// for the codec prior (tiles side by side) and the token-tiles training data (tiles overlapping by
// half), so that the prior reads tiles as it was trained on them.
public enum TileLayout {
    /// Tile origins along a side of `length`: every `step`, and the last tile shifted back to end at
    /// the edge (one tile at 0 when the side is no longer than a tile). The codec's tiles use step =
    /// tile, the training tiles half a tile.
    public static func origins(_ length: Int, tile: Int, step: Int) -> [Int] {
        guard length > tile else { return [0] }
        var origins = Array(stride(from: 0, through: length - tile, by: step))
        if origins.last != length - tile { origins.append(length - tile) }
        return origins
    }
}
