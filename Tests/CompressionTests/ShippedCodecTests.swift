// The shipped tokenizer and codec prior on a real clip no model was trained on (carphone): the
// prior codes its tokens in fewer bits than the adaptive baseline, and the stream decodes exactly.
import Codec
import Compression
import Foundation
import Media
import Tokenizer
import Torch
import XCTest

final class ShippedCodecTests: XCTestCase {
    func testShippedPriorBeatsTheBaselineOnAHeldOutClip() throws {
        let clip = repositoryRoot.appendingPathComponent(".deps/media/carphone_pristine.mp4").path
        guard FileManager.default.fileExists(atPath: clip) else { throw XCTSkip("run scripts/setup.sh for the sample clips") }
        let tokenizer = try VideoTokenizer.load(from: repositoryRoot.appendingPathComponent("models/default-tokenizer.safetensors"))
        let codec = try VideoCodec(model: tokenizer)
        let tokens = try codec.encode(path: clip, options: ReadOptions(maxFrames: 17))  // one clip: 5 x 18 x 22 tokens
        let prior = try MaskedPrior(contentsOf: repositoryRoot.appendingPathComponent("models/default-codec-prior.safetensors"),
                                    tokenizerWeights: codec.weightsHash, bits: 18)
        let model = try TokenCompressor.compress(tokens, prior: prior).stream
        let baseline = try TokenCompressor.compress(tokens, prior: AdaptivePrior(bits: 18)).stream
        let (modelBits, baselineBits) = (Double(model.payload.count * 8) / 1980, Double(baseline.payload.count * 8) / 1980)
        print(String(format: "carphone, 17 frames: %.2f bits per token with the prior, %.2f with the adaptive baseline (raw 18)", modelBits, baselineBits))
        XCTAssertLessThan(modelBits, baselineBits - 1, "the prior must save at least a bit per token")
        XCTAssertEqual(try TokenCompressor.decompress(CompressedStream(decoding: model.encoded()), prior: prior).ids, tokens.ids)
    }
}
