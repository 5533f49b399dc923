import NN
import TestSupport
import Torch
@testable import TokenizerTraining
import XCTest

final class DiscriminatorTests: XCTestCase {
    func testShapesForImagesAndClips() throws {
        Torch.manualSeed(1)
        let image = try Discriminator(imageChannels: 1, resolution: 32, frames: 1, channels: 8)
        XCTAssertEqual(try image(Tensor.randn([3, 1, 1, 32, 32])).shape, [3])
        let video = try Discriminator(imageChannels: 3, resolution: 16, frames: 5, channels: 4)
        XCTAssertEqual(try video(Tensor.randn([2, 3, 5, 16, 16])).shape, [2])
        XCTAssertThrowsError(try Discriminator(imageChannels: 3, resolution: 24, frames: 1, channels: 4))
    }

    func testBlurDownsampleKeepsConstantsAndHalves() throws {
        let down = try BlurDownsample(device: .cpu)
        // Away from the zero-padded border, a constant stays that constant.
        let y = try down(Tensor.full([1, 2, 5, 8, 8], 3))
        XCTAssertEqual(y.shape, [1, 2, 3, 4, 4])
        try assertClose(y.narrow(3, start: 1, length: 2).narrow(4, start: 1, length: 2), try Tensor.full([1, 2, 3, 2, 2], 3), atol: 1e-6)
        XCTAssertEqual(try down(Tensor.ones([1, 2, 8, 8])).shape, [1, 2, 4, 4])
    }

    func testLossFormulas() throws {
        let real = try Tensor([Float(2), -0.5]), fake = try Tensor([Float(-3), 0.5])
        // hinge: mean(relu(1 - real)) + mean(relu(1 + fake)) = (0 + 1.5)/2 + (0 + 1.5)/2
        XCTAssertEqual(try Adversarial.discriminatorLoss(real: real, fake: fake, kind: .hinge).item(), 1.5, accuracy: 1e-6)
        let softplus = { (x: Double) in log(1 + exp(x)) }
        XCTAssertEqual(try Adversarial.discriminatorLoss(real: real, fake: fake, kind: .nonSaturating).item(),
                       (softplus(-2) + softplus(0.5)) / 2 + (softplus(-3) + softplus(0.5)) / 2, accuracy: 1e-6)
        XCTAssertEqual(try Adversarial.generatorLoss(fake).item(), (softplus(3) + softplus(-0.5)) / 2, accuracy: 1e-6)
        var lecam = LeCAM(decay: 0.9)
        lecam.update(real: 1, fake: -1)
        XCTAssertEqual(lecam.realMean, 0.1, accuracy: 1e-12)
        XCTAssertEqual(lecam.fakeMean, -0.1, accuracy: 1e-12)
        // relu(real - μ_fake)² = [2.1², 0] ; relu(μ_real - fake)² = [3.1², 0]
        XCTAssertEqual(try lecam.penalty(real: real, fake: fake).item(), (2.1 * 2.1) / 2 + (3.1 * 3.1) / 2, accuracy: 1e-5)
    }

    func testR1IsTheSquaredInputGradient() throws {
        // D(x) = Σ w·x per sample has ∇ₓD = w everywhere, so R1 = Σ w² per sample.
        let w = try Tensor([Float(1), -2, 3], shape: [1, 3])
        let x = try Tensor.randn([4, 3]).requiresGrad(true)
        let logits = try (x * w).sum([1])
        XCTAssertEqual(try Adversarial.r1Penalty(logits: logits, real: x).item(), 14, accuracy: 1e-5)
        // And it is differentiable (create_graph): its gradient w.r.t. a parameter inside D exists.
        let v = try Tensor([Float(1), -2, 3], shape: [1, 3]).requiresGrad(true)
        let penalty = try Adversarial.r1Penalty(logits: (x * v).sum([1]), real: x)
        try penalty.backward()
        try assertClose(XCTUnwrap(v.grad), v.detach() * 2, atol: 1e-5)
    }
}
