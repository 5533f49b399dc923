// The quantizer kinds a tokenizer config may name, by name: the built-in `lfq` and `vq` and any
// registered with `Quantizers.register` (docs/extending.md). A registered kind's settings are a
// section of numbers under its name in `quantizer` (as `lfq` and `vq` are), with the defaults it
// registered; a key it did not register is refused like any unknown setting.
import Foundation
import NN
import Torch

/// A quantizer's name in configs and tokenizer files (`quantizer.kind`).
public struct QuantizerKind: RawRepresentable, Hashable, Codable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }
    public var description: String { rawValue }

    /// Lookup-free quantization: each latent channel becomes one bit (MAGVIT-v2 §3.1).
    public static let lfq: QuantizerKind = "lfq"
    /// A learned codebook with nearest-neighbour lookup (VQ-VAE), for the LFQ-vs-VQ comparison.
    public static let vq: QuantizerKind = "vq"

    public init(from decoder: any Swift.Decoder) throws {
        let container = try decoder.singleValueContainer()
        rawValue = try container.decode(String.self)
        guard Quantizers.kinds.contains(rawValue) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown quantizer kind '\(rawValue)'; the kinds: \(Quantizers.kinds.joined(separator: ", "))")
        }
    }

    public func encode(to encoder: any Swift.Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The registry of quantizer kinds.
public enum Quantizers {
    /// Makes a kind's quantizer; its parameters, if any, go under `path` (the tokenizer's `quantize.`).
    public typealias Make = @Sendable (_ path: ParameterPath, _ config: QuantizerConfig) throws -> any Quantizer

    struct Entry {
        let make: Make
        /// The settings section's defaults; nil for the built-ins, whose sections are typed (`lfq`, `vq`).
        let settings: [String: Double]?
    }

    private static let entries = Registry<String, Entry>([
        QuantizerKind.lfq.rawValue: Entry(make: { _, config in LookupFreeQuantizer(config: config) }, settings: nil),
        QuantizerKind.vq.rawValue: Entry(make: { path, config in try VectorQuantizer(path, config: config) }, settings: nil),
    ])

    /// Registers `kind` (not a built-in name): `quantizer: {kind: KIND, KIND: {setting: value}}` in a
    /// config then makes its quantizer with `make`; `settings` are its section's names and defaults.
    public static func register(_ kind: QuantizerKind, settings: [String: Double] = [:], make: @escaping Make) {
        precondition(kind != .lfq && kind != .vq && !["kind", "bits", "commitmentWeight"].contains(kind.rawValue), "\(kind) is a built-in name")
        entries.set(kind.rawValue, Entry(make: make, settings: settings))
    }

    /// Every kind's name, the built-ins first.
    public static var kinds: [String] {
        [QuantizerKind.lfq.rawValue, QuantizerKind.vq.rawValue] + entries.all.keys.filter { $0 != "lfq" && $0 != "vq" }.sorted()
    }

    /// The registered (not built-in) kinds with their settings' defaults.
    static var sections: [String: [String: Double]] {
        entries.all.compactMapValues(\.settings)
    }

    /// The quantizer of `config.kind`.
    static func make(_ path: ParameterPath, config: QuantizerConfig) throws -> any Quantizer {
        guard let entry = entries.entry(config.kind.rawValue) else {
            throw TokenizerError.invalidConfig("unknown quantizer kind '\(config.kind)'; the kinds: \(kinds.joined(separator: ", "))")
        }
        return try entry.make(path, config)
    }
}
