// Loading that runs ahead of the model: a background thread prepares the batches of the next steps
// (each a pure function of the seed and its step, so prefetching changes nothing in the numbers).
import Foundation
import Torch

/// Batches of consecutive steps made on a background thread, taken in order.
public final class BatchProducer<Batch>: @unchecked Sendable {
    /// What the thread and the consumer share. The thread holds it strongly, so a producer released
    /// while its thread is still making a batch leaves that thread nothing dangling to touch.
    private final class Queue: @unchecked Sendable {
        let condition = NSCondition()
        var ready: [Int: Result<Batch, Error>] = [:]
        var nextToMake: Int
        var nextToTake: Int
        let end: Int
        let depth: Int
        var stopped = false

        init(steps: Range<Int>, depth: Int) {
            (nextToMake, nextToTake, end, self.depth) = (steps.lowerBound, steps.lowerBound, steps.upperBound, depth)
        }

        func produce(_ make: (Int) throws -> Batch) {
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
    }

    private let queue: Queue

    /// Batches for steps `steps` from `make`, at most `depth` ahead of the consumer.
    public init(steps: Range<Int>, depth: Int, make: @escaping @Sendable (Int) throws -> Batch) {
        let queue = Queue(steps: steps, depth: depth)
        self.queue = queue
        let thread = Thread { queue.produce(make) }
        thread.name = "magvit-batches"
        thread.start()
    }

    deinit { stop() }

    /// The batch of the next step, waiting for it if it is not ready.
    public func next() throws -> Batch {
        let q = queue
        q.condition.lock()
        defer { q.condition.unlock() }
        let step = q.nextToTake
        guard step < q.end else { throw ConfigError("no batches left: the producer covers steps before \(q.end)") }
        while q.ready[step] == nil { q.condition.wait() }
        q.nextToTake += 1
        q.condition.broadcast()
        return try q.ready.removeValue(forKey: step)!.get()
    }

    /// Lets the thread finish; batches not taken are dropped.
    public func stop() {
        queue.condition.lock()
        queue.stopped = true
        queue.condition.broadcast()
        queue.condition.unlock()
    }
}

/// A step's global batch of example numbers drawn uniformly, with replacement, from 0..<count: each a
/// pure function of (seed, step, its row); with `parallel`, only this rank's rows are drawn. (N) int64.
public func randomBatchIndices(count: Int, batch: Int, seed: UInt64, step: Int, parallel: DataParallel?) throws -> Tensor {
    try randomBatchIndices(count: count, seed: seed, step: step, rows: parallel?.rows(of: batch) ?? 0..<batch)
}

/// The batches of a fixed set of examples and their labels (rows aligned): each step's rows drawn by
/// `randomBatchIndices` (this rank's slice of them), moved to `device`.
public func randomBatches(of examples: Tensor, labels: Tensor, batch: Int, seed: UInt64, device: Device,
                          parallel: DataParallel?) -> @Sendable (Int) throws -> (Tensor, Tensor) {
    { step in
        let index = try randomBatchIndices(count: labels.size(0), batch: batch, seed: seed, step: step, parallel: parallel)
        return (try examples.indexSelect(0, index).to(device), try labels.indexSelect(0, index).to(device))
    }
}

/// Rows `rows` of a step's global batch of example numbers (see above): a rank draws its own alone.
public func randomBatchIndices(count: Int, seed: UInt64, step: Int, rows: Range<Int>) throws -> Tensor {
    let picks = rows.map { row in
        var random = SeededRandom(seed: seed, step: step, example: row, stream: 1)
        return Int64(Swift.min(count - 1, Int(random.uniform() * Double(count))))
    }
    return try Tensor(picks, shape: [picks.count])
}

extension SeededRandom {
    /// The stream of row `example` of step `step`'s global batch: a pure function of (seed, step,
    /// example, stream), so any rank makes any example of the batch without making the others.
    public init(seed: UInt64, step: Int, example: Int, stream: UInt64 = 0) {
        var mixer = SeededRandom(seed: seed, step: step, stream: stream)
        self.init(seed: seed, step: example, stream: mixer.next())
    }
}
