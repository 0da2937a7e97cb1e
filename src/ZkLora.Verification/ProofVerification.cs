using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.FSharp.Collections;
using ZkLora.Proofs;

namespace ZkLora.Api;

/// <summary>Why a proof directory was rejected.</summary>
public enum ProofVerificationFailure
{
    /// <summary>A file (transcript, manifest, proof directory, proof) is missing, unreadable or malformed.</summary>
    InvalidInput,
    /// <summary>A transcript row has no proof, or a statement is extra or duplicated.</summary>
    Coverage,
    /// <summary>A statement field differs from the transcript entry it claims to cover.</summary>
    StatementMismatch,
    /// <summary>A module is absent from the pinned manifest, or its commitment, shape, config or scaling differs.</summary>
    ManifestMismatch,
    /// <summary>A statement, meta or proof file was altered (its digests do not match).</summary>
    Tampered,
    /// <summary>A public value (x or delta) lies outside ±value_bound.</summary>
    OutOfBounds,
    /// <summary>A zero-knowledge proof does not verify.</summary>
    InvalidProof,
    /// <summary>A module's fixed-point configuration or scaling lies outside the verifier's <see cref="ParameterPolicy"/>.</summary>
    OutsidePolicy,
    /// <summary>
    /// The one-time adapter proof of a projection manifest (<see cref="AdapterManifest.AdapterProofsPath"/>) is missing,
    /// malformed, for another manifest, or does not verify.
    /// </summary>
    InvalidAdapterProof,
}

/// <summary>Verification failed; <see cref="Reason"/> says which check, the message says exactly what.</summary>
public sealed class ProofVerificationException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="reason">Which check failed.</param>
    /// <param name="message">What failed, naming the statement.</param>
    public ProofVerificationException(ProofVerificationFailure reason, string message) : base(message) => Reason = reason;

    /// <summary>Which check failed.</summary>
    public ProofVerificationFailure Reason { get; }
}

/// <summary>A successful verification.</summary>
/// <param name="ProofCount">Proofs verified (one per transcript entry).</param>
/// <param name="CircuitCount">Distinct circuits (proofs of one circuit are batch-verified together).</param>
/// <param name="TotalTime">Wall time of the whole verification, reading files included.</param>
public sealed record ProofVerificationResult(int ProofCount, int CircuitCount, TimeSpan TotalTime);

/// <summary>
/// What a verifier keeps between verifications, owned by its host: the verifying keys derived so far
/// (by circuit id, least recently used evicted), the projection manifests whose one-time adapter
/// proofs verified, and the commitment generators derived so far (<see cref="Parameters"/>). Pass one in <see cref="ProofVerificationOptions.Context"/> to reuse them across
/// verifications; without one each verification starts empty. Thread-safe; nothing is kept process-wide.
/// </summary>
public sealed class VerificationContext
{
    /// <summary>Verifying keys kept by default (16).</summary>
    public const int DefaultVerifyingKeyCacheSize = 16;

    /// <summary>Creates an empty context.</summary>
    /// <param name="verifyingKeyCacheSize">Verifying keys kept (at least 1; the CLI maps <c>ZKLORA_VK_CACHE_SIZE</c> here).</param>
    /// <param name="parameters">The commitment parameters to derive generators into (null: the context's own). Share one
    /// instance between the host's contexts and servers to derive the generators once.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="verifyingKeyCacheSize"/> is below 1.</exception>
    public VerificationContext(int verifyingKeyCacheSize = DefaultVerifyingKeyCacheSize, CommitmentParameters? parameters = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(verifyingKeyCacheSize, 1);
        VerifyingKeyCacheSize = verifyingKeyCacheSize;
        Parameters = parameters ?? new CommitmentParameters();
        Inner = new ProofVerify.VerifierContext(new ProofVerify.VerifierOptions(ZkLora.Proofs.ParameterPolicy.standard, verifyingKeyCacheSize), Parameters.Inner);
    }

    /// <summary>The commitment parameters this context derives its generators into.</summary>
    public CommitmentParameters Parameters { get; }

    /// <summary>Most verifying keys kept.</summary>
    public int VerifyingKeyCacheSize { get; }

    /// <summary>Verifying keys held now.</summary>
    public int CachedVerifyingKeys => Inner.VerifyingKeys.Count;

    internal ProofVerify.VerifierContext Inner { get; }
}

/// <summary>How <see cref="ProofVerification"/> verifies: the parameter policy, the verifier context and the logger.</summary>
public sealed record ProofVerificationOptions
{
    /// <summary>The bounds on every module's fixed-point configuration and scaling, checked before any proof is read
    /// (default <see cref="ParameterPolicy.Standard"/>).</summary>
    public ParameterPolicy ParameterPolicy { get; init; } = ParameterPolicy.Standard;

    /// <summary>
    /// Receives one message per verification step that passed (<see cref="LogLevel.Information"/>: each module's
    /// configuration and scaling, each statement, each batch of proofs) and per thing skipped (<see cref="LogLevel.Warning"/>),
    /// with named values (<c>Module</c>, <c>SessionId</c>, <c>Invocation</c>, <c>CircuitId</c>, …). A rejection is the
    /// <see cref="ProofVerificationException"/>, not a log message. Null: <see cref="NullLogger.Instance"/>; the library
    /// writes nothing to the console itself.
    /// </summary>
    public ILogger? Logger { get; init; }

    /// <summary>The verifier context whose verifying keys and verified adapter proofs are reused (null: a fresh one for this verification).</summary>
    public VerificationContext? Context { get; init; }
}

/// <summary>
/// The verifier (docs/design.md §1.2 step 4). Checks every proof artifact against the base-model user's
/// transcript and the adapter manifest pinned before inference: every module's parameters within
/// the verifier's <see cref="ParameterPolicy"/> (before any proof is read), full coverage (no missing, extra
/// or duplicate statement), exact statement match, manifest match, file digests, native bounds of
/// the public values, and the zero-knowledge proofs (batched per circuit). Both backends are accepted,
/// as each pinned manifest says (<see cref="AdapterManifest.ProofBackend"/>): for a projection manifest the
/// one-time adapter proof next to it (<see cref="AdapterManifest.AdapterProofsPath"/>) is verified once per
/// manifest digest in the <see cref="VerificationContext"/>, and a projection statement may cover several calls of one module in a
/// session (each transcript entry must still be covered exactly once). Needs neither the weights nor TorchSharp.
/// </summary>
public static class ProofVerification
{
    /// <summary>Verifies a proof directory.</summary>
    /// <param name="proofDir">The contributor's proof directory.</param>
    /// <param name="transcriptPath">The base-model user's transcript.</param>
    /// <param name="expectedAdaptersPath">The adapter manifest pinned before inference.</param>
    /// <param name="logger">Receives one message per step (see <see cref="ProofVerificationOptions.Logger"/>; null: none).</param>
    /// <returns>The number of proofs and the total time.</returns>
    /// <exception cref="ProofVerificationException">Any check failed; <see cref="ProofVerificationException.Reason"/> says which.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters",
        Justification = "The shape of the 0.1.0 overloads they replace (verbose and log became logger); the single- and multi-directory overloads differ in the types of their first and third parameters, so no call is ambiguous.")]
    public static ProofVerificationResult BatchVerifyProofs(string proofDir, string transcriptPath, string expectedAdaptersPath, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(proofDir);
        ArgumentException.ThrowIfNullOrWhiteSpace(expectedAdaptersPath);
        return BatchVerifyProofs([proofDir], transcriptPath, [expectedAdaptersPath], logger);
    }

    /// <summary>
    /// Verifies the proof directories of several contributors (each serving different modules)
    /// against one transcript and the union of their pinned manifests. A statement found in two
    /// directories, or a module pinned by two manifests, is rejected.
    /// </summary>
    /// <param name="proofDirs">One proof directory per contributor.</param>
    /// <param name="transcriptPath">The base-model user's transcript.</param>
    /// <param name="expectedAdaptersPaths">Each contributor's manifest, pinned before inference.</param>
    /// <param name="logger">Receives one message per step (see <see cref="ProofVerificationOptions.Logger"/>; null: none).</param>
    /// <returns>The number of proofs and the total time.</returns>
    /// <exception cref="ProofVerificationException">Any check failed; <see cref="ProofVerificationException.Reason"/> says which.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters",
        Justification = "The shape of the 0.1.0 overloads they replace (verbose and log became logger); the single- and multi-directory overloads differ in the types of their first and third parameters, so no call is ambiguous.")]
    public static ProofVerificationResult BatchVerifyProofs(IReadOnlyList<string> proofDirs, string transcriptPath, IReadOnlyList<string> expectedAdaptersPaths, ILogger? logger = null) =>
        Verify(proofDirs, transcriptPath, expectedAdaptersPaths, ParameterPolicy.Standard, null, logger, CancellationToken.None);

    /// <summary>
    /// Verifies the proof directories of several contributors with explicit <paramref name="options"/>
    /// (for example a <see cref="ParameterPolicy"/> other than <see cref="ParameterPolicy.Standard"/>).
    /// </summary>
    /// <param name="proofDirs">One proof directory per contributor.</param>
    /// <param name="transcriptPath">The base-model user's transcript.</param>
    /// <param name="expectedAdaptersPaths">Each contributor's manifest, pinned before inference.</param>
    /// <param name="options">The parameter policy, the verifier context and the logger.</param>
    /// <returns>The number of proofs and the total time.</returns>
    /// <exception cref="ProofVerificationException">Any check failed; <see cref="ProofVerificationException.Reason"/> says which.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The policy's own bounds are out of range.</exception>
    public static ProofVerificationResult BatchVerifyProofs(IReadOnlyList<string> proofDirs, string transcriptPath, IReadOnlyList<string> expectedAdaptersPaths, ProofVerificationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Verify(proofDirs, transcriptPath, expectedAdaptersPaths, options.ParameterPolicy, options.Context, options.Logger, CancellationToken.None);
    }

    /// <summary>As <see cref="BatchVerifyProofs(string, string, string, ILogger?)"/>, on the thread pool, with cancellation.</summary>
    /// <param name="proofDir">The contributor's proof directory.</param>
    /// <param name="transcriptPath">The base-model user's transcript.</param>
    /// <param name="expectedAdaptersPath">The adapter manifest pinned before inference.</param>
    /// <param name="logger">Receives one message per step (see <see cref="ProofVerificationOptions.Logger"/>; null: none).</param>
    /// <param name="cancellationToken">Observed before the files are read, after each statement is checked and after each circuit's proofs are verified.</param>
    /// <returns>The number of proofs and the total time.</returns>
    /// <exception cref="ProofVerificationException">Any check failed; <see cref="ProofVerificationException.Reason"/> says which.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters",
        Justification = "The shape of the 0.1.0 overloads they replace (verbose and log became logger); the single- and multi-directory overloads differ in the types of their first and third parameters, so no call is ambiguous.")]
    public static Task<ProofVerificationResult> BatchVerifyProofsAsync(string proofDir, string transcriptPath, string expectedAdaptersPath, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(proofDir);
        ArgumentException.ThrowIfNullOrWhiteSpace(expectedAdaptersPath);
        return BatchVerifyProofsAsync([proofDir], transcriptPath, [expectedAdaptersPath], logger, cancellationToken);
    }

    /// <summary>
    /// As <see cref="BatchVerifyProofs(IReadOnlyList{string}, string, IReadOnlyList{string}, ILogger?)"/>,
    /// on the thread pool, with cancellation.
    /// </summary>
    /// <param name="proofDirs">One proof directory per contributor.</param>
    /// <param name="transcriptPath">The base-model user's transcript.</param>
    /// <param name="expectedAdaptersPaths">Each contributor's manifest, pinned before inference.</param>
    /// <param name="logger">Receives one message per step (see <see cref="ProofVerificationOptions.Logger"/>; null: none).</param>
    /// <param name="cancellationToken">Observed before the files are read, after each statement is checked and after each circuit's proofs are verified.</param>
    /// <returns>The number of proofs and the total time.</returns>
    /// <exception cref="ProofVerificationException">Any check failed; <see cref="ProofVerificationException.Reason"/> says which.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters",
        Justification = "The shape of the 0.1.0 overloads they replace (verbose and log became logger); the single- and multi-directory overloads differ in the types of their first and third parameters, so no call is ambiguous.")]
    public static Task<ProofVerificationResult> BatchVerifyProofsAsync(IReadOnlyList<string> proofDirs, string transcriptPath, IReadOnlyList<string> expectedAdaptersPaths, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        CheckArguments(proofDirs, transcriptPath, expectedAdaptersPaths);
        return Task.Run(() => Verify(proofDirs, transcriptPath, expectedAdaptersPaths, ParameterPolicy.Standard, null, logger, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// As <see cref="BatchVerifyProofs(IReadOnlyList{string}, string, IReadOnlyList{string}, ProofVerificationOptions)"/>,
    /// on the thread pool, with cancellation.
    /// </summary>
    /// <param name="proofDirs">One proof directory per contributor.</param>
    /// <param name="transcriptPath">The base-model user's transcript.</param>
    /// <param name="expectedAdaptersPaths">Each contributor's manifest, pinned before inference.</param>
    /// <param name="options">The parameter policy, the verifier context and the logger.</param>
    /// <param name="cancellationToken">Observed before the files are read, after each statement is checked and after each circuit's proofs are verified.</param>
    /// <returns>The number of proofs and the total time.</returns>
    /// <exception cref="ProofVerificationException">Any check failed; <see cref="ProofVerificationException.Reason"/> says which.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static Task<ProofVerificationResult> BatchVerifyProofsAsync(IReadOnlyList<string> proofDirs, string transcriptPath, IReadOnlyList<string> expectedAdaptersPaths, ProofVerificationOptions options, CancellationToken cancellationToken)
    {
        CheckArguments(proofDirs, transcriptPath, expectedAdaptersPaths);
        ArgumentNullException.ThrowIfNull(options);
        return Task.Run(() => Verify(proofDirs, transcriptPath, expectedAdaptersPaths, options.ParameterPolicy, options.Context, options.Logger, cancellationToken), cancellationToken);
    }

    private static void CheckArguments(IReadOnlyList<string> proofDirs, string transcriptPath, IReadOnlyList<string> expectedAdaptersPaths)
    {
        ArgumentNullException.ThrowIfNull(proofDirs);
        ArgumentNullException.ThrowIfNull(expectedAdaptersPaths);
        ArgumentException.ThrowIfNullOrWhiteSpace(transcriptPath);
        if (proofDirs.Count == 0 || proofDirs.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException("Give at least one proof directory, none empty.", nameof(proofDirs));
        if (expectedAdaptersPaths.Count == 0 || expectedAdaptersPaths.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException("Give at least one pinned manifest, none empty.", nameof(expectedAdaptersPaths));
    }

    private static ProofVerificationResult Verify(IReadOnlyList<string> proofDirs, string transcriptPath, IReadOnlyList<string> expectedAdaptersPaths, ParameterPolicy parameterPolicy, VerificationContext? context, ILogger? logger, CancellationToken cancellationToken)
    {
        CheckArguments(proofDirs, transcriptPath, expectedAdaptersPaths);
        ArgumentNullException.ThrowIfNull(parameterPolicy);
        var policy = parameterPolicy.ToFSharp();
        cancellationToken.ThrowIfCancellationRequested();
        // The verifier reports each finished step to its logger, which makes it the place to observe
        // cancellation: the exception unwinds the pure F# pipeline (it holds no resources).
        var sink = new CancellationObservingLogger(logger ?? NullLogger.Instance, cancellationToken);
        var verifier = (context ?? new VerificationContext()).Inner.WithPolicy(policy);
        var r = ProofVerify.batchVerifyManyFilesWith(
            verifier, ListModule.OfSeq(proofDirs.Select(Path.GetFullPath)), Path.GetFullPath(transcriptPath),
            ListModule.OfSeq(expectedAdaptersPaths.Select(Path.GetFullPath)), sink);
        cancellationToken.ThrowIfCancellationRequested();
        if (r.IsError) throw new ProofVerificationException(ReasonOf(r.ErrorValue.Kind), r.ErrorValue.Message);
        var s = r.ResultValue;
        return new ProofVerificationResult(s.Proofs, s.Circuits, TimeSpan.FromSeconds(s.Seconds));
    }

    private static ProofVerificationFailure ReasonOf(ProofVerify.VerifyFailureKind kind) => kind.Tag switch
    {
        ProofVerify.VerifyFailureKind.Tags.Coverage => ProofVerificationFailure.Coverage,
        ProofVerify.VerifyFailureKind.Tags.StatementMismatch => ProofVerificationFailure.StatementMismatch,
        ProofVerify.VerifyFailureKind.Tags.ManifestMismatch => ProofVerificationFailure.ManifestMismatch,
        ProofVerify.VerifyFailureKind.Tags.Tampered => ProofVerificationFailure.Tampered,
        ProofVerify.VerifyFailureKind.Tags.OutOfBounds => ProofVerificationFailure.OutOfBounds,
        ProofVerify.VerifyFailureKind.Tags.InvalidProof => ProofVerificationFailure.InvalidProof,
        ProofVerify.VerifyFailureKind.Tags.OutsidePolicy => ProofVerificationFailure.OutsidePolicy,
        ProofVerify.VerifyFailureKind.Tags.InvalidAdapterProof => ProofVerificationFailure.InvalidAdapterProof,
        _ => ProofVerificationFailure.InvalidInput,
    };
}
