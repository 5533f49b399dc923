// PSNR, SSIM and MS-SSIM against scikit-image and pytorch-msssim on committed fixtures
// (scripts/fixtures/metric_fixtures.py), and their properties.
import Foundation
import Metrics
import NN
import TestSupport
import Torch
import XCTest

final class FidelityTests: XCTestCase {
    private func fixture() throws -> [String: Tensor] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/fidelity", withExtension: "safetensors"),
                                "run scripts/make-fixtures.sh metrics")
        return try SafeTensors.read(url).tensors
    }

    func testParityWithScikitImageAndPytorchMSSSIM() throws {
        let f = try fixture()
        let (clean, noisy) = (f["clean"]!, f["noisy"]!)  // (3, 192, 176, 3) float64
        let psnr = try Fidelity.psnr(noisy, clean)
        let ssim = try Fidelity.ssim(noisy, clean)
        let msssim = try Fidelity.msssim(noisy, clean)
        try assertClose(Tensor(psnr), f["psnr"]!, rtol: 1e-9, atol: 1e-9, "PSNR vs skimage")
        try assertClose(Tensor(ssim), f["ssim"]!, rtol: 1e-7, atol: 1e-9, "SSIM vs skimage")
        // pytorch-msssim builds its Gaussian window in float32 before casting, hence 1e-6.
        try assertClose(Tensor(msssim), f["msssim"]!, rtol: 1e-6, atol: 1e-9, "MS-SSIM vs pytorch-msssim")
        XCTAssertTrue(psnr[0] > psnr[1] && psnr[1] > psnr[2], "more noise, lower PSNR: \(psnr)")
        XCTAssertTrue(ssim[0] > ssim[1] && ssim[1] > ssim[2], "\(ssim)")
    }

    func testIdenticalFramesAndBadShapes() throws {
        let frames = try Tensor.rand([2, 170, 170, 3])
        XCTAssertEqual(try Fidelity.psnr(frames, frames), [.infinity, .infinity], "identical frames: infinite PSNR")
        XCTAssertEqual(try Fidelity.ssim(frames, frames)[0], 1, accuracy: 1e-12)
        XCTAssertEqual(try Fidelity.msssim(frames, frames)[1], 1, accuracy: 1e-12)
        XCTAssertThrowsError(try Fidelity.ssim(Tensor.rand([1, 8, 8, 3]), Tensor.rand([1, 8, 8, 3])))
        XCTAssertThrowsError(try Fidelity.msssim(Tensor.rand([1, 64, 64, 3]), Tensor.rand([1, 64, 64, 3])))
        XCTAssertThrowsError(try Fidelity.ssim(Tensor.rand([1, 16, 16, 3]), Tensor.rand([1, 16, 17, 3])))
    }
}
