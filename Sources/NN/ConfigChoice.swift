// A setting spelled as one of a fixed set of words, shared by the model configs that travel in
// checkpoints and the recipe configs read from files (Harness adds the parsing of a command-line word).
import Foundation

/// A setting spelled as one of a fixed set of words; a wrong word is an error that lists the choices.
public protocol ConfigChoice: RawRepresentable, CaseIterable, Codable, Sendable where RawValue == String {}

extension ConfigChoice {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(rawValue: text) else {
            let choices = Self.allCases.map(\.rawValue).joined(separator: ", ")
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected one of \(choices), got '\(text)'"))
        }
        self = value
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

extension CodingUserInfoKey {
    /// Set (true) on the encoder of the defaults a config file is laid over: a config then encodes
    /// every setting a file may give, also those of kinds it does not use (a registered quantizer's
    /// section); without it, only what it uses, as files record it.
    public static let everySetting = CodingUserInfoKey(rawValue: "magvit.everySetting")!
}
