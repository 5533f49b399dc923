// Causal 3D convolution (MAGVIT-v2 §3.2): k_t − 1 frames of padding in front in time and none behind,
// so output frame t depends on input frames ≤ t only, and a 1-frame video is an image.
import NN
import Torch

/// A 3D convolution over (B, C, T, H, W) that is causal in time and "same"-padded in space.
public final class CausalConv3d {
    public let conv: Conv
    public let temporalKernel: Int
    public let temporalStride: Int
    public let temporalPadding: TemporalPadding

    /// Parameters are registered at `path` itself (`path.weight`, `path.bias`).
    public init(
        _ path: ParameterPath, inputChannels: Int, outputChannels: Int, kernel: (t: Int, h: Int, w: Int),
        stride: (t: Int, h: Int, w: Int) = (1, 1, 1), bias: Bool = true, temporalPadding: TemporalPadding = .zeros
    ) throws {
        conv = try Conv(
            path, inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: [kernel.t, kernel.h, kernel.w],
            stride: [stride.t, stride.h, stride.w], padding: [0, kernel.h / 2, kernel.w / 2], bias: bias)
        temporalKernel = kernel.t
        temporalStride = stride.t
        self.temporalPadding = temporalPadding
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let pad = temporalKernel - 1
        if x.size(2) == 1 {
            // One frame: every temporal tap but the last sees padding. With zeros that is the last
            // kernel slice alone; replicating the frame sums the slices. Either way a 2D convolution.
            let w = try temporalPadding == .zeros || pad == 0 ? conv.weight.select(2, pad) : conv.weight.sum(dim: 2)
            return try planeConvolution(x.squeeze(2), w, conv).unsqueeze(2)
        }
        guard pad > 0 else { return try conv(x) }
        switch temporalPadding {
        case .zeros:
            return try conv(x.pad([0, 0, 0, 0, pad, 0]))
        case .replicate:
            let first = try x.narrow(2, start: 0, length: 1).expand([-1, -1, pad, -1, -1])
            return try conv(concatenate([first, x], dim: 2))
        }
    }
}

/// A 2D convolution with a 3D layer's bias, spatial stride and padding (here `conv` is the function,
/// not the layer's property).
private func planeConvolution(_ x: Tensor, _ weight: Tensor, _ layer: Conv) throws -> Tensor {
    try conv(x, weight: weight, bias: layer.bias, stride: Array(layer.stride.dropFirst()), padding: Array(layer.padding.dropFirst()))
}
