// The classifier as a registered recipe: the data settings of the pixel sources, which it does not
// read, are refused with its name rather than ignored.
import Classifier
import Foundation
import Harness
import Training
import XCTest

final class ClassifierRecipeTests: XCTestCase {
    func testSettingsTheClassifierDoesNotHonourAreRefusedNamingIt() throws {
        for key in ["data.imageBatch", "data.flip", "data.evalSamples", "run.dtype"] {
            XCTAssertThrowsError(try ClassifierTrainingConfig.parse("tokenizer: t.safetensors", assignments: ["\(key)=1"])) { error in
                XCTAssertTrue("\(error)".hasPrefix("config.yaml: '\(key)' is not a setting of the classifier recipe: "), "\(error)")
            }
        }
        let json = try ClassifierTrainingConfig().json()
        XCTAssertFalse(json.contains("imageBatch") || json.contains("frameStrides"), json)
        XCTAssertTrue(json.contains("digitSize") && json.contains("labels"), json)
        XCTAssertEqual(ClassifierTrainer.name, "classifier")
    }

    /// "motion-digits", the benchmark's kind before it was told apart from "moving-digits", still reads.
    func testTheOldNameOfTheMotionBenchmarkReadsAsTheNewOne() throws {
        XCTAssertEqual(try JSONDecoder().decode([DataKind].self, from: Data("[\"motion-digits\", \"moving-digits\"]".utf8)), [.motionClasses, .movingDigits])
        XCTAssertEqual(ClassifierTrainingConfig().data.kind.rawValue, "motion-classes")
    }
}
