// Parity with PyTorch on committed fixtures (scripts/fixtures/torch_fixtures.py): conv3d, group_norm,
// attention, AdamW/Adam trajectories and gradient clipping, to 1e-5 relative.
import Foundation
import NN
import TestSupport
import Torch
import XCTest

func fixture(_ name: String) throws -> [String: Tensor] {
    guard let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "safetensors") else {
        throw ParameterError("fixture \(name) is missing; run scripts/make-fixtures.sh")
    }
    return try SafeTensors.read(url).tensors
}

final class FixtureParityTests: XCTestCase {
    func testConv3d() throws {
        let f = try fixture("conv3d")
        let x = try f["x"]!.requiresGrad(true)
        let w = try f["w"]!.requiresGrad(true)
        let b = try f["b"]!.requiresGrad(true)
        let y = try conv(x, weight: w, bias: b, stride: [1, 2, 2], padding: [1])
        try assertClose(y, f["y"]!, rtol: 1e-5, atol: 1e-5, "conv3d output")
        try y.backward(f["dy"]!)
        try assertClose(x.grad!, f["dx"]!, rtol: 1e-5, atol: 1e-5, "conv3d dx")
        try assertClose(w.grad!, f["dw"]!, rtol: 1e-5, atol: 1e-5, "conv3d dw")
        try assertClose(b.grad!, f["db"]!, rtol: 1e-5, atol: 1e-5, "conv3d db")
    }

    func testGroupNorm() throws {
        let f = try fixture("group_norm")
        let store = ParameterStore()
        let norm = try GroupNorm(store.root("norm"), groups: 4, channels: 8, eps: 1e-6)
        try store.load(["norm.weight": f["w"]!, "norm.bias": f["b"]!])
        let x = try f["x"]!.requiresGrad(true)
        let y = try norm(x)
        try assertClose(y, f["y"]!, rtol: 1e-5, atol: 1e-5, "group_norm output")
        try y.backward(f["dy"]!)
        try assertClose(x.grad!, f["dx"]!, rtol: 1e-5, atol: 1e-5, "group_norm dx")
        try assertClose(norm.weight!.grad!, f["dw"]!, rtol: 1e-5, atol: 1e-5, "group_norm dw")
        try assertClose(norm.bias!.grad!, f["db"]!, rtol: 1e-5, atol: 1e-5, "group_norm db")
    }

    func testAttention() throws {
        let f = try fixture("attention")
        let q = try f["q"]!.requiresGrad(true)
        let k = try f["k"]!.requiresGrad(true)
        let v = try f["v"]!.requiresGrad(true)
        let y = try scaledDotProductAttention(query: q, key: k, value: v, mask: f["mask"]!)
        try assertClose(y, f["y"]!, rtol: 1e-5, atol: 1e-6, "attention output")
        try y.backward(f["dy"]!)
        try assertClose(q.grad!, f["dq"]!, rtol: 1e-5, atol: 1e-6, "attention dq")
        try assertClose(k.grad!, f["dk"]!, rtol: 1e-5, atol: 1e-6, "attention dk")
        try assertClose(v.grad!, f["dv"]!, rtol: 1e-5, atol: 1e-6, "attention dv")
        let q0 = f["q"]!
        let causal = try scaledDotProductAttention(query: q0, key: q0, value: q0, causal: true, scale: 0.3)
        try assertClose(causal, f["y_causal"]!, rtol: 1e-5, atol: 1e-6, "causal attention")
    }

    func testOptimizerTrajectoriesMatchPyTorch() throws {
        let f = try fixture("optimizers")
        for (name, make) in [
            ("adamw", { (p: [(name: String, tensor: Tensor)]) -> Adam in AdamW(p, learningRate: 0.05, betas: (0.9, 0.99), eps: 1e-8, weightDecay: 0.1) }),
            ("adam", { Adam($0, learningRate: 0.05, betas: (0.8, 0.999), eps: 1e-6, weightDecay: 0.01) }),
        ] as [(String, ([(name: String, tensor: Tensor)]) -> Adam)] {
            let w = try f["w0"]!.clone().requiresGrad(true)
            let b = try f["b0"]!.clone().requiresGrad(true)
            let optimizer = make([("w", w), ("b", b)])
            for step in 0..<20 {
                try optimizer.zeroGrad()
                let loss = try (matmul(f["x"]!, w.transpose(0, 1)) + b - f["target"]!).square().mean()
                try loss.backward()
                try optimizer.update()
                XCTAssertEqual(try loss.item(), try f["\(name)_loss"]!.select(0, step).item(), accuracy: 1e-5 * Swift.abs(try loss.item()))
                try assertClose(w, f["\(name)_w"]!.select(0, step), rtol: 1e-5, atol: 1e-6, "\(name) w step \(step + 1)")
                try assertClose(b, f["\(name)_b"]!.select(0, step), rtol: 1e-5, atol: 1e-6, "\(name) b step \(step + 1)")
            }
        }
    }

    func testGradientClippingMatchesPyTorch() throws {
        let f = try fixture("clip")
        let p1 = try Tensor.zeros([5, 4]).requiresGrad(true)
        let p2 = try Tensor.zeros([7]).requiresGrad(true)
        // Seed the gradients through backward so they are real accumulated gradients.
        try ((p1 * f["g1"]!).sum() + (p2 * f["g2"]!).sum()).backward()
        let norm = try clipGradientNorm([("p1", p1), ("p2", p2)], maxNorm: 1.5)
        XCTAssertEqual(norm, try f["norm"]!.item(), accuracy: 1e-5 * norm)
        try assertClose(p1.grad!, f["clipped1"]!, rtol: 1e-5, atol: 1e-7)
        try assertClose(p2.grad!, f["clipped2"]!, rtol: 1e-5, atol: 1e-7)
    }
}
