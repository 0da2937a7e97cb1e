using System.Numerics;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
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
    /// <exception cref="ProofGenerationException">A call cannot be proved.</exception>
    Task<int> ProveSessionAsync(ProofJob job, IProgress<ProofProgress>? progress, CancellationToken cancellationToken);
}

/// <summary>Proof generation failed for a session (a bad call, a witness that does not open the manifest, an I/O error); nothing misleading was written.</summary>
public sealed class ProofGenerationException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed, naming the call.</param>
    public ProofGenerationException(string message) : base(message) { }
}

/// <summary>
/// The prover of this build: the zero-knowledge LoRA circuit over the Vesta IPA
/// (<see cref="ProofBatch"/>). For every recorded call of the session it checks the call against
/// the manifest and the private adapter (the recorded delta must be the adapter's exact output,
/// the salt must open the commitment), then proves the calls in parallel (bounded by
/// <c>ZKLORA_PROVE_PARALLELISM</c> and a memory estimate against <c>ZKLORA_PROVE_MEMORY_MB</c>),
/// with proving keys cached by circuit shape (<c>ZKLORA_KEY_CACHE_SIZE</c>).
/// </summary>
public sealed class ZkProofGenerator : IProofGenerator
{
    private readonly ProofBatch.ProveOptions _options;

    /// <summary>The shared instance with options from the environment.</summary>
    public static ZkProofGenerator Default { get; } = new();

    /// <summary>Creates a prover.</summary>
    /// <param name="maxDegreeOfParallelism">Most statements proved at once (null: from the environment / processor count).</param>
    public ZkProofGenerator(int? maxDegreeOfParallelism = null)
    {
        var d = ProofBatch.defaultOptions();
        if (maxDegreeOfParallelism is < 1) throw new ArgumentOutOfRangeException(nameof(maxDegreeOfParallelism), "The degree of parallelism must be at least 1.");
        _options = new ProofBatch.ProveOptions(maxDegreeOfParallelism ?? d.MaxDegreeOfParallelism, d.MemoryBudgetBytes);
    }

    /// <inheritdoc />
    /// <exception cref="ProofGenerationException">A call cannot be proved; the message names it and says why.</exception>
    public Task<int> ProveSessionAsync(ProofJob job, IProgress<ProofProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        return Task.Run(() =>
        {
            var calls = job.Calls.Where(c => c.SessionId == job.SessionId).Select(c => c.ToTranscriptEntry());
            var adapters = MapModule.OfSeq(job.Modules.Select(kv =>
                Tuple.Create(kv.Key, new ProofBatch.PrivateAdapter(kv.Value.A, kv.Value.B, kv.Value.Salt))));
            var report = FuncConvert.FromAction<ProofBatch.ProveProgress>(p =>
                progress?.Report(new ProofProgress(p.Done, p.Total,
                    p.Finished is null ? null : $"{p.Finished.Value.ModuleName}#{p.Finished.Value.InvocationIndex}")));
            var r = ProofBatch.proveCalls(_options, job.Manifest, adapters, ListModule.OfSeq(calls), job.ProofDirectory, report, cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            if (r.IsError) throw new ProofGenerationException(r.ErrorValue);
            return r.ResultValue.Length;
        }, cancellationToken);
    }
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
