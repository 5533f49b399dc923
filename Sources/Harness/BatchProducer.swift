// Loading that runs ahead of the model: a background thread prepares the batches of the next steps
// (each a pure function of the seed and its step, so prefetching changes nothing in the numbers).
import Foundation
import Torch

/// Batches of consecutive steps made on a background thread, taken in order.
public final class BatchProducer<Batch>: @unchecked Sendable {
    private let condition = NSCondition()
    private var ready: [Int: Result<Batch, Error>] = [:]
    private var nextToMake: Int
    private var nextToTake: Int
    private let end: Int
    private let depth: Int
    private var stopped = false
    private var thread: Thread?

    /// Batches for steps `steps` from `make`, at most `depth` ahead of the consumer.
    public init(steps: Range<Int>, depth: Int, make: @escaping @Sendable (Int) throws -> Batch) {
        nextToMake = steps.lowerBound
        nextToTake = steps.lowerBound
        end = steps.upperBound
        self.depth = depth
        let thread = Thread { [unowned self] in self.produce(make) }
        thread.name = "magvit-batches"
        self.thread = thread
        thread.start()
    }

    deinit { stop() }

    private func produce(_ make: (Int) throws -> Batch) {
        while true {
            condition.lock()
            while !stopped && nextToMake < end && nextToMake - nextToTake >= depth { condition.wait() }
            if stopped || nextToMake >= end { condition.unlock(); return }
            let step = nextToMake
            nextToMake += 1
            condition.unlock()
            let result = Result { try make(step) }
            condition.lock()
            ready[step] = result
            condition.broadcast()
            condition.unlock()
        }
    }

    /// The batch of the next step, waiting for it if it is not ready.
    public func next() throws -> Batch {
        condition.lock()
        defer { condition.unlock() }
        let step = nextToTake
        guard step < end else { throw ConfigError("no batches left: the producer covers steps before \(end)") }
        while ready[step] == nil { condition.wait() }
        nextToTake += 1
        condition.broadcast()
        return try ready.removeValue(forKey: step)!.get()
    }

    /// Lets the thread finish; batches not taken are dropped.
    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}

/// A step's global batch of example numbers drawn uniformly, with replacement, from 0..<count: a pure
/// function of (seed, step); with `parallel`, this rank's slice of it. (N) int64.
public func randomBatchIndices(count: Int, batch: Int, seed: UInt64, step: Int, parallel: DataParallel?) throws -> Tensor {
    var random = SeededRandom(seed: seed, step: step, stream: 1)
    let picks = (0..<batch).map { _ in Int64(Swift.min(count - 1, Int(random.uniform() * Double(count)))) }
    let index = try Tensor(picks, shape: [batch])
    return try parallel.map { try $0.slice(index) } ?? index
}
