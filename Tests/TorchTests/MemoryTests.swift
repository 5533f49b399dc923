// Tensors are freed when Swift drops them: resident memory stays flat over many training steps.
import TestSupport
import Torch
import XCTest

final class MemoryTests: XCTestCase {
    func testTenThousandStepsDoNotGrowResidentMemory() throws {
        Torch.manualSeed(1)
        let w1 = try (Tensor.randn([32, 64]) * 0.1).requiresGrad(true)
        let w2 = try (Tensor.randn([64, 8]) * 0.1).requiresGrad(true)
        let x = try Tensor.randn([16, 32])
        let y = try Tensor.randn([16, 8])
        func step() throws {
            let loss = try mseLoss(matmul(matmul(x, w1).relu(), w2), y)
            try loss.backward()
            try withNoGrad {
                for w in [w1, w2] {
                    try w.add_(w.grad!, alpha: -1e-3)
                    try w.zeroGrad()
                }
            }
        }
        for _ in 0..<1_000 { try step() }  // warm up allocator caches and thread pools
        let before = residentBytes()
        for _ in 0..<10_000 { try step() }
        let after = residentBytes()
        // Each step allocates about 40 KB of tensors: a leak of any of them would add >= 400 MB.
        let growth = after - before
        print("resident memory: \(before / 1024) KiB -> \(after / 1024) KiB over 10,000 steps")
        XCTAssertLessThan(growth, 8 << 20, "resident memory grew by \(growth) bytes")
    }
}
