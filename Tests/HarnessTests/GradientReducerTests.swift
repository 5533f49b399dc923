// The gradient all-reduce overlapped with backward (GradientReducer, DataParallel.backward): two
// ranks of one Gloo group, each on its own thread of this process, get the gradients that reducing
// each one after backward gives, with buckets started during backward; gradient accumulation
// reduces only the last micro-batch's backward; parameters backward never reaches, and misuse, are
// handled at finish() as Swift errors.
import Foundation
@testable import Harness
import NN
import TestSupport
import Torch
import XCTest

final class GradientReducerTests: XCTestCase {
    /// A result of one rank's thread.
    final class Outcome<R>: @unchecked Sendable { var value: Result<R, any Error>? }

    /// Runs `body` as ranks 0 and 1 of one process group on localhost, each on its own thread.
    func twoRanks<R>(_ body: @escaping @Sendable (ProcessGroup) throws -> R) throws -> [R] {
        let port = try Launcher.freePort()
        let outcomes = [Outcome<R>(), Outcome<R>()]
        let done = DispatchGroup()
        for rank in 0..<2 {
            done.enter()
            let thread = Thread {
                outcomes[rank].value = Result { try body(ProcessGroup(host: "127.0.0.1", port: port, rank: rank, worldSize: 2, timeout: 60)) }
                done.leave()
            }
            thread.stackSize = 16 << 20
            thread.start()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 120), .success, "the ranks finish")
        return try outcomes.map { try XCTUnwrap($0.value).get() }
    }

    /// A two-layer network in float64, the same on every rank; `unused` is in the list but not in the graph.
    struct Network {
        let w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor, unused: Tensor

        init() throws {
            func values(_ shape: [Int], _ phase: Double) throws -> Tensor {
                try Tensor((0..<shape.reduce(1, *)).map { sin(Double($0) * 0.37 + phase) }, shape: shape).to(.float64).requiresGrad(true)
            }
            (w1, b1, w2, b2, unused) = (try values([6, 5], 0.3), try values([6], 0.7), try values([4, 6], 1.1), try values([4], 1.3), try values([3], 1.7))
        }

        /// Buckets of at most 30 elements in reverse order: [b2, w2], [b1], [w1] (and [unused] when listed).
        func parameters(withUnused: Bool = false) -> [(name: String, tensor: Tensor)] {
            [("w1", w1)] + (withUnused ? [("unused", unused)] : []) + [("b1", b1), ("w2", w2), ("b2", b2)]
        }

        /// The loss of micro-batch `part` of `rank`'s rows.
        func loss(rank: Int, part: Int) throws -> Tensor {
            let x = try Tensor((0..<40).map { cos(Double($0) * 0.53 + Double(7 * rank + 3 * part)) }, shape: [8, 5]).to(.float64)
            let y = try linear(linear(x, weight: w1, bias: b1).relu(), weight: w2, bias: b2)
            return try y.square().mean()
        }

        func zeroGrad() throws { for (_, p) in parameters(withUnused: true) { try p.zeroGrad() } }

        /// One step of one micro-batch through `reducer`, armed or not: the buckets started during
        /// backward and the reduced gradients.
        func step(rank: Int, reducer: GradientReducer, armed: Bool) throws -> (early: Int, gradients: [[Double]]) {
            try zeroGrad()
            if armed { try reducer.arm() }
            try loss(rank: rank, part: 0).backward()
            return (try reducer.finish(), try gradients())
        }

        /// Every parameter's gradient as numbers (empty for none).
        func gradients() throws -> [[Double]] {
            try parameters(withUnused: true).map { try $0.tensor.grad?.toArray(Double.self) ?? [] }
        }

        /// What the reducer must match: the summed gradients of `parts` micro-batches, each all-reduced
        /// on its own after backward and divided by the world size.
        func reference(rank: Int, parts: Int, group: ProcessGroup) throws -> [[Double]] {
            try zeroGrad()
            for part in 0..<parts { try loss(rank: rank, part: part).backward() }
            for (_, p) in parameters() {
                let g = try XCTUnwrap(p.grad)
                try group.allReduce([g])
                try g.div_(Double(group.worldSize))
            }
            return try gradients()
        }
    }

    func assertSame(_ a: [[Double]], _ b: [[Double]], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.map(\.count), b.map(\.count), what, file: file, line: line)
        for (x, y) in zip(a.joined(), b.joined()) { XCTAssertEqual(x, y, accuracy: 1e-6 * max(abs(y), 1e-6), what, file: file, line: line) }
    }

    func testOverlappedGradientsEqualThoseReducedAfterBackward() throws {
        struct Seen { var reference, overlapped, after, accumulated, accumulatedReference, parallel: [[Double]]; var early, lateEarly, buckets, parallelEarly: Int }
        let seen = try twoRanks { group -> Seen in
            let net = try Network(), rank = group.rank
            let reducer = try GradientReducer(group: group, parameters: net.parameters().map(\.tensor), bucketElements: 30)
            let reference = try net.reference(rank: rank, parts: 1, group: group)

            let (early, overlapped) = try net.step(rank: rank, reducer: reducer, armed: true)
            let (lateEarly, after) = try net.step(rank: rank, reducer: reducer, armed: false)  // every bucket after backward

            // Two micro-batches: the first only accumulates, the second's backward reduces the sum.
            let accumulatedReference = try net.reference(rank: rank, parts: 2, group: group)
            try net.zeroGrad()
            try net.loss(rank: rank, part: 0).backward()
            try reducer.arm()
            try net.loss(rank: rank, part: 1).backward()
            try reducer.finish()
            let accumulated = try net.gradients()

            // The trainers' path: DataParallel counts the micro-batches and arms before the last.
            let parallel = DataParallel(group)
            parallel.bucketElements = 30
            try net.zeroGrad()
            for part in 0..<2 { try parallel.backward(net.loss(rank: rank, part: part), reducing: net.parameters(), microBatches: 2) }
            try parallel.averageGradients(net.parameters())
            return Seen(reference: reference, overlapped: overlapped, after: after, accumulated: accumulated,
                        accumulatedReference: accumulatedReference, parallel: try net.gradients(), early: early, lateEarly: lateEarly, buckets: reducer.buckets,
                        parallelEarly: parallel.bucketsStartedEarly)
        }
        for s in seen {
            XCTAssertEqual(s.buckets, 3)
            XCTAssertEqual(s.early, 3, "every bucket started during backward")
            XCTAssertEqual(s.lateEarly, 0, "none started during a backward that was not armed")
            assertSame(s.overlapped, s.reference, "overlapped")
            assertSame(s.after, s.reference, "reduced after backward")
            assertSame(s.accumulated, s.accumulatedReference, "two micro-batches")
            assertSame(s.parallel, s.accumulatedReference, "DataParallel.backward + averageGradients")
            XCTAssertEqual(s.parallelEarly, 3, "DataParallel armed the second micro-batch's backward")
        }
        assertSame(seen[0].overlapped, seen[1].overlapped, "the ranks agree")
        XCTAssertEqual(seen[0].reference[0].count, 30, "w1 has its gradient")
    }

    func testParametersBackwardMissesAndMisuseAreReportedAtFinish() throws {
        struct Seen { var reference, reduced: [[Double]]; var early: Int; var twice, armedTwice: String; var recovered: [[Double]] }
        let seen = try twoRanks { group -> Seen in
            let net = try Network(), rank = group.rank
            // [b2, w2], [b1, unused], [w1]: `unused` never gets a gradient, so its bucket and the
            // one after it wait for finish().
            let reducer = try GradientReducer(group: group, parameters: net.parameters(withUnused: true).map(\.tensor), bucketElements: 30)
            let reference = try net.reference(rank: rank, parts: 1, group: group)
            let (early, reduced) = try net.step(rank: rank, reducer: reducer, armed: true)

            // Two backward passes after arm(): the second changes gradients already sent.
            try net.zeroGrad()
            try reducer.arm()
            let loss = try net.loss(rank: rank, part: 0)
            try loss.backward(retainGraph: true)
            try loss.backward()
            var twice = ""
            do throws(TorchError) { try reducer.finish() } catch { twice = error.message }

            try reducer.arm()
            var armedTwice = ""
            do throws(TorchError) { try reducer.arm() } catch { armedTwice = error.message }
            let (_, recovered) = try net.step(rank: rank, reducer: reducer, armed: false)  // armed still, from the first arm()
            return Seen(reference: reference, reduced: reduced, early: early, twice: twice, armedTwice: armedTwice, recovered: recovered)
        }
        for s in seen {
            XCTAssertEqual(s.early, 1, "[b2, w2] starts during backward; [b1, unused] and [w1] at finish")
            assertSame(s.reduced, s.reference, "with a parameter backward does not reach")
            XCTAssertTrue(s.reduced[1].isEmpty, "the unused parameter has no gradient")
            XCTAssertTrue(s.twice.contains("accumulated twice after arm()"), s.twice)
            XCTAssertTrue(s.armedTwice.contains("armed already"), s.armedTwice)
            assertSame(s.recovered, s.reference, "the step after a failure")
        }
    }
}
