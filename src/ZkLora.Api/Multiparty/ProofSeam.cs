using System.Numerics;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using ZkLora.Model;
using ZkLora.Proofs;
using Fp = ZkLora.Math.FieldElement<ZkLora.Math.PallasBase>;
using FsEntry = ZkLora.Proofs.TranscriptEntry;

namespace ZkLora.Api.Multiparty;

/// <summary>
/// A module of the contributor's adapter, quantized, with the secret salt of its commitment (for the
/// projection backend: the Pedersen blind r_W): the
/// private witness a prover needs. It never leaves the contributor's process (it is internal, not
/// serialisable, and its <see cref="ToString"/> shows no weights or salt).
/// </summary>
internal sealed class QuantizedModule
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
/// <param name="ProofDirectory">Where the proof artifacts go (docs/design.md §4.5 names).</param>
/// <param name="Manifest">The adapter manifest the verifier pinned.</param>
/// <param name="Modules">The quantized modules with their salts, by name (secret witness).</param>
internal sealed record ProofJob(
    string SessionId,
    IReadOnlyList<RecordedCall> Calls,
    string ProofDirectory,
    AdapterManifest Manifest,
    IReadOnlyDictionary<string, QuantizedModule> Modules);

/// <summary>
/// The proving seam of a contributor: at <c>end_inference</c> the server hands a session's recorded
/// calls to this interface, which writes one statement, proof and meta file per call into
/// <see cref="ProofJob.ProofDirectory"/> and returns how many proofs it wrote. Internal: the only
/// prover whose artifacts a verifier accepts is <see cref="ZkProofGenerator"/>, and a job carries
/// the secret witness; tests substitute probes here.
/// </summary>
internal interface IProofGenerator
{
    /// <summary>Proves every call of <paramref name="job"/>; returns the number of proofs written.</summary>
    /// <exception cref="ProofGenerationException">A call cannot be proved.</exception>
    Task<int> ProveSessionAsync(ProofJob job, IProgress<ProofProgress>? progress, CancellationToken cancellationToken);
}

/// <summary>
/// The prover of this build: the zero-knowledge LoRA circuit over the Vesta IPA
/// (<see cref="ProofBatch"/>). For every recorded call of the session it checks the call against
/// the manifest and the private adapter (the recorded delta must be the adapter's exact output,
/// the salt must open the commitment), then proves the calls in parallel (bounded by
/// <see cref="LoRAServerOptions.MaxProofParallelism"/> and a memory estimate against
/// <see cref="LoRAServerOptions.MaxProvingMemoryBytes"/>), with proving keys cached by circuit
/// shape in the prover context the server owns (<see cref="LoRAServerOptions.ProvingKeyCacheSize"/>).
/// </summary>
internal sealed class ZkProofGenerator : IProofGenerator
{
    private readonly ProofBatch.ProverContext _context;

    /// <summary>Creates a prover over a context (options and proving-key cache) its owner keeps.</summary>
    /// <param name="context">The prover context.</param>
    public ZkProofGenerator(ProofBatch.ProverContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
    }

    /// <summary>Most statements proved at once.</summary>
    public int MaxDegreeOfParallelism => _context.Options.MaxDegreeOfParallelism;

    /// <summary>The prover context (options and cached proving keys).</summary>
    public ProofBatch.ProverContext Context => _context;

    /// <inheritdoc />
    /// <exception cref="ProofGenerationException">A call cannot be proved; the message names it and says why.</exception>
    public Task<int> ProveSessionAsync(ProofJob job, IProgress<ProofProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        return Task.Run(() =>
        {
            var calls = job.Calls.Where(c => c.SessionId == job.SessionId).Select(c => c.ToFSharp());
            var adapters = MapModule.OfSeq(job.Modules.Select(kv =>
                Tuple.Create(kv.Key, new ProofBatch.PrivateAdapter(kv.Value.A, kv.Value.B, kv.Value.Salt))));
            var report = FuncConvert.FromAction<ProofBatch.ProveProgress>(p =>
                progress?.Report(new ProofProgress(p.Done, p.Total,
                    p.Finished is null ? null : $"{p.Finished.Value.ModuleName}#{p.Finished.Value.InvocationIndex}")));
            var r = ProofBatch.proveCalls(_context, job.Manifest.ToFSharp(), adapters, ListModule.OfSeq(calls), job.ProofDirectory, report, cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            if (r.IsError) throw new ProofGenerationException(r.ErrorValue);
            return r.ResultValue.Length;
        }, cancellationToken);
    }
}
