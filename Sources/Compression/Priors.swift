// The priors that need no model file, by the kind a stream records: the built-in adaptive frequencies
// and any registered with `Priors.register` (docs/extending.md). `PriorChoice.named(kind)` codes with
// one; a stream that records one decodes with it, whatever the decoder chose.
import Foundation
import Torch

public enum Priors {
    /// A fresh prior for one stream of `bits`-bit tokens (a prior may adapt as it codes).
    public typealias Make = @Sendable (_ bits: Int) throws -> any TokenPrior

    private static let entries = Registry<String, Make>([PriorIdentity.adaptiveKind: { AdaptivePrior(bits: $0) }])

    /// Registers a prior under `kind`, the name its streams record (its `identity.kind`).
    public static func register(_ kind: String, make: @escaping Make) {
        precondition(kind != PriorIdentity.maskedKind && kind != PriorIdentity.adaptiveKind, "\(kind) is a built-in prior")
        entries.set(kind, make)
    }

    /// Every kind that needs no model file, sorted.
    public static var kinds: [String] { entries.all.keys.sorted() }

    /// Whether `kind` is one of them.
    public static func isModelFree(_ kind: String) -> Bool { entries.entry(kind) != nil }

    /// A fresh prior of `kind`.
    public static func make(_ kind: String, bits: Int) throws -> any TokenPrior {
        guard let make = entries.entry(kind) else {
            throw CompressionError("unknown prior '\(kind)'; the priors without a model file: \(kinds.joined(separator: ", ")) (or a generator file)")
        }
        let prior = try make(bits)
        guard prior.identity.kind == kind else {
            throw CompressionError("the prior registered as '\(kind)' names itself '\(prior.identity.kind)' in its identity")
        }
        return prior
    }
}
