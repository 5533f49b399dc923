// Paths in config files: relative to the config file's folder, then the working directory, then the
// shipped files of the source tree (ShippedResources), so the shipped configs run from any folder.
import Dataset
import Foundation
import Harness
import TestSupport
import Torch
import TokenizerTraining
import XCTest

final class ConfigPathTests: XCTestCase {
    var folder: URL!
    /// The checkout, found independently of the locator under test.
    let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-paths-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("experiment/clips"), withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testTheLocatorFindsTheShippedFilesInTheCheckout() {
        XCTAssertEqual(ShippedResources.root.standardizedFileURL.path, repository.standardizedFileURL.path)
        if ProcessInfo.processInfo.environment["MAGVIT_MODEL"] == nil {
            XCTAssertEqual(ShippedResources.defaultTokenizer.path, repository.appendingPathComponent("models/default-tokenizer.safetensors").path)
        }
        XCTAssertEqual(MNISTPickle.defaultPath, repository.appendingPathComponent(".deps/data/mnist.pkl.gz").path)
    }

    func testRelativePathsResolveBesideTheConfigThenInTheSourceTree() throws {
        let experiment = folder.appendingPathComponent("experiment")
        let clip = experiment.appendingPathComponent("clips/a.mp4")
        try Data([0]).write(to: clip)
        XCTAssertEqual(ShippedResources.resolve("clips/a.mp4", relativeTo: experiment), clip.path)
        XCTAssertEqual(ShippedResources.resolve("./clips/../clips/a.mp4", relativeTo: experiment), clip.path)
        XCTAssertEqual(ShippedResources.resolve("/elsewhere/b.mp4", relativeTo: experiment), "/elsewhere/b.mp4")
        XCTAssertEqual(ShippedResources.resolve("", relativeTo: experiment), "")
        // Nothing of that name beside the config or in the working directory: the shipped file.
        XCTAssertEqual(ShippedResources.resolve("models/default-tokenizer.safetensors", relativeTo: experiment),
                       ShippedResources.defaultTokenizer.standardizedFileURL.path)
        // Found nowhere: the path beside the config, for the error to name.
        XCTAssertEqual(ShippedResources.resolve("missing/c.mp4", relativeTo: experiment), experiment.appendingPathComponent("missing/c.mp4").path)
        // A file beside the config wins over the shipped one of the same name.
        let own = experiment.appendingPathComponent(".deps/data/mnist.pkl.gz")
        try FileManager.default.createDirectory(at: own.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data([0]).write(to: own)
        XCTAssertEqual(ShippedResources.resolve(".deps/data/mnist.pkl.gz", relativeTo: experiment), own.path)
    }

    /// Every path setting of a tokenizer config, read from a file in another folder; `--set` values
    /// are relative to the working directory; a config given as text keeps its paths.
    func testATokenizerConfigFileResolvesEveryPathSetting() throws {
        let experiment = folder.appendingPathComponent("experiment")
        try Data([0]).write(to: experiment.appendingPathComponent("clips/a.mp4"))
        let url = experiment.appendingPathComponent("run.yaml")
        let text = """
            model: {preset: tiny}
            initialWeights: models/default-tokenizer.safetensors
            data:
              kind: mixture
              train: [clips/a.mp4]
              sources: [{kind: videos, train: [clips], eval: [clips/a.mp4], weight: 1}]
            """
        try text.write(to: url, atomically: true, encoding: .utf8)
        let c = try TokenizerTrainingConfig.load(url, assignments: ["data.eval=[/abs/held.mp4]"])
        XCTAssertEqual(c.initialWeights, ShippedResources.defaultTokenizer.standardizedFileURL.path)
        XCTAssertEqual(c.data.train, [experiment.appendingPathComponent("clips/a.mp4").path])
        XCTAssertEqual(c.data.sources.first?.train, [experiment.appendingPathComponent("clips").path])
        XCTAssertEqual(c.data.sources.first?.eval, [experiment.appendingPathComponent("clips/a.mp4").path])
        XCTAssertEqual(c.data.eval, ["/abs/held.mp4"])
        let given = try TokenizerTrainingConfig.parse(text)
        XCTAssertEqual(given.data.train, ["clips/a.mp4"], "text alone: paths as given")
        XCTAssertThrowsError(try TokenizerTrainingConfig.load(url, assignments: ["data.labels=folders"]), "a generator and classifier setting") { error in
            XCTAssertEqual("\(error)", "run.yaml: 'data.labels' is not a setting of the tokenizer recipe: the tokenizer is trained without labels")
        }
        let cwd = try TokenizerTrainingConfig.load(url, assignments: ["data.eval=[not-here.mp4]"])
        XCTAssertEqual(cwd.data.eval, [URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("not-here.mp4").path],
                       "--set paths are relative to the working directory")
    }

    /// A shipped config run by the tool from a folder outside the checkout finds the shipped MNIST
    /// file (moving-digits.yaml names .deps/data/mnist.pkl.gz), with tiny overrides so it takes seconds.
    func testAShippedConfigTrainsFromAnotherFolder() throws {
        guard FileManager.default.fileExists(atPath: repository.appendingPathComponent(".deps/data/mnist.pkl.gz").path) else {
            throw XCTSkip("no .deps/data/mnist.pkl.gz (scripts/setup.sh fetches it)")
        }
        let result = try magvit(["train", repository.appendingPathComponent("configs/moving-digits.yaml").path, "-o", "run",
                                  "--set", "run.steps=1", "--set", "run.batch=1", "--set", "data.evalSamples=1",
                                  "--set", "model.baseChannels=4", "--set", "run.threads=1"], in: folder)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("run/tokenizer.safetensors").path), result.output)
    }
}
