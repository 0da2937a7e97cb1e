using System.Numerics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.FSharp.Collections;
using ZkLora.Model;
using ZkLora.Proofs;
using Fp = ZkLora.Math.FieldElement<ZkLora.Math.PallasBase>;
using FsEntry = ZkLora.Proofs.TranscriptEntry;
using FsFixedPoint = ZkLora.Proofs.FixedPoint;
using FsManifest = ZkLora.Proofs.Manifest;

namespace ZkLora.Api.Multiparty;

/// <summary>Options of a <see cref="LoRAServer"/>.</summary>
public sealed record LoRAServerOptions
{
    /// <summary>Fixed-point configuration (default (20, 63, 127)).</summary>
    public FixedPointSettings FixedPoint { get; init; } = FixedPointSettings.Default;

    /// <summary>
    /// The proof backend the adapter is committed for (default <see cref="ProofBackend.Projection"/>). With
    /// <see cref="ProofBackend.Projection"/> the manifest holds Pedersen commitments, a one-time adapter
    /// proof is written next to it (<see cref="LoRAServer.WriteManifest"/>), and at <c>end_inference</c> all
    /// calls of one module in a session are proved together (<see cref="ProjectionCallsPerProof"/> limits
    /// the calls per proof). <see cref="ProofBackend.Plonk"/> (Poseidon commitment, one PLONK proof per call)
    /// stays supported; verifiers accept both, chosen by the pinned manifest.
    /// </summary>
    public ProofBackend Backend { get; init; } = ProofBackend.Projection;

    /// <summary>
    /// Projection backend: most calls of one module in one session per proof (default 0: all of them,
    /// split only where a proof would exceed the projection policy; 1: one proof per call). The CLI
    /// maps <c>ZKLORA_PROJECTION_CALLS_PER_PROOF</c> here.
    /// </summary>
    public int ProjectionCallsPerProof { get; init; }

    /// <summary>
    /// Proving keys the server keeps, by circuit id, least recently used evicted (default 4), so the
    /// second proof of a circuit shape pays no key generation. The CLI maps <c>ZKLORA_KEY_CACHE_SIZE</c> here.
    /// </summary>
    public int ProvingKeyCacheSize { get; init; } = 4;

    /// <summary>Serve only these adapter modules (null: every module of the adapter).</summary>
    public IReadOnlyCollection<string>? Modules { get; init; }

    /// <summary>
    /// Most calls proved at once at <c>end_inference</c> (null: the processor count; proving is also bounded
    /// by a memory estimate, see <see cref="MaxProvingMemoryBytes"/>). The CLI maps <c>ZKLORA_PROVE_PARALLELISM</c> here.
    /// </summary>
    public int? MaxProofParallelism { get; init; }

    /// <summary>Where proving progress goes when <c>end_inference</c> arrives over the wire (or no progress sink is passed).</summary>
    public IProgress<ProofProgress>? ProofProgress { get; init; }

    /// <summary>Most sessions open (recorded but not yet proved) at once, over all clients.</summary>
    public int MaxOpenSessions { get; init; } = 64;

    /// <summary>Most sessions one client (one remote address) may hold open at once.</summary>
    public int MaxOpenSessionsPerClient { get; init; } = 4;

    /// <summary>Most rows (product of the leading input dimensions) one <c>lora_forward</c> may carry.</summary>
    public int MaxRowsPerCall { get; init; } = 1024;

    /// <summary>Most quantized values (inputs and deltas) one session may record.</summary>
    public long MaxRecordedValuesPerSession { get; init; } = 1L << 22;

    /// <summary>Most quantized values recorded over all open sessions together.</summary>
    public long MaxTotalRecordedValues { get; init; } = 1L << 25;

    /// <summary>
    /// Proving memory budget in bytes (null: 4096 MiB; the CLI maps <c>ZKLORA_PROVE_MEMORY_MB</c> here). A call
    /// whose proof is estimated to need more is refused when it arrives (before it is recorded);
    /// sessions are proved one at a time, with as many proofs in parallel as the budget allows.
    /// </summary>
    public long? MaxProvingMemoryBytes { get; init; }

    /// <summary>
    /// An open session unused this long expires: its recorded calls are discarded (never proved),
    /// its id is closed for good, and its owner's next request gets an error. Infinite disables it.
    /// </summary>
    public TimeSpan SessionIdleTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Write-ahead log in <c>{out}/sessions/</c> (default true): every accepted call is flushed to
    /// disk before it is answered, open sessions survive a restart, and an accepted
    /// <c>end_inference</c> is finished after a crash.
    /// </summary>
    public bool Durable { get; init; } = true;

    /// <summary>
    /// Receives what the server reports (null: <see cref="NullLogger.Instance"/>, nothing): recovery after a restart
    /// (information), an unreadable session log (warning), storage failures and sessions that could not be proved
    /// (error), as structured messages with named values (<c>SessionId</c>, <c>Error</c>, …) and stable event ids
    /// (201–208). Values a peer chose have their control characters escaped. Proving progress goes to <see cref="ProofProgress"/>.
    /// </summary>
    public ILogger? Logger { get; init; }

    /// <summary>
    /// The commitment parameters (generators) the server derives for its manifest, adapter proofs and proofs
    /// (null: its own, freed with the server). Give several servers of one process one instance to derive
    /// the generators once.
    /// </summary>
    public CommitmentParameters? CommitmentParameters { get; init; }
}
