// Process-wide libtorch settings: version, seeding, threads, CUDA.
import CTorch

/// libtorch's global state.
public enum Torch {
    /// The libtorch version the shim was compiled against.
    public static var version: String { String(cString: ct_version()) }

    /// Seeds the CPU generator and every CUDA generator (torch.manual_seed).
    public static func manualSeed(_ seed: UInt64) { ct_manual_seed(seed) }

    /// Intra-op threads used by CPU kernels.
    public static var threads: Int {
        get { Int(ct_get_num_threads()) }
        set { ct_set_num_threads(Int32(clamping: newValue)) }
    }

    /// Whether float32 CPU 3D convolutions of batch 1 go straight to oneDNN (default) rather than to
    /// libtorch's native kernel, which it picks for small inputs and which is up to 3x slower there.
    public static var directOneDNNConv3d: Bool {
        get { ct_direct_onednn_conv3d() }
        set { ct_set_direct_onednn_conv3d(newValue) }
    }

    /// True when the loaded libtorch has a CUDA backend and sees a GPU.
    public static var cudaAvailable: Bool { ct_cuda_available() }
    public static var cudaDeviceCount: Int { Int(ct_cuda_device_count()) }
    /// The CUDA version of the loaded CUDA backend ("13.0"), or nil when none is loaded.
    public static var cudaVersion: String? { ct_cuda_version().map { String(cString: $0) } }

    /// Waits until every queued CUDA kernel has finished (for timing). No-op without CUDA.
    public static func synchronize() throws(TorchError) { try check(ct_cuda_synchronize()) }

    /// Bytes held now and at most by tensors on a CUDA device since the last reset.
    public static func cudaMemory(device: Int = 0, resetPeak: Bool = false) throws(TorchError) -> (current: Int, peak: Int) {
        var current: Int64 = 0
        var peak: Int64 = 0
        try check(ct_cuda_memory(Int32(clamping: device), &current, &peak, resetPeak))
        return (Int(current), Int(peak))
    }
}
