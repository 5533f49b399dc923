// The trained tokenizer a recipe that reads tokens names in its config, loaded for its run.
import Foundation
import Harness
import Tokenizer

extension RunSetup {
    /// The tokenizer file at `path` (a config's `tokenizer`), on the run's device.
    public func tokenizer(at path: String) throws -> VideoTokenizer {
        try VideoTokenizer.load(from: URL(fileURLWithPath: path), device: device)
    }
}
