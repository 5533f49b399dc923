// The generator as a registered recipe: settings of the shared sections it does not honour are
// refused with its name, left out of the config it writes, and dropped from configs saved before.
import Foundation
import Generator
import Harness
import XCTest

final class GeneratorRecipeTests: XCTestCase {
    func testSettingsTheGeneratorDoesNotHonourAreRefusedNamingIt() throws {
        for (text, key) in [("data: {imageBatch: 4}", "data.imageBatch"), ("run: {dtype: float64}", "run.dtype"),
                            ("optimizer: {discriminatorLearningRate: 0.001}", "optimizer.discriminatorLearningRate"),
                            ("data: {flip: true}", "data.flip")] {
            XCTAssertThrowsError(try GeneratorTrainingConfig.parse(text, name: "g.yaml")) { error in
                XCTAssertTrue("\(error)".hasPrefix("g.yaml: '\(key)' is not a setting of the generator recipe: "), "\(error)")
            }
        }
        XCTAssertThrowsError(try GeneratorTrainingConfig.parse("generatr: {width: 8}")) { error in
            XCTAssertTrue("\(error)".contains("unknown setting 'generatr' of the generator recipe"), "\(error)")
        }
        XCTAssertEqual(GeneratorTrainer.name, "generator")
    }

    func testTheWrittenConfigHoldsOnlyWhatTheGeneratorHonours() throws {
        let json = try GeneratorTrainingConfig().json()
        for key in ["imageBatch", "evalWholeSet", "discriminatorLearningRate", "\"dtype\"", "frameStrides"] { XCTAssertFalse(json.contains(key), key) }
        XCTAssertTrue(json.contains("saveDtype") && json.contains("digitSize"), json)
        // A config saved before these were refused still reads, without them.
        var old = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
        var data = old["data"] as! [String: Any], run = old["run"] as! [String: Any]
        (data["imageBatch"], run["dtype"]) = (0, "float32")
        (old["data"], old["run"]) = (data, run)
        let text = String(decoding: try JSONSerialization.data(withJSONObject: old), as: UTF8.self)
        XCTAssertEqual(try GeneratorTrainingConfig.saved(text, name: "config.json").json(), json)
        XCTAssertThrowsError(try GeneratorTrainingConfig.saved("{\"run\": {\"stpes\": 3}}", name: "config.json")) { error in
            XCTAssertTrue("\(error)".hasPrefix("config.json: unknown setting 'run.stpes'"), "\(error)")
        }
    }
}
