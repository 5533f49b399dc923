import Dataset
import Torch
import TokenizerTraining
import XCTest

final class ConfigTests: XCTestCase {
    func testYAMLOverridesPresetDefaults() throws {
        let config = try TokenizerTrainingConfig.parse("""
            model:
              preset: tiny
              quantizer: {bits: 4}
            loss: {reconstruction: l1, perceptualWeight: 0.1}
            optimizer:
              learningRate: 3e-4
            run: {steps: 20, batch: 2}
            """, assignments: ["run.seed=7", "data.flip=false"])
        XCTAssertEqual(config.model.name, "tiny")
        XCTAssertEqual(config.model.quantizer.bits, 4)
        XCTAssertEqual(config.model.clipFrames, 5)
        XCTAssertEqual(config.data.kind, .videos)
        XCTAssertEqual(config.data.flip, false)
        XCTAssertEqual(config.loss.reconstruction, .l1)
        XCTAssertEqual(config.optimizer.learningRate, 3e-4)
        XCTAssertEqual(config.run.seed, 7)
        XCTAssertEqual(config.run.steps, 20)
        // JSON reads the same way, and a saved config reads back to itself.
        let again = try TokenizerTrainingConfig.parse(try config.json(), name: "c.json")
        XCTAssertEqual(try again.json(), try config.json())
    }

    func testBadConfigsSayWhatIsWrong() {
        func message(_ text: String) -> String {
            do { _ = try TokenizerTrainingConfig.parse(text); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message("run: {stpes: 3}").contains("unknown setting 'run.stpes'"))
        XCTAssertTrue(message("model: {preset: huge}").contains("unknown model preset 'huge'"))
        XCTAssertTrue(message("run: {steps: many}").contains("'run.steps' must be"))
        XCTAssertTrue(message("run: 3").contains("'run' is a section"))
        XCTAssertTrue(message("loss: {reconstruction: l3}").contains("loss.reconstruction"))
        XCTAssertTrue(message("model: {preset: video-small}\ndata: {kind: fashion-mnist}").contains("1-frame"))
        XCTAssertTrue(message("[1, 2]").contains("mapping"))
        XCTAssertTrue(message("model: {quantizer: {entropyWeight: 0.2}}").contains("unknown setting 'model.quantizer.entropyWeight'"))
        XCTAssertTrue(message("run: {saveDtype: float8}").contains("expected one of float32, float16, bfloat16, got 'float8'"))
        XCTAssertTrue(message("run: {device: gpu}").contains("expected cpu, cuda or cuda:N, got 'gpu'"))
        XCTAssertTrue(message("loss: {perceptualNetwork: resnet}").contains("expected one of vgg, alex"))
        XCTAssertTrue(message("initialization: zeros").contains("expected one of inflated, random"))
        XCTAssertTrue(message("").contains("the file is empty"))
        XCTAssertTrue(message("model:").contains("'model' is a section"))
        XCTAssertTrue(message("run: {threads: 100000}").contains("more than 4 × this machine's"))
        XCTAssertTrue(message("model: {normGroups: 0}").contains("normGroups"))
        XCTAssertTrue(message(String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)).contains("nested more than 64 levels"))
        XCTAssertTrue(message("a: &x [1, 2]\nb: *x").contains("anchors and aliases"))
        XCTAssertTrue(message("run: {steps: 10} # x * y & z").contains("unknown") == false, "comments may hold * and &")
        XCTAssertTrue(message("optimizer: {learningRate: .nan}").contains("NaN and infinity are not allowed"))
    }

    func testDataSettingsThatNoKindOfTheRunReadsAreRefused() throws {
        func message(_ text: String) -> String {
            do { _ = try TokenizerTrainingConfig.parse(text); return "" } catch { return "\(error)" }
        }
        XCTAssertEqual(message("data: {kind: fashion-mnist, digits: 3}"),
                       "config.yaml: data.digits is read only by data of kind moving-digits; this run's data is fashion-mnist, which would ignore it")
        XCTAssertTrue(message("model: {preset: tiny}\ndata: {kind: moving-digits, flip: false}").contains("data.flip is read only by data of kind fashion-mnist, images, mnist, photo-pans, videos"))
        XCTAssertTrue(message("model: {preset: tiny}\ndata: {kind: videos, pan: {zoom: 0.1}}").contains("data.pan is read only by data of kind photo-pans"))
        // A mixture reads what its parts' kinds read, the still images' kinds too.
        let mixture = "model: {preset: tiny}\ndata: {kind: mixture, sources: [{kind: photo-pans, train: [p]}], %@}"
        XCTAssertEqual(message(String(format: mixture, "pan: {zoom: 0.1}")), "")
        XCTAssertTrue(message(String(format: mixture, "frameStrides: [1]")).contains("this run's data is mixture, photo-pans, which would ignore it"))
        XCTAssertEqual(message(String(format: mixture, "frameStrides: [1], imageBatch: 2, images: [{kind: videos, train: [v]}]")), "")
        // Settings left at their defaults are not the file's: nothing to refuse.
        XCTAssertEqual(try TokenizerTrainingConfig.parse("data: {kind: fashion-mnist}").data.frameStrides, DataConfig().frameStrides)
    }

    func testEveryShippedTokenizerConfigParses() throws {
        let configs = ShippedResources.root.appendingPathComponent("configs")
        for name in ["fashion-mnist", "moving-digits", "video-small", "tokenizer-mix", "tokenizer-long", "recipes/cpu-small", "recipes/image-first",
                     "recipes/image-first-video", "recipes/video-small"] {
            XCTAssertNoThrow(try TokenizerTrainingConfig.load(configs.appendingPathComponent(name + ".yaml")), name)
        }
    }
}
