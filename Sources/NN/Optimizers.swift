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

    /// Steps an optimizer state may record (run.steps' limit).
    public static let maxStep = 1 << 40

    /// Restores `state()`; the step must be a whole number in 0...2^40 and the moments must match
    /// the parameters' shapes with finite values (second moments not negative), so a damaged state
    /// is refused here rather than at the next update or the final save.
    public func load(state: [String: Tensor]) throws {
        guard let s = state["step"] else { throw ParameterError("optimizer state has no 'step'") }
        guard s.dtype == .int64, s.count == 1 else { throw ParameterError("optimizer state 'step' must be one int64, found \(s.dtype) of shape \(s.shape)") }
        let step: Int
        do { step = try Checked.integer(try s.toArray(Int64.self)[0], as: Int.self, "optimizer state 'step'", in: 0...Self.maxStep) } catch {
            throw ParameterError("\(error)")
        }
        var first: [Tensor?] = [], second: [Tensor?] = [], damaged: [String] = []
        for (name, p) in parameters {
            func moment(_ key: String) throws -> Tensor? {
                guard let t = state[name + key] else { return nil }
                guard t.shape == p.shape else {
                    throw ParameterError("optimizer state \(name + key): expected \(p.shape), found \(t.shape)")
                }
                damaged += try nonFinite([(name + key, t)])
                if key == ".exp_avg_sq", t.dtype.isFloatingPoint, t.count > 0, try t.min().item() < 0 { damaged.append(name + key + " (negative)") }
                return try t.to(p.dtype, p.device).clone()
            }
            first.append(try moment(".exp_avg"))
            second.append(try moment(".exp_avg_sq"))
        }
        if !damaged.isEmpty { throw ParameterError("optimizer state holds NaN, infinite or negative values in \(damaged.count) tensor(s): \(summary(damaged))") }
        (self.step, firstMoment, secondMoment) = (step, first, second)
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
