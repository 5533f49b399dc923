// Convolution layers in 1, 2 or 3 spatial dimensions, plain and transposed.
import Torch

/// An N-d convolution (N = kernelSize.count: 1, 2 or 3) over (batch, channels, spatial...).
/// Conv2d and Conv3d are this layer with a 2- or 3-entry kernel size.
public final class Conv {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: [Int]
    public let padding: [Int]
    public let dilation: [Int]
    public let groups: Int

    public init(
        _ path: ParameterPath, inputChannels: Int, outputChannels: Int, kernelSize: [Int], stride: [Int] = [1],
        padding: [Int] = [0], dilation: [Int] = [1], groups: Int = 1, bias: Bool = true
    ) throws {
        guard (1...3).contains(kernelSize.count) else {
            throw ParameterError("\(path.prefix): a convolution needs a kernel size of 1 to 3 dims, got \(kernelSize)")
        }
        guard groups > 0, inputChannels % groups == 0, outputChannels % groups == 0 else {
            throw ParameterError("\(path.prefix): channels \(inputChannels)->\(outputChannels) are not divisible by \(groups) groups")
        }
        let shape = [outputChannels, inputChannels / groups] + kernelSize
        weight = try path.parameter("weight", shape: shape, initializer: .kaimingUniform(a: 5.0.squareRoot()))
        let fanIn = Initializer.fans(shape).fanIn
        self.bias = bias ? try path.parameter("bias", shape: [outputChannels], initializer: .fanInUniform(fanIn: fanIn)) : nil
        (self.stride, self.padding, self.dilation, self.groups) = (stride, padding, dilation, groups)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try conv(x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
}

/// An N-d transposed convolution; the weight is (in, out/groups, kernel...) as in PyTorch.
public final class ConvTranspose {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: [Int]
    public let padding: [Int]
    public let outputPadding: [Int]
    public let groups: Int

    public init(
        _ path: ParameterPath, inputChannels: Int, outputChannels: Int, kernelSize: [Int], stride: [Int] = [1],
        padding: [Int] = [0], outputPadding: [Int] = [0], groups: Int = 1, bias: Bool = true
    ) throws {
        guard (1...3).contains(kernelSize.count) else {
            throw ParameterError("\(path.prefix): a transposed convolution needs a kernel size of 1 to 3 dims, got \(kernelSize)")
        }
        let shape = [inputChannels, outputChannels / groups] + kernelSize
        weight = try path.parameter("weight", shape: shape, initializer: .kaimingUniform(a: 5.0.squareRoot()))
        // PyTorch computes the transposed layer's fan from dim 1 of this weight, which is out/groups.
        let fanIn = Initializer.fans(shape).fanIn
        self.bias = bias ? try path.parameter("bias", shape: [outputChannels], initializer: .fanInUniform(fanIn: fanIn)) : nil
        (self.stride, self.padding, self.outputPadding, self.groups) = (stride, padding, outputPadding, groups)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try convTranspose(x, weight: weight, bias: bias, stride: stride, padding: padding, outputPadding: outputPadding, groups: groups)
    }
}
