// docs/tokenizer.md's preset table against the presets (issue 34: numbers in the docs come from a
// command, and the ones that can drift are checked): input, token grid and vocabulary of every preset,
// and parameters and FLOPs (as `magvit presets` counts them) of the presets small enough to build here.
import Foundation
import Tokenizer
import Torch
import XCTest

final class PresetDocsTests: XCTestCase {
    func testTokenizerDocsPresetTableMatchesThePresets() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/tokenizer.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let header = "| preset | input (T×H×W×C) | tokens | vocabulary | parameters | encode GFLOPs | decode GFLOPs |"
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try XCTUnwrap(lines.firstIndex(of: header), "docs/tokenizer.md has no preset table")
        let rows = lines[(start + 2)...].prefix { $0.hasPrefix("|") }.map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } }
        XCTAssertEqual(Set(rows.compactMap { $0.first?.split(separator: " ").first.map(String.init) }),
                       Set(["video-128", "image-256", "image-128", "video-small", "image-small", "tiny"]))
        for row in rows {
            let name = String(row[0].split(separator: " ")[0])
            let c = try XCTUnwrap(TokenizerConfig.presets[name], name)
            let grid = c.tokenGrid(frames: c.clipFrames, height: c.resolution, width: c.resolution)
            XCTAssertEqual(row[1], "\(c.clipFrames)×\(c.resolution)×\(c.resolution)×\(c.imageChannels)", name)
            XCTAssertEqual(row[2], "\(grid.t)×\(grid.h)×\(grid.w)", name)
            XCTAssertEqual(row[3], "2^\(c.quantizer.bits)", name)
            // The three large presets take a minute and gigabytes to build; `magvit presets` prints theirs.
            guard ["video-small", "image-small", "tiny"].contains(name) else { continue }
            let model = try VideoTokenizer(config: c)
            let (encode, decode) = try model.flops(frames: c.clipFrames, height: c.resolution, width: c.resolution)
            XCTAssertEqual(row[4], String(format: "%.2fM", Double(model.parameterCount) / 1e6), name)
            XCTAssertEqual(row[5], String(format: "%.2f", Double(encode) / 1e9), name)
            XCTAssertEqual(row[6], String(format: "%.2f", Double(decode) / 1e9), name)
        }
    }
}
