// `magvit import` end to end (issue 32): the Open-MAGVIT2 fixture checkpoint imported by the tool as an
// image and as a video tokenizer, then used by `reconstruct`, `tokenize` and `info` like any model.
import Foundation
import NN
import TestSupport
import Tokenizer
import Torch
import XCTest

final class ImportCommandTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-import-command-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        Torch.manualSeed(5)
        try SyntheticData.writeVideo(to: folder.appendingPathComponent("clips/a.mkv"), frames: 5)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func testImportedCheckpointReconstructsAndTokenizes() throws {
        let checkpoint = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/open_magvit2_import", withExtension: "ckpt")).path
        for (name, extra) in [("image", [String]()), ("video", ["--video", "--temporal-downsamplings", "1"])] {
            let model = path("\(name).safetensors")
            var r = try magvit(["import", "open-magvit2", checkpoint, "-o", model] + extra)
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertTrue(r.output.contains("EMA weights"), r.output)
            r = try magvit(["info", model])
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertTrue(r.output.contains("imported from open-magvit2 checkpoint open_magvit2_import.ckpt, sha256 "), r.output)
            let record = try XCTUnwrap(SafeTensors.read(URL(fileURLWithPath: model)).metadata[WeightImport.metadataKey])
            XCTAssertTrue(record.contains(try WeightImport.sha256(of: URL(fileURLWithPath: checkpoint))), record)

            r = try magvit(["reconstruct", path("clips/a.mkv"), "-o", path("\(name)-reconstruction.mp4"), "--checkpoint", model])
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertTrue(r.output.contains("5 frames, PSNR"), r.output)
            XCTAssertTrue(FileManager.default.fileExists(atPath: path("\(name)-reconstruction.mp4")))

            r = try magvit(["tokenize", path("clips"), "-o", path("\(name)-tokens"), "--checkpoint", model])
            XCTAssertEqual(r.status, 0, r.output)
            let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("\(name)-tokens/dataset.json"))))
            XCTAssertTrue("\(index)".contains(try VideoTokenizer.load(from: URL(fileURLWithPath: model)).weightsHash()), "the dataset names the imported model")
        }
        // The same command refuses a format the file is not of, naming what it lacks.
        let r = try magvit(["import", "o2-magvit2", checkpoint, "-o", path("o2.safetensors")])
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.output.contains("not an O2-MAGVIT2 tokenizer state dict"), r.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("o2.safetensors")))
    }
}
