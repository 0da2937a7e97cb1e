using ZkLora.Math.Commitment;

namespace ZkLora.Api;

/// <summary>
/// The public parameters of the proofs' commitments: the Pedersen vector generators of the projection
/// backend and the IPA generators of the PLONK backend. They are transparent — hashed to the curve from
/// fixed domain strings, nothing secret or trusted, identical in every instance — so an instance only owns
/// their memory: points are derived on first use (seconds to minutes for the largest calls) and kept while
/// the instance is reachable (up to about half a GiB for a 1024-row GPT-2 call).
/// </summary>
/// <remarks>
/// A <see cref="VerificationContext"/> or a contributor server holds one; by default each makes its own, so
/// dropping it frees the points. A host that runs several verifiers or servers in one process can give them
/// one instance to derive the points once. Thread-safe.
/// </remarks>
public sealed class CommitmentParameters
{
    /// <summary>Creates an instance that has derived nothing yet and keeps its points in memory only.</summary>
    public CommitmentParameters() : this(null) { }

    /// <summary>
    /// Creates an instance that also keeps its generators (both backends') in
    /// <paramref name="generatorCacheDirectory"/> between processes (null: memory only). Stored points are
    /// checked when loaded (each must be the hash-to-curve output of its own index), so the directory needs
    /// no trust: a tampered file can only make proofs fail, never let a false one verify. Loading is about
    /// ten times faster than deriving. Problems with the directory never fail a proof; the points are then derived.
    /// </summary>
    /// <param name="generatorCacheDirectory">The directory (created when first written), or null.</param>
    public CommitmentParameters(string? generatorCacheDirectory)
    {
        GeneratorCacheDirectory = string.IsNullOrWhiteSpace(generatorCacheDirectory) ? null : Path.GetFullPath(generatorCacheDirectory);
        Inner = GeneratorCacheDirectory is null ? new PublicParameters() : new PublicParameters(new GeneratorStore(GeneratorCacheDirectory));
    }

    /// <summary>Where generators are kept between processes (null: memory only).</summary>
    public string? GeneratorCacheDirectory { get; }

    internal PublicParameters Inner { get; }

    /// <summary>The F# parameters object (the F# libraries take it directly; F# hosts use <see cref="PublicParameters"/>).</summary>
    internal PublicParameters ToFSharp() => Inner;
}
