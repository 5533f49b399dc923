// Counts the multiply-add FLOPs of matmul, linear, convolution and attention calls, so a model's
// cost per input size comes from running its own code (cheaply, with convolutions dry).
import Synchronization

/// Collects FLOPs (2 per multiply-add) of the network ops run inside `count`.
public enum FlopCounter {
    private static let total = Mutex<Int?>(nil)
    private static let dry = Mutex(false)

    /// Runs `body` and returns its result with the FLOPs it spent. Counting is process-wide:
    /// run one counted body at a time. With `dryRun`, convolutions skip their arithmetic and return
    /// zeros of the right shape, so the cost of a large model is counted in moments (the values
    /// computed are then meaningless).
    public static func count<R>(dryRun: Bool = false, _ body: () throws -> R) rethrows -> (result: R, flops: Int) {
        total.withLock { $0 = 0 }
        dry.withLock { $0 = dryRun }
        defer {
            total.withLock { $0 = nil }
            dry.withLock { $0 = false }
        }
        let result = try body()
        return (result, total.withLock { $0 ?? 0 })
    }

    static var isDryRun: Bool { dry.withLock { $0 } }

    @inline(__always)
    static func add(_ flops: @autoclosure () -> Int) {
        total.withLock { if $0 != nil { $0! += flops() } }
    }
}
