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
    /// <summary>Creates an instance that has derived nothing yet.</summary>
    public CommitmentParameters() { }

    internal PublicParameters Inner { get; } = new();

    /// <summary>The F# parameters object (the F# libraries take it directly; F# hosts use <see cref="PublicParameters"/>).</summary>
    internal PublicParameters ToFSharp() => Inner;
}
