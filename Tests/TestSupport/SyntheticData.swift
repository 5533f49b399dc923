// Small datasets made by the tests themselves: IDX files of synthetic 28×28 "items" (a bright
// rectangle whose place and size follow the class) with labels, and short lossless videos.
import Foundation
import Media
import Torch

public enum SyntheticData {
    /// Writes train/t10k IDX image and label files (uncompressed, or gzip'd when `gzip`) into `folder`.
    /// A lossless video (mkv, FFV1) of smooth random content, `size`×`size`, `frames` long, its folders made.
    public static func writeVideo(to url: URL, frames: Int, size: Int = 16) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let coarse = try Tensor.rand([frames, 3, 4, 4])
        let video = try interpolate(coarse, size: [size, size], mode: .linear).permute([0, 2, 3, 1]).contiguous()
        let writer = try VideoWriter(path: url.path, width: size, height: size)
        try writer.write((video * 255).round() / 255)
        try writer.finish()
    }

    public static func writeIDX(to folder: URL, train: Int, test: Int, side: Int = 28, gzip: Bool = false) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var random = SeededRandom(seed: 11)
        for (prefix, count) in [("train", train), ("t10k", test)] {
            var pixels = [UInt8](repeating: 0, count: count * side * side)
            var labels: [UInt8] = []
            for i in 0..<count {
                let label = Int(random.next() % 10)
                labels.append(UInt8(label))
                let top = 2 + label % 5 * 3, left = 2 + label / 5 * 8, height = 6 + Int(random.next() % 8), width = 6 + Int(random.next() % 8)
                for r in top..<Swift.min(side, top + height) {
                    for c in left..<Swift.min(side, left + width) { pixels[(i * side + r) * side + c] = UInt8(128 + random.next() % 128) }
                }
            }
            try write(header: [0, 0, 8, 3] + bigEndian([count, side, side]), body: pixels,
                      to: folder.appendingPathComponent("\(prefix)-images-idx3-ubyte"), gzip: gzip)
            try write(header: [0, 0, 8, 1] + bigEndian([count]), body: labels,
                      to: folder.appendingPathComponent("\(prefix)-labels-idx1-ubyte"), gzip: gzip)
        }
    }

    private static func bigEndian(_ values: [Int]) -> [UInt8] {
        values.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }
    }

    private static func write(header: [UInt8], body: [UInt8], to url: URL, gzip: Bool) throws {
        try Data(header + body).write(to: url)
        guard gzip else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-f", url.path]
        try process.run()
        process.waitUntilExit()
    }
}
