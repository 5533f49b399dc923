// In-place updates, used by optimizers and initialisers. Run them under `withNoGrad` on parameters.
import CTorch

extension Tensor {
    /// self += alpha * other
    public func add_(_ other: Tensor, alpha: Double = 1) throws(TorchError) {
        try check(ct_inplace(Int32(CT_ADD.rawValue), handle, other.handle, alpha))
    }
    public func sub_(_ other: Tensor) throws(TorchError) { try check(ct_inplace(Int32(CT_SUB.rawValue), handle, other.handle, 1)) }
    public func mul_(_ other: Tensor) throws(TorchError) { try check(ct_inplace(Int32(CT_MUL.rawValue), handle, other.handle, 1)) }
    public func div_(_ other: Tensor) throws(TorchError) { try check(ct_inplace(Int32(CT_DIV.rawValue), handle, other.handle, 1)) }
    public func add_(_ s: Double) throws(TorchError) { try check(ct_inplace_scalar(Int32(CT_ADD.rawValue), handle, s)) }
    public func mul_(_ s: Double) throws(TorchError) { try check(ct_inplace_scalar(Int32(CT_MUL.rawValue), handle, s)) }
    public func div_(_ s: Double) throws(TorchError) { try check(ct_inplace_scalar(Int32(CT_DIV.rawValue), handle, s)) }
    /// self += value * a * b
    public func addcmul_(_ a: Tensor, _ b: Tensor, value: Double = 1) throws(TorchError) {
        try check(ct_addcmul_(handle, a.handle, b.handle, value))
    }
    /// self += value * a / b
    public func addcdiv_(_ a: Tensor, _ b: Tensor, value: Double = 1) throws(TorchError) {
        try check(ct_addcdiv_(handle, a.handle, b.handle, value))
    }
    /// self += weight * (end - self)
    public func lerp_(_ end: Tensor, weight: Double) throws(TorchError) { try check(ct_lerp_(handle, end.handle, weight)) }
    /// Copies `source` (broadcast, converted) into self.
    public func copy_(_ source: Tensor) throws(TorchError) { try check(ct_copy_(handle, source.handle)) }
    public func fill_(_ value: Double) throws(TorchError) { try check(ct_fill_(handle, value)) }
    public func uniform_(_ low: Double, _ high: Double) throws(TorchError) { try check(ct_uniform_(handle, low, high)) }
    public func normal_(mean: Double = 0, std: Double = 1) throws(TorchError) { try check(ct_normal_(handle, mean, std)) }

    /// Replaces this tensor's data (any shape, dtype or device) while keeping its identity,
    /// so layers holding it see the change: how parameters move between devices and dtypes.
    public func setData(_ source: Tensor) throws(TorchError) { try check(ct_set_data(handle, source.handle)) }
}
