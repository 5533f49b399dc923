// Loading Open-MAGVIT2 (TencentARC) image tokenizer weights. Our parameter names are theirs, so the
// mapping is: keep their `encoder.*` and `decoder.*` tensors, and inflate each 2D convolution kernel
// (O, I, kh, kw) into our causal 3D kernel (O, I, kt, kh, kw) by placing it in the last temporal slice
// with zeros elsewhere (REFERENCE.md §2): on one frame the causal conv then computes their 2D conv.
import Foundation
import NN
import Torch

extension VideoTokenizer {
    /// What an Open-MAGVIT2 checkpoint contributed.
    public struct ImportReport: Sendable {
        /// Tensors copied as they were.
        public var copied = 0
        /// 2D kernels inflated into causal 3D ones.
        public var inflated = 0
        /// Tensors of the checkpoint that are not part of the tokenizer (discriminator, LPIPS, EMA...).
        public var ignored: [String] = []
    }

    /// Loads an Open-MAGVIT2 checkpoint converted to safetensors (scripts/convert-open-magvit2.py turns
    /// their Lightning .ckpt into one). Keys may carry a `state_dict.` or `model.` prefix. Strict: every
    /// encoder and decoder tensor of this model must be present with a compatible shape.
    @discardableResult
    public func loadOpenMagvit2(from url: URL) throws -> ImportReport {
        let contents = try SafeTensors.read(url)
        do {
            return try loadOpenMagvit2(contents.tensors)
        } catch let error as TokenizerError {
            throw TokenizerError.checkpoint("\(url.path): \(error)")
        }
    }

    @discardableResult
    public func loadOpenMagvit2(_ tensors: [String: Tensor]) throws -> ImportReport {
        var report = ImportReport()
        var source: [String: Tensor] = [:]
        for (key, value) in tensors {
            var name = key
            for prefix in ["state_dict.", "model."] where name.hasPrefix(prefix) { name.removeFirst(prefix.count) }
            if name.hasPrefix("encoder.") || name.hasPrefix("decoder.") { source[name] = value } else { report.ignored.append(key) }
        }
        var mapped: [String: Tensor] = [:]
        var problems: [String] = []
        for (name, ours) in store.tensors where name.hasPrefix("encoder.") || name.hasPrefix("decoder.") {
            guard let theirs = source.removeValue(forKey: name) else {
                problems.append("missing \(name)")
                continue
            }
            if theirs.shape == ours.shape {
                mapped[name] = theirs
                report.copied += 1
            } else if ours.rank == 5, theirs.rank == 4, Array(ours.shape[0..<2] + ours.shape[3...]) == theirs.shape {
                mapped[name] = try inflate(theirs, frames: ours.size(2))
                report.inflated += 1
            } else {
                problems.append("\(name): ours \(ours.shape), theirs \(theirs.shape)")
            }
        }
        problems += source.keys.sorted().map { "unexpected \($0)" }
        guard problems.isEmpty else {
            let shown = problems.prefix(10).joined(separator: "; ")
            throw TokenizerError.checkpoint("not an Open-MAGVIT2 checkpoint for \(config.name): \(shown)\(problems.count > 10 ? "; ..." : "")")
        }
        try store.load(mapped, strict: false)
        return report
    }
}
