// swift-tools-version: 6.0
import PackageDescription

// The C shim (csrc/) is built by scripts/build-shim.sh into .deps/lib, against the libtorch that
// scripts/setup.sh unpacks there; Swift links only its C interface (Sources/CTorch/ctorch.h).
let shimDirectory = Context.packageDirectory + "/.deps/lib"
let linkShim: [LinkerSetting] = [
    .unsafeFlags(["-L", shimDirectory, "-Xlinker", "-rpath", "-Xlinker", shimDirectory])
]

let package = Package(
    name: "Magvit",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Torch", targets: ["Torch"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Tokenizer", targets: ["Tokenizer"]),
        .library(name: "Media", targets: ["Media"]),
        .library(name: "Codec", targets: ["Codec"]),
        .library(name: "Metrics", targets: ["Metrics"]),
        .library(name: "Harness", targets: ["Harness"]),
        .library(name: "TokenizerTraining", targets: ["TokenizerTraining"]),
        .library(name: "GeneratorModel", targets: ["GeneratorModel"]),
        .library(name: "Generator", targets: ["Generator"]),
        .library(name: "Dataset", targets: ["Dataset"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
        .library(name: "ClassifierModel", targets: ["ClassifierModel"]),
        .library(name: "Classifier", targets: ["Classifier"]),
        .library(name: "Compression", targets: ["Compression"]),
        .executable(name: "magvit", targets: ["magvit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        .systemLibrary(name: "CTorch"),
        .target(name: "Torch", dependencies: ["CTorch"], linkerSettings: linkShim),
        .target(name: "NN", dependencies: ["Torch"]),
        .target(name: "Tokenizer", dependencies: ["NN", "Torch", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Media", dependencies: ["Torch"]),
        .target(name: "Metrics", dependencies: ["NN", "Torch"]),
        .systemLibrary(name: "CZlib"),
        .target(name: "Harness", dependencies: ["NN", "Torch", "CZlib", .product(name: "Yams", package: "Yams")]),
        .target(name: "TokenizerTraining", dependencies: ["Dataset", "Harness", "Tokenizer", "Metrics", "NN", "Torch"]),
        // Models (a network and its checkpoint format) apart from their recipes (config, trainer, data).
        .target(name: "GeneratorModel", dependencies: ["Tokenizer", "NN", "Torch"]),
        .target(name: "Generator", dependencies: ["GeneratorModel", "Harness", "Codec", "Dataset", "Tokenizer", "Metrics", "Media", "NN", "Torch"]),
        .target(name: "Codec", dependencies: ["Tokenizer", "Media", "Metrics", "Torch"]),
        .target(name: "Dataset", dependencies: ["Harness", "Codec", "Tokenizer", "Media", "NN", "Torch", .product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "Evaluation",
            dependencies: ["Codec", "Dataset", "Tokenizer", "Media", "Metrics", "Torch", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Compression", dependencies: ["Codec", "CZlib", "GeneratorModel", "Tokenizer", "Media", "Torch"]),
        .target(name: "ClassifierModel", dependencies: ["NN", "Torch"]),
        .target(name: "Classifier", dependencies: ["ClassifierModel", "Harness", "Dataset", "Tokenizer", "Metrics", "Media", "NN", "Torch"]),
        .executableTarget(
            name: "magvit",
            dependencies: ["Torch", "NN", "Tokenizer", "Media", "Codec", "Metrics", "Harness", "TokenizerTraining", "GeneratorModel", "Generator", "Evaluation", "Dataset", "Classifier", "Compression", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            linkerSettings: linkShim),
        .target(name: "Hostile", dependencies: ["Compression", "GeneratorModel", "Codec", "Dataset", "TokenizerTraining", "Harness", "Tokenizer", "Media", "NN", "Torch", .product(name: "Crypto", package: "swift-crypto")]),
        .executableTarget(
            name: "magvit-bench",
            dependencies: ["Hostile", "Dataset", "Evaluation", "Codec", "Compression", "Media", "Torch", "NN", "Tokenizer", "Metrics", "GeneratorModel", "TokenizerTraining", "Harness", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            linkerSettings: linkShim),
        .target(name: "TestSupport", dependencies: ["Torch", "Media"], path: "Tests/TestSupport"),
        .testTarget(name: "TorchTests", dependencies: ["Torch", "TestSupport"], linkerSettings: linkShim),
        .testTarget(
            name: "NNTests", dependencies: ["NN", "Torch", "TestSupport"], resources: [.copy("Fixtures")],
            linkerSettings: linkShim),
        .testTarget(
            name: "MetricsTests", dependencies: ["Metrics", "Media", "NN", "Torch", "Dataset", "TestSupport"], resources: [.copy("Fixtures")],
            linkerSettings: linkShim),
        .testTarget(name: "MediaTests", dependencies: ["Media", "Torch", "TestSupport"], linkerSettings: linkShim),
        .testTarget(name: "CodecTests", dependencies: ["Codec", "Tokenizer", "Media", "NN", "Torch", "TestSupport"], linkerSettings: linkShim),
        .testTarget(
            name: "TrainingTests", dependencies: ["Harness", "TokenizerTraining", "Dataset", "Metrics", "Tokenizer", "Media", "NN", "Torch", "TestSupport"],
            resources: [.copy("Fixtures")], linkerSettings: linkShim),
        .testTarget(
            name: "CompressionTests", dependencies: ["Compression", "Codec", "GeneratorModel", "Harness", "Tokenizer", "Media", "NN", "Torch", "TestSupport"],
            linkerSettings: linkShim),
        .testTarget(name: "HostileTests", dependencies: ["Hostile", "TestSupport"], linkerSettings: linkShim),
        .testTarget(
            name: "ExtensionTests", dependencies: ["Compression", "Codec", "Dataset", "TokenizerTraining", "Harness", "Tokenizer", "NN", "Torch", "TestSupport"],
            linkerSettings: linkShim),
        .testTarget(name: "HarnessTests", dependencies: ["Harness", "CZlib", "NN", "Torch", "TestSupport"], linkerSettings: linkShim),
        .testTarget(
            name: "GeneratorModelTests", dependencies: ["GeneratorModel", "Tokenizer", "NN", "Torch", "TestSupport"], linkerSettings: linkShim),
        .testTarget(
            name: "GeneratorTests", dependencies: ["Generator", "GeneratorModel", "Dataset", "Metrics", "Harness", "Tokenizer", "Media", "NN", "Torch", "TestSupport"],
            linkerSettings: linkShim),
        .testTarget(
            name: "DatasetTests", dependencies: ["Dataset", "Codec", "Tokenizer", "Media", "NN", "Torch", "TestSupport"],
            linkerSettings: linkShim),
        .testTarget(
            name: "ClassifierTests", dependencies: ["Classifier", "ClassifierModel", "GeneratorModel", "Dataset", "Harness", "Tokenizer", "Media", "NN", "Torch", "TestSupport"],
            linkerSettings: linkShim),
        .testTarget(
            name: "EvaluationTests", dependencies: ["Evaluation", "Codec", "Metrics", "Media", "Tokenizer", "Torch", "TestSupport"],
            linkerSettings: linkShim),
        .testTarget(
            name: "RecipeSettingsTests", dependencies: ["TokenizerTraining", "Generator", "Classifier", "Dataset", "Harness", "Tokenizer", "NN", "Torch", "TestSupport"],
            linkerSettings: linkShim),
        .testTarget(
            name: "TokenizerTests", dependencies: ["Tokenizer", "NN", "Torch", "TestSupport"], resources: [.copy("Fixtures")],
            linkerSettings: linkShim),
    ]
)
