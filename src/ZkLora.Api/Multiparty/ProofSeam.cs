using System.Numerics;
using Microsoft.FSharp.Collections;
using ZkLora.Proofs;
using Fp = ZkLora.Math.FieldElement<ZkLora.Math.PallasBase>;

namespace ZkLora.Api.Multiparty;

/// <summary>
/// One module call a contributor answered: the quantized input it computed from the activations
/// it received, the exact quantized delta it returned, the shapes and the call's index within
/// (session, module). This is what a proof covers, and it is the contributor-side twin of the
/// base-model user's <see cref="TranscriptEntry"/>.
/// </summary>
public sealed class RecordedCall
{
    internal RecordedCall(string sessionId, string moduleName, long invocationIndex, long[] inputShape, long[] outputShape,
        BigInteger[][] x, BigInteger[][] delta, FixedPoint.FixedPointConfig fixedPoint, FixedPoint.Scaling scaling)
    {
        SessionId = sessionId;
        ModuleName = moduleName;
        InvocationIndex = invocationIndex;
        InputShape = inputShape;
        OutputShape = outputShape;
        X = x;
        Delta = delta;
        FixedPoint = fixedPoint;
        Scaling = scaling;
    }

    /// <summary>The session the call belongs to.</summary>
    public string SessionId { get; }
    /// <summary>The injection point.</summary>
    public string ModuleName { get; }
    /// <summary>Index of the call within (session, module), from 0.</summary>
    public long InvocationIndex { get; }
    /// <summary>Shape of the input as received, e.g. [batch, seq, in_dim].</summary>
    public long[] InputShape { get; }
    /// <summary>Leading dimensions of the input, then out_dim.</summary>
    public long[] OutputShape { get; }
    /// <summary>Quantized input, rows × in_dim.</summary>
    public BigInteger[][] X { get; }
    /// <summary>Quantized delta, rows × out_dim.</summary>
    public BigInteger[][] Delta { get; }
    /// <summary>Fixed-point configuration.</summary>
    public FixedPoint.FixedPointConfig FixedPoint { get; }
    /// <summary>The module's LoRA scaling (reduced).</summary>
    public FixedPoint.Scaling Scaling { get; }

    /// <summary>The call as a transcript entry (what the base-model user's transcript should hold for it).</summary>
    public TranscriptEntry ToTranscriptEntry() =>
        new(SessionId, ModuleName, InvocationIndex, InputShape, OutputShape, X, Delta, FixedPoint, Scaling);
}

/// <summary>
/// A module of the contributor's adapter, quantized, with the secret salt of its commitment: the
/// private witness a prover needs. It never leaves the contributor's process (it is not
/// serialisable and its <see cref="ToString"/> shows no weights or salt).
/// </summary>
public sealed class QuantizedModule
{
    internal QuantizedModule(ManifestAdapter entry, BigInteger[][] a, BigInteger[][] b, Fp salt)
    {
        Entry = entry;
        A = a;
        B = b;
        Salt = salt;
    }

    /// <summary>The public manifest entry (name, shape, config, scaling, commitment).</summary>
    public ManifestAdapter Entry { get; }
    /// <summary>Module name.</summary>
    public string Name => Entry.ModuleName;
    /// <summary>Quantized A, rank × in_dim (secret).</summary>
    public BigInteger[][] A { get; }
    /// <summary>Quantized B, out_dim × rank (secret).</summary>
    public BigInteger[][] B { get; }
    /// <summary>The commitment salt (secret).</summary>
    public Fp Salt { get; }

    /// <inheritdoc />
    public override string ToString() => $"QuantizedModule({Name}, {Entry.Shape.InDim}x{Entry.Shape.Rank}x{Entry.Shape.OutDim})";
}

/// <summary>Everything a prover needs for one session.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Calls">Its recorded calls, by module then invocation index.</param>
/// <param name="ProofDirectory">Where the proof artifacts go (DESIGN §4 names).</param>
/// <param name="Manifest">The adapter manifest the verifier pinned.</param>
/// <param name="Modules">The quantized modules with their salts, by name (secret witness).</param>
public sealed record ProofJob(
    string SessionId,
    IReadOnlyList<RecordedCall> Calls,
    string ProofDirectory,
    Manifest Manifest,
    IReadOnlyDictionary<string, QuantizedModule> Modules);

/// <summary>Progress of a session's proving.</summary>
/// <param name="Done">Proofs finished.</param>
/// <param name="Total">Proofs to write.</param>
/// <param name="Current">The call being proved, if any.</param>
public sealed record ProofProgress(int Done, int Total, string? Current);

/// <summary>
/// The proving seam of a contributor: at <c>end_inference</c> the server hands a session's recorded
/// calls to this interface, which writes one statement, proof and meta file per call into
/// <see cref="ProofJob.ProofDirectory"/> and returns how many proofs it wrote.
/// </summary>
public interface IProofGenerator
{
    /// <summary>Proves every call of <paramref name="job"/>; returns the number of proofs written.</summary>
    /// <param name="job">The session's calls and the witness.</param>
    /// <param name="progress">Optional progress sink.</param>
    /// <param name="cancellationToken">Cancels proving.</param>
    /// <exception cref="ProofGenerationUnavailableException">This build cannot prove.</exception>
    Task<int> ProveSessionAsync(ProofJob job, IProgress<ProofProgress>? progress, CancellationToken cancellationToken);
}

/// <summary>Proof generation is not part of this build.</summary>
public sealed class ProofGenerationUnavailableException : NotSupportedException
{
    /// <summary>The fixed message.</summary>
    public const string DefaultMessage = "proof generation is not available in this build";

    /// <summary>Creates the exception with <see cref="DefaultMessage"/>.</summary>
    public ProofGenerationUnavailableException() : base(DefaultMessage) { }
}

/// <summary>
/// The default <see cref="IProofGenerator"/> of this build: the proving system is not included,
/// so it writes nothing and fails with <see cref="ProofGenerationUnavailableException"/>. It never
/// produces anything that looks like a proof.
/// </summary>
public sealed class UnavailableProofGenerator : IProofGenerator
{
    /// <summary>The shared instance.</summary>
    public static UnavailableProofGenerator Instance { get; } = new();

    /// <inheritdoc />
    public Task<int> ProveSessionAsync(ProofJob job, IProgress<ProofProgress>? progress, CancellationToken cancellationToken) =>
        Task.FromException<int>(new ProofGenerationUnavailableException());
}

/// <summary>Helpers for building transcripts from C#.</summary>
public static class TranscriptFiles
{
    /// <summary>A transcript holding <paramref name="entries"/> in order.</summary>
    public static Transcript Create(IEnumerable<TranscriptEntry> entries) => new(ListModule.OfSeq(entries));

    /// <summary>Writes a transcript as canonical JSON (validated first).</summary>
    /// <exception cref="IOException">It cannot be written or does not validate; the message says why.</exception>
    public static void Write(string path, Transcript transcript)
    {
        var r = TranscriptModule.writeFile(path, transcript);
        if (r.IsError) throw new IOException(r.ErrorValue);
    }

    /// <summary>Reads and validates a transcript file.</summary>
    /// <exception cref="IOException">It cannot be read or is invalid; the message says why.</exception>
    public static Transcript Read(string path)
    {
        var r = TranscriptModule.readFile(path);
        if (r.IsError) throw new IOException(r.ErrorValue);
        return r.ResultValue;
    }
}
