// Causal inflation: a 3D kernel whose last temporal slice is a 2D kernel and whose earlier slices are
// zero computes, frame by frame, what the 2D layer computes on images. Open-MAGVIT2 imports use it, and
// so does training from scratch: a video tokenizer that starts as an image tokenizer learns to mix
// frames gradually, where random temporal taps start by blending every frame with its predecessors.
import NN
import Torch

/// (O, I, kh, kw) → (O, I, kt, kh, kw) with the kernel in the last temporal slice, zeros before it.
public func inflate(_ kernel: Tensor, frames: Int) throws -> Tensor {
    let k = try kernel.unsqueeze(2)
    guard frames > 1 else { return k }
    var shape = k.shape
    shape[2] = frames - 1
    return try concatenate([Tensor.zeros(shape, dtype: k.dtype, device: k.device), k], dim: 2)
}

extension VideoTokenizer {
    /// Turns every causal 3D kernel (temporal size > 1) into an inflated 2D one: its last temporal
    /// slice, scaled by √kt so that it has the spread of a 2D kernel initialised with fan-in I·kh·kw,
    /// and zeros before it. Meant for freshly initialised models; returns how many kernels changed.
    @discardableResult
    public func inflateTemporalKernels() throws -> Int {
        var changed: [String: Tensor] = [:]
        for (name, weight) in store.tensors where weight.rank == 5 && weight.size(2) > 1 {
            let t = weight.size(2)
            let last = try weight.select(2, t - 1) * Double(t).squareRoot()
            changed[name] = try inflate(last, frames: t)
        }
        try store.load(changed, strict: false)
        return changed.count
    }
}
