// Exponential moving average of weights, used for evaluation (Polyak averaging).
import Torch

/// shadow ← decay·shadow + (1 − decay)·parameter after every update.
public final class ExponentialMovingAverage {
    public let decay: Double
    public let parameters: [(name: String, tensor: Tensor)]
    /// The averaged copies, by parameter name.
    public private(set) var shadow: [String: Tensor] = [:]

    public init(_ parameters: [(name: String, tensor: Tensor)], decay: Double = 0.999) throws {
        self.decay = decay
        self.parameters = parameters
        for (name, p) in parameters { shadow[name] = try p.detach().clone() }
    }

    public func update() throws {
        try withNoGrad { () throws in
            for (name, p) in parameters { try shadow[name]!.lerp_(p, weight: 1 - decay) }
        }
    }

    /// Copies the averages into the live parameters (e.g. for evaluation or export).
    public func copy(into store: ParameterStore) throws {
        try store.load(shadow, strict: false)
    }

    /// Runs `body` with the averages in `store`'s parameters (an evaluation), then puts the trained
    /// values back. Failing to put them back throws (training must never go on with the averages);
    /// an error of `body` is thrown after the weights are back.
    public func withAverages<R>(in store: ParameterStore, _ body: () throws -> R) throws -> R {
        let trained = try store.snapshot()
        try copy(into: store)
        let result = Result { try body() }
        do { try store.load(trained) } catch {
            throw ParameterError("could not put the trained weights back after using the averaged ones: \(error)")
        }
        return try result.get()
    }

    /// Restores averages from a checkpoint; every parameter must be present with its shape and
    /// finite values (a NaN average would only surface at the final save).
    public func load(_ tensors: [String: Tensor]) throws {
        var loaded: [(name: String, tensor: Tensor)] = []
        for (name, p) in parameters {
            guard let t = tensors[name], t.shape == p.shape else {
                throw ParameterError("EMA state for '\(name)' is missing or has the wrong shape")
            }
            loaded.append((name, t))
        }
        let damaged = try nonFinite(loaded)
        if !damaged.isEmpty { throw ParameterError("EMA state holds NaN or infinite values in \(damaged.count) tensor(s): \(summary(damaged))") }
        for ((name, p), (_, t)) in zip(parameters, loaded) { shadow[name] = try t.to(p.dtype, p.device).clone() }
    }
}
