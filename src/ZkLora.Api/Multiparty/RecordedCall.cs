using System.Numerics;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using ZkLora.Model;
using ZkLora.Proofs;
using Fp = ZkLora.Math.FieldElement<ZkLora.Math.PallasBase>;
using FsEntry = ZkLora.Proofs.TranscriptEntry;

namespace ZkLora.Api.Multiparty;

/// <summary>
/// One module call a contributor answered: the quantized input it computed from the activations
/// it received, the exact quantized delta it returned, the shapes and the call's index within
/// (session, module). This is what a proof covers, and it is the contributor-side twin of the
/// base-model user's <see cref="InferenceTranscriptEntry"/>. Immutable.
/// </summary>
public sealed class RecordedCall
{
    private readonly InferenceTranscriptEntry _entry;

    internal RecordedCall(FsEntry entry) => _entry = new InferenceTranscriptEntry(entry);

    /// <summary>The session the call belongs to.</summary>
    public string SessionId => _entry.SessionId;
    /// <summary>The injection point.</summary>
    public string ModuleName => _entry.ModuleName;
    /// <summary>Index of the call within (session, module), from 0.</summary>
    public long InvocationIndex => _entry.InvocationIndex;
    /// <summary>Shape of the input as received, e.g. [batch, seq, in_dim].</summary>
    public IReadOnlyList<long> InputShape => _entry.InputShape;
    /// <summary>Leading dimensions of the input, then out_dim.</summary>
    public IReadOnlyList<long> OutputShape => _entry.OutputShape;
    /// <summary>Quantized input, rows × in_dim.</summary>
    public IReadOnlyList<IReadOnlyList<BigInteger>> X => _entry.X;
    /// <summary>Quantized delta, rows × out_dim.</summary>
    public IReadOnlyList<IReadOnlyList<BigInteger>> Delta => _entry.Delta;
    /// <summary>Fixed-point configuration.</summary>
    public FixedPointSettings FixedPoint => _entry.FixedPoint;
    /// <summary>The module's LoRA scaling (reduced).</summary>
    public LoraScaling Scaling => _entry.Scaling;

    /// <summary>The call as a transcript entry (what the base-model user's transcript should hold for it).</summary>
    /// <returns>The entry.</returns>
    public InferenceTranscriptEntry ToTranscriptEntry() => _entry;

    /// <inheritdoc />
    public override string ToString() => _entry.ToString();

    internal FsEntry ToFSharp() => _entry.ToFSharp();
}
