// Causal inflation: a 3D kernel whose last temporal slice is a 2D kernel and whose earlier slices are
// zero computes, frame by frame, what the 2D layer computes on images. Open-MAGVIT2 imports use it, and
// so does training from scratch: a video tokenizer that starts as an image tokenizer learns to mix
// frames gradually, where random temporal taps start by blending every frame with its predecessors.
import NN
import Torch

/// (O, I, kh, kw) → (O, I, kt, kh, kw) with the kernel in the last temporal slice, zeros before it.
public func inflate(_ kernel: Tensor, frames: Int) throws -> Tensor {
    let k = try kernel.unsqueeze(2)
    guard frames > 1 else { return k }
    var shape = k.shape
    shape[2] = frames - 1
    return try concatenate([Tensor.zeros(shape, dtype: k.dtype, device: k.device), k], dim: 2)
}

extension VideoTokenizer {
    /// Turns every causal 3D kernel (temporal size > 1) into an inflated 2D one: its last temporal
    /// slice, scaled by √kt so that it has the spread of a 2D kernel initialised with fan-in I·kh·kw,
    /// and zeros before it. Meant for freshly initialised models; returns how many kernels changed.
    @discardableResult
    public func inflateTemporalKernels() throws -> Int {
        var changed: [String: Tensor] = [:]
        for (name, weight) in store.tensors where weight.rank == 5 && weight.size(2) > 1 {
            let t = weight.size(2)
            let last = try weight.select(2, t - 1) * Double(t).squareRoot()
            changed[name] = try inflate(last, frames: t)
        }
        try store.load(changed, strict: false)
        return changed.count
    }
}

extension TokenizerConfig {
    /// The image tokenizer a video tokenizer of this config starts from on the paper's route (MAGVIT-v2
    /// §3.2; REFERENCE.md §2): the same layout on single frames (temporal kernel 1, no temporal
    /// downsampling, 1-frame clips).
    public var imageVersion: TokenizerConfig {
        var c = self
        c.name = name + "-image"
        c.temporalKernel = 1
        c.temporalDownsamplings = 0
        c.clipFrames = 1
        return c
    }

    /// Whether `other` is this config's `imageVersion`, whatever its name and loss settings.
    func hasImageVersion(_ other: TokenizerConfig) -> Bool {
        temporalKernel > 1 && imageVersion.hasNetwork(of: other)
    }

    /// Whether a tokenizer of `other` has this config's network, whatever its name and its
    /// quantizer's loss settings (commitment, entropy and codebook weights, temperature, annealing):
    /// those shape the training, not the weights, so a warm start may change them.
    public func hasNetwork(of other: TokenizerConfig) -> Bool {
        var o = other
        o.name = name
        o.quantizer.commitmentWeight = quantizer.commitmentWeight
        o.quantizer.lfq = quantizer.lfq
        o.quantizer.vq.codebookWeight = quantizer.vq.codebookWeight
        // A registered kind's settings may shape its parameters: compared, whether given or defaults.
        guard other.quantizer.settings(of: quantizer.kind) == quantizer.settings(of: quantizer.kind) else { return false }
        o.quantizer.sections = quantizer.sections
        return o == self
    }

    /// The settings of the network in which `other` differs from this config ("baseChannels 32 vs
    /// 64"), for an error message.
    public func networkDifferences(from other: TokenizerConfig) -> [String] {
        var list: [String] = []
        func check<T: Equatable>(_ key: String, _ a: T, _ b: T) { if a != b { list.append("\(key) \(b) vs \(a)") } }
        check("imageChannels", imageChannels, other.imageChannels)
        check("baseChannels", baseChannels, other.baseChannels)
        check("channelMultipliers", channelMultipliers, other.channelMultipliers)
        check("residualBlocks", residualBlocks, other.residualBlocks)
        check("normGroups", normGroups, other.normGroups)
        check("temporalDownsamplings", temporalDownsamplings, other.temporalDownsamplings)
        check("temporalKernel", temporalKernel, other.temporalKernel)
        check("temporalPadding", temporalPadding.rawValue, other.temporalPadding.rawValue)
        check("normalizeLatents", normalizeLatents, other.normalizeLatents)
        check("quantizer.kind", quantizer.kind.rawValue, other.quantizer.kind.rawValue)
        check("quantizer.bits", quantizer.bits, other.quantizer.bits)
        check("quantizer.vq.latentChannels", quantizer.vq.latentChannels, other.quantizer.vq.latentChannels)
        check("quantizer.\(quantizer.kind)", quantizer.settings(of: quantizer.kind), other.quantizer.settings(of: quantizer.kind))
        check("clipFrames", clipFrames, other.clipFrames)
        check("resolution", resolution, other.resolution)
        return list
    }
}

extension VideoTokenizer {
    /// Takes an image tokenizer's weights into this video tokenizer (the paper's inflation): each 2D
    /// kernel goes into the last temporal slice of its causal 3D kernel, zeros before it, so every frame
    /// is first coded as the image model codes it; a temporal upsampler's conv, whose outputs are
    /// f_t blocks of the image model's (depth-to-space puts the temporal factor outermost), repeats the
    /// image weights in each block, so a latent frame first expands into f_t copies of its frame.
    /// Every other tensor is copied. Returns how many tensors were inflated.
    @discardableResult
    public func inflateImageModel(_ image: VideoTokenizer) throws -> Int {
        guard config.hasImageVersion(image.config) else {
            throw TokenizerError.checkpoint("\(image.config.name) is not the image version of \(config.name) (same layout with temporalKernel 1, no temporal downsampling, 1-frame clips)")
        }
        var mapped: [String: Tensor] = [:]
        var inflated = 0
        for (name, ours) in store.tensors {
            guard let given = image.store[name] else { throw TokenizerError.checkpoint("the image model has no \(name)") }
            var t = given
            if ours.rank == 5, t.rank == 5, t.size(2) == 1, ours.size(2) > 1 {
                t = try inflate(t.squeeze(2), frames: ours.size(2))
                inflated += 1
            }
            if t.size(0) != ours.size(0), ours.size(0) % t.size(0) == 0 {  // a temporal upsampler: f_t blocks of outputs
                t = try concatenate(Array(repeating: t, count: ours.size(0) / t.size(0)), dim: 0)
            }
            guard t.shape == ours.shape else {
                throw TokenizerError.checkpoint("\(name): the video model's \(ours.shape) cannot be made from the image model's \(given.shape)")
            }
            mapped[name] = t
        }
        try store.load(mapped)
        return inflated
    }
}
