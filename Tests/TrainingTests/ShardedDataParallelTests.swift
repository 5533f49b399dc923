// Two ranks on sharded sources equal one process (issue 36): a tokenizer on a mixture of videos and
// photo pans with still images (an image set and pans) beside the clips, each rank making only its
// rows of every global batch.
import Dataset
import Foundation
import Harness
import TestSupport
import Torch
import XCTest

extension DataParallelTests {
    func testTwoRanksOnShardedMixtureAndStillImagesEqualOneProcess() throws {
        let photos = folder.appendingPathComponent("photos"), videos = folder.appendingPathComponent("videos")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: videos, withIntermediateDirectories: true)
        for (name, w, h) in [("a.png", 80, 60), ("b.png", 48, 64)] { try PNG.write(Tensor.rand([h, w, 3]), to: photos.appendingPathComponent(name)) }
        for (name, frames) in [("a", 12), ("b", 20)] {
            try FrameFile.save((Tensor.rand([frames, 24, 28, 3]) * 255).round().to(.uint8), source: name, to: videos.appendingPathComponent("\(name).safetensors").path)
        }
        let config = folder.appendingPathComponent("mixture.yaml")
        try """
            model: {preset: tiny, quantizer: {bits: 6, lfq: {annealSteps: 20, temperature: 1}}}
            data: {kind: mixture, sources: [{kind: videos, train: [\(videos.path)]}, {kind: photo-pans, train: [\(photos.path)]}], flip: true,
                   imageBatch: 4, images: [{kind: fashion-mnist, train: [\(folder.appendingPathComponent("data").path)]}, {kind: photo-pans, train: [\(photos.path)]}]}
            loss: {adversarialWeight: 0.1, discriminatorStart: 4, discriminatorChannels: 8, lecamWeight: 0.01}
            optimizer: {learningRate: 0.003, warmupSteps: 5}
            run: {steps: 20, batch: 8, logEvery: 1, evalEvery: 10, checkpointEvery: 10, emaDecay: 0.9, threads: 1, seed: 5, dtype: float64}
            """.write(to: config, atomically: true, encoding: .utf8)
        let one = folder.appendingPathComponent("mix-one"), two = folder.appendingPathComponent("mix-two")
        for (command, run) in [(["train"], one), (["launch", "--nproc", "2", "--", "train"], two)] {
            let r = try magvit(command + [config.path, "-o", run.path])
            XCTAssertEqual(r.status, 0, r.output)
        }
        try assertClose(one, two)
        XCTAssertNotNil(try records(two).last { $0["kind"] == nil }?["image_reconstruction"], "still images were trained")
    }
}
