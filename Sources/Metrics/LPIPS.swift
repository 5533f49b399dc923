// LPIPS (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features as a Perceptual
// Metric"): unit-normalised activations of five stages of AlexNet or VGG-16, squared differences
// weighted per channel by learned 1×1 heads, averaged over space and summed over stages.
// The weights that can be had offline are those of shift-tolerant LPIPS (Ghildyal & Liu 2022,
// stlpips-pytorch), whose backbones blur before every subsampling; standard LPIPS loads from a
// file that joins its heads with a torchvision backbone (scripts/convert-weights.py lpips).
import Foundation
import NN
import Torch

public final class LPIPS {
    public enum Network: String, Sendable, CaseIterable {
        case alex, vgg
    }

    public struct Error: Swift.Error, CustomStringConvertible {
        public let description: String
    }

    /// One step of a backbone stage.
    private enum Layer {
        case conv(weight: Tensor, bias: Tensor, padding: Int, stride: Int)
        case relu
        case maxPool(kernel: Int, stride: Int)
        /// Reflect-pad by 2, then a stride-2 depthwise [1 2 1]ᵀ[1 2 1]/16 filter (stlpips' Downsample with pad_more).
        case blur(filter: Tensor)
    }

    public let network: Network
    public let shiftTolerant: Bool
    /// The file's name for the network, e.g. "stlpips-alex".
    public let name: String
    private let stages: [[Layer]]
    private let heads: [Tensor]  // (1, C, 1, 1) each
    private let shift: Tensor, scale: Tensor

    /// Where setup puts the converted stlpips-pytorch weights.
    public static func defaultWeights(_ network: Network, root: URL = MetricWeights.root) -> URL {
        root.appendingPathComponent("stlpips-\(network.rawValue).safetensors")
    }

    /// Loads a file written by scripts/convert-weights.py; its metadata says which network it holds
    /// ("stlpips-alex", "stlpips-vgg", "lpips-alex", "lpips-vgg").
    public init(weights url: URL, device: Device = .cpu) throws {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw Error(description: "\(url.path): no LPIPS weights there (scripts/setup.sh converts the stlpips-pytorch ones into .deps/weights; MAGVIT_WEIGHTS names another folder)")
        }
        let file = try SafeTensors.read(url)
        let name = file.metadata["network"] ?? ""
        let parts = name.split(separator: "-").map(String.init)
        guard parts.count == 2, parts[0] == "stlpips" || parts[0] == "lpips", let network = Network(rawValue: parts[1]) else {
            throw Error(description: "\(url.path): metadata network is \"\(name)\", expected stlpips-alex, stlpips-vgg, lpips-alex or lpips-vgg")
        }
        self.name = name
        self.network = network
        shiftTolerant = parts[0] == "stlpips"
        func tensor(_ key: String) throws -> Tensor {
            guard let t = file.tensors[key] else { throw Error(description: "\(url.path): \(name) needs tensor \(key), which is missing") }
            return try t.to(.float32, device)
        }
        var stages: [[Layer]] = []
        for (index, plan) in Self.plan(network, shiftTolerant: shiftTolerant).enumerated() {
            stages.append(try plan.map { step in
                let prefix = "net.slice\(index + 1).\(step.index)"
                switch step.kind {
                case .conv(let padding, let stride):
                    return .conv(weight: try tensor(prefix + ".weight"), bias: try tensor(prefix + ".bias"), padding: padding, stride: stride)
                case .relu: return .relu
                case .maxPool(let kernel, let stride): return .maxPool(kernel: kernel, stride: stride)
                case .blur: return .blur(filter: try tensor(prefix + ".filt"))
                }
            })
        }
        self.stages = stages
        heads = try (0..<5).map { try tensor("lin\($0).model.1.weight") }
        shift = try Tensor([Float(-0.030), -0.088, -0.188], shape: [1, 3, 1, 1], device: device)
        scale = try Tensor([Float(0.458), 0.448, 0.450], shape: [1, 3, 1, 1], device: device)
    }

    /// Distances of (N, 3, H, W) image pairs with values in [-1, 1]: an (N) tensor, differentiable
    /// with respect to both inputs (the perceptual loss of tokenizer training).
    public func callAsFunction(_ x: Tensor, _ y: Tensor) throws -> Tensor {
        guard x.shape == y.shape, x.rank == 4, x.size(1) == 3 else {
            throw Error(description: "LPIPS expects two (N, 3, H, W) tensors of one shape, got \(x.shape) and \(y.shape)")
        }
        let minimum = shiftTolerant ? 16 : 32
        guard x.size(2) >= minimum, x.size(3) >= minimum else {
            throw Error(description: "LPIPS-\(network.rawValue) needs images of at least \(minimum)x\(minimum), got \(x.size(2))x\(x.size(3))")
        }
        let n = x.size(0)
        // One pass over both images: the backbone sees a batch of 2N.
        var h = try (concatenate([x, y], dim: 0).to(.float32) - shift) / scale
        var total: Tensor? = nil
        for (stage, head) in zip(stages, heads) {
            for layer in stage { h = try apply(layer, h) }
            let unit = try h / (h.square().sum(dim: 1, keepDim: true).sqrt() + 1e-10)
            let difference = try (unit.narrow(0, start: 0, length: n) - unit.narrow(0, start: n, length: n)).square()
            let term = try conv(difference, weight: head).mean([1, 2, 3])
            total = try total.map { try $0 + term } ?? term
        }
        return total!
    }

    private func apply(_ layer: Layer, _ h: Tensor) throws -> Tensor {
        switch layer {
        case .conv(let weight, let bias, let padding, let stride):
            return try conv(h, weight: weight, bias: bias, stride: [stride], padding: [padding])
        case .relu:
            return try h.relu()
        case .maxPool(let kernel, let stride):
            return try maxPool(h, kernel: [kernel, kernel], stride: [stride, stride])
        case .blur(let filter):
            return try conv(h.pad([2, 2, 2, 2], mode: .reflect), weight: filter, stride: [2], groups: h.size(1))
        }
    }

    private enum Kind {
        case conv(padding: Int, stride: Int), relu, maxPool(kernel: Int, stride: Int), blur
    }

    /// The five stages of each backbone, with the index each layer has in its `features` sequence
    /// (which names its tensors in the weight files).
    private static func plan(_ network: Network, shiftTolerant: Bool) -> [[(index: Int, kind: Kind)]] {
        func convs(_ indices: [Int], padding: Int = 1) -> [(index: Int, kind: Kind)] {
            indices.flatMap { [($0, Kind.conv(padding: padding, stride: 1)), ($0 + 1, .relu)] }
        }
        switch (network, shiftTolerant) {
        case (.alex, true):
            return [
                [(0, .conv(padding: 2, stride: 1)), (1, .blur), (2, .relu)],
                [(3, .maxPool(kernel: 3, stride: 1)), (4, .blur)] + convs([5], padding: 2),
                [(7, .maxPool(kernel: 3, stride: 1)), (8, .blur)] + convs([9]),
                convs([11]), convs([13]),
            ]
        case (.alex, false):
            return [
                [(0, .conv(padding: 2, stride: 4)), (1, .relu)],
                [(2, .maxPool(kernel: 3, stride: 2))] + convs([3], padding: 2),
                [(5, .maxPool(kernel: 3, stride: 2))] + convs([6]),
                convs([8]), convs([10]),
            ]
        case (.vgg, true):
            return [
                convs([0, 2]),
                [(4, .maxPool(kernel: 2, stride: 1)), (5, .blur)] + convs([6, 8]),
                [(10, .maxPool(kernel: 2, stride: 1)), (11, .blur)] + convs([12, 14, 16]),
                [(18, .maxPool(kernel: 2, stride: 1)), (19, .blur)] + convs([20, 22, 24]),
                [(26, .maxPool(kernel: 2, stride: 1)), (27, .blur)] + convs([28, 30, 32]),
            ]
        case (.vgg, false):
            return [
                convs([0, 2]),
                [(4, .maxPool(kernel: 2, stride: 2))] + convs([5, 7]),
                [(9, .maxPool(kernel: 2, stride: 2))] + convs([10, 12, 14]),
                [(16, .maxPool(kernel: 2, stride: 2))] + convs([17, 19, 21]),
                [(23, .maxPool(kernel: 2, stride: 2))] + convs([24, 26, 28]),
            ]
        }
    }
}
