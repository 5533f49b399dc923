// An objective as a list of named, weighted terms: Σ weight · value. Quantizers report theirs
// (commitment, entropies, codebook) and trainers add their own, so logs name every term the same way.
import Torch

public struct LossTerms {
    /// Term names in the order they were added.
    public private(set) var names: [String] = []
    /// Unweighted values (scalars), by name.
    public private(set) var values: [String: Tensor] = [:]
    public private(set) var weights: [String: Double] = [:]

    public init() {}

    /// Adds a term; a name added twice is a programming error reported as one.
    public mutating func add(_ name: String, _ value: Tensor, weight: Double) throws {
        guard values[name] == nil else { throw TokenizerError.invalidInput("loss term '\(name)' added twice") }
        names.append(name)
        values[name] = value
        weights[name] = weight
    }

    /// Adds every term of `other`, its names prefixed with `prefix` and its weights scaled by `scale`.
    public mutating func add(_ other: LossTerms, prefix: String = "", scale: Double = 1) throws {
        for name in other.names { try add(prefix + name, other.values[name]!, weight: scale * other.weights[name]!) }
    }

    /// Σ weight · value, or nil when there are no terms.
    public func total() throws -> Tensor? {
        var sum: Tensor?
        for name in names {
            let term = try values[name]! * weights[name]!
            sum = try sum.map { try $0 + term } ?? term
        }
        return sum
    }

    /// The unweighted values as numbers (one host sync per term), for logs.
    public func numbers() throws -> [String: Double] {
        try values.mapValues { try $0.item() }
    }
}
