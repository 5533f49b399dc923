// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), and gradient clipping by global norm.
// The update follows torch.optim.Adam/AdamW's single-tensor implementation step for step.
import Foundation
import Torch

/// Adam with optional L2 weight decay (added to the gradient).
public class Adam {
    public let parameters: [(name: String, tensor: Tensor)]
    public var learningRate: Double
    public let beta1: Double
    public let beta2: Double
    public let eps: Double
    public let weightDecay: Double
    /// AdamW's decoupled decay (params *= 1 - lr·wd) instead of L2 on the gradient.
    public let decoupled: Bool
    /// Completed steps; bias corrections use it.
    public private(set) var step = 0
    private var firstMoment: [Tensor?]
    private var secondMoment: [Tensor?]

    public init(
        _ parameters: [(name: String, tensor: Tensor)], learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
        eps: Double = 1e-8, weightDecay: Double = 0, decoupled: Bool = false
    ) {
        self.parameters = parameters
        self.learningRate = learningRate
        (beta1, beta2) = betas
        self.eps = eps
        self.weightDecay = weightDecay
        self.decoupled = decoupled
        firstMoment = Array(repeating: nil, count: parameters.count)
        secondMoment = Array(repeating: nil, count: parameters.count)
    }

    /// Applies one update to every parameter that has a gradient.
    public func update() throws {
        step += 1
        let correction1 = 1 - pow(beta1, Double(step))
        let correction2Root = (1 - pow(beta2, Double(step))).squareRoot()
        try withNoGrad { () throws in
            for (i, (_, p)) in parameters.enumerated() {
                guard var g = try p.grad else { continue }
                if weightDecay != 0 {
                    if decoupled { try p.mul_(1 - learningRate * weightDecay) } else { g = try g + p * weightDecay }
                }
                let m = try firstMoment[i] ?? Tensor.zeros(p.shape, dtype: p.dtype, device: p.device)
                let v = try secondMoment[i] ?? Tensor.zeros(p.shape, dtype: p.dtype, device: p.device)
                try m.lerp_(g, weight: 1 - beta1)
                try v.mul_(beta2)
                try v.addcmul_(g, g, value: 1 - beta2)
                let denominator = try v.sqrt() / correction2Root + eps
                try p.addcdiv_(m, denominator, value: -learningRate / correction1)
                firstMoment[i] = m
                secondMoment[i] = v
            }
        }
    }

    /// Clears the gradients of the optimised parameters.
    public func zeroGrad() throws {
        for (_, p) in parameters { try p.zeroGrad() }
    }

    /// The moments by parameter name, and the step, for checkpoints.
    public func state() throws -> [String: Tensor] {
        var out: [String: Tensor] = ["step": try Tensor(scalar: Double(step), dtype: .int64)]
        for (i, (name, _)) in parameters.enumerated() {
            if let m = firstMoment[i] { out[name + ".exp_avg"] = m }
            if let v = secondMoment[i] { out[name + ".exp_avg_sq"] = v }
        }
        return out
    }

    /// Restores `state()`; moments must match the parameters' shapes.
    public func load(state: [String: Tensor]) throws {
        guard let s = state["step"] else { throw ParameterError("optimizer state has no 'step'") }
        step = Int(try s.item())
        for (i, (name, p)) in parameters.enumerated() {
            func moment(_ key: String) throws -> Tensor? {
                guard let t = state[name + key] else { return nil }
                guard t.shape == p.shape else {
                    throw ParameterError("optimizer state \(name + key): expected \(p.shape), found \(t.shape)")
                }
                return try t.to(p.dtype, p.device).clone()
            }
            firstMoment[i] = try moment(".exp_avg")
            secondMoment[i] = try moment(".exp_avg_sq")
        }
    }
}

/// AdamW: Adam with decoupled weight decay (default 0.01, as torch.optim.AdamW).
public final class AdamW: Adam {
    public init(
        _ parameters: [(name: String, tensor: Tensor)], learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
        eps: Double = 1e-8, weightDecay: Double = 0.01
    ) {
        super.init(parameters, learningRate: learningRate, betas: betas, eps: eps, weightDecay: weightDecay, decoupled: true)
    }
}

/// Scales all gradients so their global L2 norm is at most `maxNorm` (torch.nn.utils.clip_grad_norm_).
/// Returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [(name: String, tensor: Tensor)], maxNorm: Double) throws -> Double {
    let grads = try parameters.compactMap { try $0.tensor.grad }
    guard !grads.isEmpty else { return 0 }
    return try withNoGrad { () throws -> Double in
        let norms = try grads.map { (g) throws in try g.to(.float32).square().sum() }
        let total = try stacked(norms).sum().sqrt().item()
        let coefficient = maxNorm / (total + 1e-6)
        if coefficient < 1 {
            for g in grads { try g.mul_(coefficient) }
        }
        return total
    }
}
