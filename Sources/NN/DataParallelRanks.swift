// The ranks of a data-parallel run as a loss sees them, so that a model's loss can be written for
// a slice of a global batch without knowing the harness that runs it (Harness's `DataParallel` is one).
import Torch

/// This process's place among `worldSize` ranks, each holding its slice of a global batch (rows
/// rank·B ..< (rank+1)·B of W·B). A loss draws its randomness for the global batch and slices it,
/// and normalises by totals over the ranks, so that the ranks together compute what one process
/// would on the whole batch.
public protocol DataParallelRanks: AnyObject {
    var rank: Int { get }
    var worldSize: Int { get }
    /// The sum of `x` over the ranks (detached: a normaliser, not differentiated).
    func sum(_ x: Tensor) throws -> Tensor
}
