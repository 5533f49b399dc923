// The adversarial critic of MAGVIT-v2's tokenizer training (§3.2 and Appendix: a StyleGAN
// discriminator, Karras et al. 2020, with 3D convolutions for video and blur pooling for the
// downsampling, Zhang 2019). Images (1-frame clips) use 2D convolutions.
import Foundation
import Harness
import NN
import Torch

/// Anti-aliased downsampling by 2: a fixed [1, 3, 3, 1] binomial blur with stride 2 in space, and a
/// [1, 2, 1] one in time while there is more than one frame.
struct BlurDownsample {
    let spatial: Tensor  // (1, 1, 4, 4)
    let temporal: Tensor  // (1, 1, 3)

    init(device: Device) throws {
        let taps: [Float] = [1, 3, 3, 1]
        let outer = taps.flatMap { a in taps.map { a * $0 / 64 } }
        spatial = try Tensor(outer, shape: [1, 1, 4, 4], device: device)
        temporal = try Tensor([Float(0.25), 0.5, 0.25], shape: [1, 1, 3], device: device)
    }

    /// x (B, C, H, W) or (B, C, T, H, W).
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let c = x.size(1)
        if x.rank == 4 {
            return try conv(x, weight: spatial.to(x.dtype).expand([c, 1, 4, 4]), stride: [2], padding: [1], groups: c)
        }
        let (b, t, h, w) = (x.size(0), x.size(2), x.size(3), x.size(4))
        var y = try x.transpose(1, 2).reshape([b * t, c, h, w])
        y = try conv(y, weight: spatial.to(x.dtype).expand([c, 1, 4, 4]), stride: [2], padding: [1], groups: c)
        y = try y.reshape([b, t, c, h / 2, w / 2]).transpose(1, 2)  // (B, C, T, H/2, W/2)
        guard t > 1 else { return y }
        // Time: (B·H'·W', C, T) through a stride-2 [1, 2, 1] filter, replicate-padded.
        let (h2, w2) = (h / 2, w / 2)
        var z = try y.permute([0, 3, 4, 1, 2]).reshape([b * h2 * w2, c, t]).pad([1, 1], mode: .replicate)
        z = try conv(z, weight: temporal.to(x.dtype).expand([c, 1, 3]), stride: [2], groups: c)
        let t2 = z.size(2)
        return try z.reshape([b, h2, w2, c, t2]).permute([0, 3, 4, 1, 2])
    }
}

/// conv → lrelu → blur-down → conv → lrelu, plus a blurred 1×1 skip, summed and scaled by 1/√2.
final class DiscriminatorBlock {
    let conv1: Conv
    let conv2: Conv
    let skip: Conv
    let down: BlurDownsample

    init(_ path: ParameterPath, input: Int, output: Int, dims: Int, device: Device) throws {
        let k = Array(repeating: 3, count: dims), p = Array(repeating: 1, count: dims)
        conv1 = try Conv(path("conv1"), inputChannels: input, outputChannels: input, kernelSize: k, padding: p)
        conv2 = try Conv(path("conv2"), inputChannels: input, outputChannels: output, kernelSize: k, padding: p)
        skip = try Conv(path("skip"), inputChannels: input, outputChannels: output, kernelSize: Array(repeating: 1, count: dims), bias: false)
        down = try BlurDownsample(device: device)
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        var h = try conv1(x).leakyRelu(0.2)
        h = try conv2(down(h)).leakyRelu(0.2)
        return try (h + skip(down(x))) * (1 / 2.0.squareRoot())
    }
}

/// Real/fake logits (B) for clips (B, C, T, H, W) in [-1, 1].
public final class Discriminator {
    public let store: ParameterStore
    let stem: Conv
    let blocks: [DiscriminatorBlock]
    let last: Conv
    let hidden: Linear
    let output: Linear
    let video: Bool

    /// Downsamples until 4×4; widths `channels` × (1, 2, 4, 8, 8, ...).
    public init(imageChannels: Int, resolution: Int, frames: Int, channels: Int, device: Device = .cpu) throws {
        guard resolution >= 8, resolution & (resolution - 1) == 0 else {
            throw ConfigError("the discriminator needs a power-of-two resolution of at least 8, got \(resolution)")
        }
        store = ParameterStore(device: device)
        let root = store.root
        video = frames > 1
        let dims = video ? 3 : 2
        let k = Array(repeating: 3, count: dims), p = Array(repeating: 1, count: dims)
        stem = try Conv(root("stem"), inputChannels: imageChannels, outputChannels: channels, kernelSize: k, padding: p)
        var blocks: [DiscriminatorBlock] = []
        var (size, width) = (resolution, channels)
        while size > 4 {
            let next = Swift.min(width * 2, channels * 8)
            blocks.append(try DiscriminatorBlock(root("blocks")(blocks.count), input: width, output: next, dims: dims, device: device))
            (size, width) = (size / 2, next)
        }
        self.blocks = blocks
        last = try Conv(root("last"), inputChannels: width, outputChannels: width, kernelSize: k, padding: p)
        hidden = try Linear(root("hidden"), inputFeatures: width * 16, outputFeatures: width)
        output = try Linear(root("output"), inputFeatures: width, outputFeatures: 1)
    }

    public func callAsFunction(_ clips: Tensor) throws -> Tensor {
        var x = video ? clips : try clips.squeeze(2)  // images: (B, C, H, W)
        x = try stem(x).leakyRelu(0.2)
        for block in blocks { x = try block(x) }
        x = try last(x).leakyRelu(0.2)
        if video { x = try x.mean([2]) }  // average what is left of time: (B, C, 4, 4)
        let features = try hidden(x.flatten(start: 1)).leakyRelu(0.2)
        return try output(features).squeeze(1)
    }
}

/// The adversarial loss terms (MAGVIT-v2 trains the tokenizer with a non-saturating generator loss
/// and LeCAM-regularised discriminator).
public enum Adversarial {
    /// Non-saturating generator loss: E[softplus(−D(G(z)))].
    public static func generatorLoss(_ fake: Tensor) throws -> Tensor { try fake.neg().softplus().mean() }

    /// Hinge: E[relu(1 − D(x))] + E[relu(1 + D(G(z)))]; non-saturating: E[softplus(−D(x))] + E[softplus(D(G(z)))].
    public static func discriminatorLoss(real: Tensor, fake: Tensor, kind: LossConfig.DiscriminatorLoss) throws -> Tensor {
        switch kind {
        case .hinge: return try (1 - real).relu().mean() + (1 + fake).relu().mean()
        case .nonSaturating: return try real.neg().softplus().mean() + fake.softplus().mean()
        }
    }

    /// R1 (Mescheder et al. 2018): E‖∇ₓD(x)‖² over real clips; `real` must require grad and `logits` come from it.
    public static func r1Penalty(logits: Tensor, real: Tensor) throws -> Tensor {
        guard let g = try gradients(of: [logits.sum()], wrt: [real], createGraph: true)[0] else {
            throw ConfigError("R1: the logits do not depend on the real inputs")
        }
        return try g.square().flatten(start: 1).sum([1]).mean()
    }
}

/// LeCAM regularisation (Tseng et al. 2021): keeps D's outputs on real and fake data near running
/// means of the other side, ‖relu(D(x) − μ_fake)‖² + ‖relu(μ_real − D(G(z)))‖².
public struct LeCAM: Codable, Sendable {
    public var decay: Double
    public var realMean: Double = 0
    public var fakeMean: Double = 0

    public init(decay: Double) { self.decay = decay }

    public func penalty(real: Tensor, fake: Tensor) throws -> Tensor {
        try (real - fakeMean).relu().square().mean() + (realMean - fake).relu().square().mean()
    }

    /// Moves the running means towards this batch's mean outputs.
    public mutating func update(real: Double, fake: Double) {
        realMean = decay * realMean + (1 - decay) * real
        fakeMean = decay * fakeMean + (1 - decay) * fake
    }
}
