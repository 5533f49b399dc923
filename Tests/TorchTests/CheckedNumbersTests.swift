// The number rule (docs/robustness.md): the checked helpers refuse what would trap, and a scan of
// Sources/ fails on a trapping conversion or an unchecked sum or product written outside them (an
// `Int(...)` of a floating-point value, an `Int32(...)`, a `reduce(0, +)` / `reduce(1, *)`), unless the
// site is in the short allow-list below with the reason its value cannot be out of range.
import Foundation
import Torch
import XCTest

final class CheckedNumbersTests: XCTestCase {
    func testHelpersRefuseWhatWouldTrapAndNameTheField() {
        func message(_ body: () throws -> Any) -> String {
            do { return "accepted \(try body())" } catch { return "\(error)" }
        }
        XCTAssertEqual(try Checked.int(3.0, "x", in: 0...5), 3)
        for bad in [Double.nan, .infinity, -.infinity, 5.5, 1e300, -3] {
            XCTAssertTrue(message { try Checked.int(bad, "run.steps", in: 0...100) }.hasPrefix("run.steps must be a whole number in 0...100, found"), "\(bad)")
        }
        XCTAssertEqual(try Checked.int(clamping: 1e300, to: 0...10, "steps"), 10)
        XCTAssertEqual(try Checked.int(clamping: -1e308, to: 0...10, "steps"), 0)
        XCTAssertEqual(try Checked.int(clamping: 1e300, to: 0...Int.max, "steps"), Int.max)
        XCTAssertEqual(try Checked.int(clamping: 7.9, to: 0...10, "steps"), 7)
        XCTAssertEqual(message { try Checked.int(clamping: Double.nan, to: 0...10, "the steps left") }, "the steps left must be a number, found nan")
        XCTAssertEqual(message { try Checked.integer(1 << 31, as: Int32.self, "WORLD_SIZE") }, "WORLD_SIZE must be -2147483648...2147483647, found 2147483648")
        XCTAssertEqual(try Checked.integer(7, as: Int32.self, "x", in: 1...8), 7)
        XCTAssertEqual(message { try Checked.sum([Int.max, 1], "clips") }, "clips must be a sum within \(Int.min)...\(Int.max), found an overflow past \(Int.max) + 1")
        XCTAssertEqual(try Checked.sum([1, 2, 3], "x"), 6)
        XCTAssertTrue(message { try Checked.product([1 << 40, 1 << 40], "grid") }.hasPrefix("grid must be a product within"))
        XCTAssertEqual(try Checked.shift(by: 62, "bits"), 1 << 62)
        for count in [63, 1 << 31, Int.max, -1] { XCTAssertTrue(message { try Checked.shift(by: count, "bits") }.hasPrefix("bits must be"), "\(count)") }
        XCTAssertTrue(message { try Checked.shift(3, by: 62, "bits") }.hasPrefix("bits must be"))
        XCTAssertTrue(message { try Checked.finite(Double.nan, "elapsed_seconds", in: 0...1e12) }.hasPrefix("elapsed_seconds must be a finite number"))
    }

    func testTerminalTextEscapesControlsOnly() {
        XCTAssertEqual(TerminalText.escaped("clip é 走.mp4"), "clip é 走.mp4")
        XCTAssertEqual(TerminalText.escaped("a\u{1B}]0;owned\u{07}b\nc\u{9B}d\u{202E}e"), "a\\x1B]0;owned\\x07b\\x0Ac\\x9Bd\\u{202E}e")
    }

    /// A site that may convert or add up without the helpers, and why its value cannot be out of range.
    struct Allowed {
        let file: String, text: String, reason: String
        init(_ file: String, _ text: String, _ reason: String) { (self.file, self.text, self.reason) = (file, text, reason) }
    }

    static let allowed: [Allowed] = [
        // Int32(...) for the C shim
        Allowed("Torch/Temporaries.swift", "Int32(entry", "Int32(String) parses: nil past the range"),
        Allowed("Torch/ProcessGroup.swift", "Int32(root)", "a rank the code passes (0), below the world size checked at join"),
        Allowed("Media/VideoReader.swift", "Int32(UInt16(", "widening"),
        Allowed("Torch/Functional.swift", "Int32(g.n)", "a convolution's spatial dimensions, 1...3"),
        Allowed("Torch/Functional.swift", "Int32(n)", "a pooling's spatial dimensions, its kernel's count"),
        // Int(...) of floating-point values the code computed, not read
        Allowed("Harness/DataParallel.swift", "timeout)", "run.collectiveTimeout is validated to (0, 10^6] s"),
        Allowed("Harness/TensorBoard.swift", "Int(Date().timeIntervalSince1970)", "the clock"),
        Allowed("Harness/BatchProducer.swift", "Int(random.uniform() * Double(count))", "uniform in [0, 1)"),
        Allowed("Harness/RunLog.swift", "Int(Double(step) / Double(Swift.max(total, 1)) * 24)", "steps are at most 2^40"),
        Allowed("magvit/ProgressBar.swift", "Int(Swift.min(1, Double(done) / Double(total)) * 24)", "a fraction at most 1"),
        Allowed("GeneratorModel/MaskSchedule.swift", "Int((maskedFraction(", "a fraction in [0, 1] of a count"),
        Allowed("GeneratorModel/MaskGITSampler.swift", ".item())", "a count of mask entries"),
        Allowed("Tokenizer/Quantizer.swift", ".item())", "a count of codes"),
        Allowed("TokenizerTraining/TokenizerTrainer.swift", ".item())", "a count of codes"),
        Allowed("Compression/RangeCoder.swift", "Int((clean(probabilities[i]) * scale).rounded(.down))", "clean() maps to [0, 1]; scale ≤ 2^16"),
        Allowed("Compression/OperatingPoint.swift", "Int((Double(n) * scale / Double(factor)).rounded())", "scale in (0, 1] of a frame side"),
        Allowed("Metrics/LegacyBilinear.swift", "Int(source.rounded(.down))", "a position inside the image"),
        Allowed("Dataset/MotionDigits.swift", "Int((start + along).rounded())", "a position inside the frame"),
        Allowed("Dataset/VideoSet.swift", "Int(Double(size) * cropScale[", "data.cropScale is validated to 1...64"),
        Allowed("Dataset/PhotoPans.swift", "scale).rounded())", "a scale at most 1 of a frame side"),
        Allowed("Hostile/FaultCampaign.swift", "Int(", "the campaign's own random draws in [0, 1)"),
        Allowed("Hostile/MoreInputs.swift", "Int16(sin(", "the campaign's synthetic waveform, within ±8000"),
        // reduce(+) and reduce(*) of values already bounded
        Allowed("Torch/Tensor.swift", ".reduce(1, *)", "shapes of buffers the caller holds, compared with their counts"),
        Allowed("Torch/Shape.swift", ".reduce(1, *)", "a tensor's own shape"),
        Allowed("Torch/Functional.swift", ".reduce(1, *)", "FLOPs of tensors libtorch allocated"),
        Allowed("Torch/Profiler.swift", ".reduce(0) {", "floating-point times"),
        Allowed("NN/ParameterStore.swift", ".reduce(0) {", "counts of allocated parameters"),
        Allowed("NN/Initializer.swift", ".reduce(1, *)", "a tensor's own shape"),
        Allowed("Codec/TokenFile.swift", "chunks.reduce(0) { $0 + $1.frames }", "validated: at most 2^24 chunks of at most 2^31 frames"),
        Allowed("Codec/VideoCodec.swift", "chunks.reduce(0) { $0 + $1.latentFrames }", "chunks the encoder made"),
        Allowed("Dataset/TokenDataset.swift", "grid.reduce(1, *)", "validated: three sides of 1...4096"),
        Allowed("GeneratorModel/GeneratorConfig.swift", "grid.reduce(1, *)", "validated grid"),
        Allowed("ClassifierModel/ClassifierConfig.swift", "grid.reduce(1, *)", "validated grid"),
        Allowed("GeneratorModel/TokenFactorization.swift", ".reduce(0, +)", "validated factor bits, 1...16 each"),
        Allowed("Classifier/Classification.swift", ".reduce(0, +)", "counts of the videos scored"),
        Allowed("Evaluation/ReconstructionEvaluation.swift", ".reduce(0, +)", "frames decoded and floating-point means"),
        Allowed("Metrics/FrechetDistance.swift", ".reduce(0) {", "floating-point trace"),
        Allowed("Metrics/InceptionScore.swift", ".reduce(0) {", "floating-point variance"),
        Allowed("Metrics/Fidelity.swift", ".reduce(0, +)", "a floating-point kernel"),
        Allowed("Dataset/MixedSource.swift", ".reduce(0, +)", "floating-point weights, each validated"),
        Allowed("magvit/Info.swift", ".reduce(0) {", "counts of tensors the reader holds"),
        Allowed("magvit/Frames.swift", ".reduce(0) {", "counts of tensors in memory"),
    ]

    /// Every use outside the helpers of a form that can trap on a number from outside.
    static func findings(in source: String) -> [String] {
        var out: [String] = []
        for raw in source.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = String(raw)
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("//") { continue }
            if let comment = line.range(of: " // ") { line = String(line[..<comment.lowerBound]) }
            // A sum divided by a Double is a floating-point mean, which cannot trap.
            let sums = line.replacingOccurrences(of: "reduce(0, +) / Double(", with: "")
            if sums.contains("reduce(0, +)") || sums.contains("reduce(1, *)") || sums.contains("reduce(0) { $0 +") || sums.contains("reduce(1) { $0 *") {
                out.append(line)
                continue
            }
            for (name, argument) in calls(in: line) {
                let exempt = ["truncatingIfNeeded:", "clamping:", "exactly:", "bitPattern:"].contains { argument.hasPrefix($0) }
                if name == "Int32", !exempt, !(argument.hasSuffix(".count") || argument.hasSuffix(".rawValue") || argument.hasPrefix("CT_")) {
                    out.append(line)
                } else if name == "Int", !exempt, floatingMarkers.contains(where: { argument.contains($0) }) {
                    out.append(line)
                }
            }
        }
        return out
    }

    /// What makes an `Int(...)` argument look floating-point.
    static let floatingMarkers = [".rounded", ".item()", "Double(", "Float(", "uniform()", "timeInterval", "sqrt(", "pow(", "log(", "log2(",
                                  "floor(", "ceil(", " / ", "seconds", "timeout", "elapsed", "scale", "fraction", "perStep", "Budget"]

    /// The `Int(...)` and `Int32(...)` calls of a line with their arguments (parentheses balanced).
    static func calls(in line: String) -> [(String, String)] {
        let chars = Array(line)
        var out: [(String, String)] = []
        for name in ["Int", "Int32"] {
            let pattern = Array(name + "(")
            var i = 0
            while i + pattern.count <= chars.count {
                defer { i += 1 }
                guard Array(chars[i..<(i + pattern.count)]) == pattern else { continue }
                if i > 0, chars[i - 1].isLetter || chars[i - 1].isNumber || chars[i - 1] == "_" || chars[i - 1] == "." { continue }
                var depth = 1, j = i + pattern.count
                while j < chars.count, depth > 0 {
                    if chars[j] == "(" { depth += 1 } else if chars[j] == ")" { depth -= 1 }
                    j += 1
                }
                out.append((name, String(chars[(i + pattern.count)..<Swift.max(i + pattern.count, j - 1)])))
            }
        }
        return out
    }

    func testNoTrappingConversionOutsideTheHelpers() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources")
        let files = try XCTUnwrap(FileManager.default.enumerator(atPath: sources.path)).compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
        XCTAssertGreaterThan(files.count, 100)
        var used = Set<Int>(), unexplained: [String] = []
        for file in files.sorted() where file != "Torch/CheckedNumbers.swift" {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for line in Self.findings(in: text) {
                if let k = Self.allowed.indices.first(where: { Self.allowed[$0].file == file && line.contains(Self.allowed[$0].text) }) {
                    used.insert(k)
                } else {
                    unexplained.append("\(file): \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        XCTAssertEqual(unexplained, [], "convert and add numbers from outside with Torch's Checked helpers (or allow-list the site with its reason)")
        let stale = Self.allowed.indices.filter { !used.contains($0) }.map { "\(Self.allowed[$0].file): \(Self.allowed[$0].text)" }
        XCTAssertEqual(stale, [], "allow-list entries that match nothing any more")
    }
}
