// run.backend: auto picks NCCL only on CUDA where the shim has it; asking for NCCL where it cannot run
// is one line before any rendezvous; and the NCCL backend library is built and linked beside the shim
// wherever setup installed NCCL (CPU machines included, so that it cannot rot unseen).
import Foundation
import Harness
import TestSupport
import Torch
import XCTest

final class CollectiveBackendTests: XCTestCase {
    func testAutoIsGlooOnTheCPUAndNCCLOnlyWhereItRuns() {
        XCTAssertEqual(CollectiveBackend.auto.resolved(for: .cpu), .gloo)
        XCTAssertEqual(CollectiveBackend.auto.resolved(for: .cuda(0)), ProcessGroup.ncclUnavailable == nil ? .nccl : .gloo)
        XCTAssertEqual(CollectiveBackend.nccl.resolved(for: .cpu), .nccl, "asked for, it is tried (and refused below)")
        XCTAssertEqual(CollectiveBackend.gloo.resolved(for: .cuda(0)), .gloo)
    }

    func testNCCLWithoutAGPUIsOneLineBeforeTheRendezvous() throws {
        try XCTSkipIf(Torch.cudaAvailable, "this machine has a GPU: NCCL may run here")
        let environment = DistributedEnvironment(rank: 1, worldSize: 2, localRank: 1, host: "127.0.0.1", port: 9)
        let start = Date()
        XCTAssertThrowsError(try environment.join(timeout: 30, backend: .nccl)) { error in
            XCTAssertEqual("\(error)", "rank 1 of 2: run.backend is nccl, but NCCL needs a CUDA GPU, and this process has none (this shim is a CPU build);"
                           + " use run.backend gloo (or auto)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "refused at once, not after the rendezvous timeout")
    }

    func testTheNCCLBackendIsBuiltBesideTheShimWhereSetupInstalledNCCL() throws {
        let root = ShippedResources.root
        try XCTSkipUnless(FileManager.default.fileExists(atPath: root.appendingPathComponent(".deps/nccl/.ok").path), "setup did not install NCCL here")
        let library = root.appendingPathComponent(".deps/lib/libmagvit_nccl.so")
        let bytes = try Data(contentsOf: library)
        // Its one entry point, which csrc/dist.cpp looks up with dlsym (it cannot be loaded here: no CUDA libraries).
        XCTAssertNotNil(bytes.range(of: Data("magvit_nccl_backend".utf8)), "\(library.path) exports magvit_nccl_backend")
        XCTAssertNotNil(bytes.range(of: Data("libnccl.so.2".utf8)), "\(library.path) links NCCL")
    }
}
