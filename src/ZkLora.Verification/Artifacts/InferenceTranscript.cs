using System.Collections.ObjectModel;
using System.Numerics;
using Microsoft.FSharp.Collections;
using ZkLora.Proofs;
using FsEntry = ZkLora.Proofs.TranscriptEntry;
using FsTranscript = ZkLora.Proofs.InferenceTranscript;

namespace ZkLora.Api;

/// <summary>
/// One module call as the base-model user recorded it (quantized): what it sent and what the
/// contributor returned. <see cref="X"/> holds the input as rows × in_dim (rows = the product of
/// all but the last dimension of <see cref="InputShape"/>), <see cref="Delta"/> the returned delta as
/// rows × out_dim; every value lies within ±<see cref="FixedPointSettings.ValueBound"/>.
/// Immutable.
/// </summary>
public sealed class InferenceTranscriptEntry
{
    private readonly FsEntry _entry;

    /// <summary>Creates an entry, validated by the transcript format's rules.</summary>
    /// <param name="sessionId">Session id (A-Z a-z 0-9 _ -, 1–64 characters).</param>
    /// <param name="moduleName">The injection point.</param>
    /// <param name="invocationIndex">Index of the call within (session, module), from 0.</param>
    /// <param name="inputShape">[rows, in_dim] or [batch, seq, in_dim].</param>
    /// <param name="outputShape">The leading dimensions of <paramref name="inputShape"/>, then out_dim.</param>
    /// <param name="x">Quantized input, rows × in_dim (copied).</param>
    /// <param name="delta">Quantized delta, rows × out_dim (copied).</param>
    /// <param name="fixedPoint">The fixed-point configuration.</param>
    /// <param name="scaling">The module's LoRA scaling.</param>
    /// <exception cref="ArgumentException">A field breaks the transcript format (bad id or name, shapes that
    /// disagree with each other or with the matrices, a value out of bounds, a scaling too large); the message says which.</exception>
    public InferenceTranscriptEntry(string sessionId, string moduleName, long invocationIndex,
        IReadOnlyList<long> inputShape, IReadOnlyList<long> outputShape,
        IReadOnlyList<IReadOnlyList<BigInteger>> x, IReadOnlyList<IReadOnlyList<BigInteger>> delta,
        FixedPointSettings fixedPoint, LoraScaling scaling)
        : this(Validated(sessionId, moduleName, invocationIndex, inputShape, outputShape, x, delta, fixedPoint, scaling))
    {
    }

    /// <summary>Wraps an entry of a validated transcript, or one whose arrays nobody else can change.</summary>
    internal InferenceTranscriptEntry(FsEntry entry)
    {
        _entry = entry;
        InputShape = Array.AsReadOnly(entry.InputShape);
        OutputShape = Array.AsReadOnly(entry.OutputShape);
        X = ReadOnlyRows(entry.X);
        Delta = ReadOnlyRows(entry.Delta);
        FixedPoint = FixedPointSettings.FromFSharp(entry.FixedPoint);
        Scaling = LoraScaling.FromFSharp(entry.Scaling);
    }

    /// <summary>The session the call belongs to.</summary>
    public string SessionId => _entry.SessionId;

    /// <summary>The injection point.</summary>
    public string ModuleName => _entry.ModuleName;

    /// <summary>Index of the call within (session, module), from 0.</summary>
    public long InvocationIndex => _entry.InvocationIndex;

    /// <summary>Shape of the input as sent, e.g. [batch, seq, in_dim].</summary>
    public IReadOnlyList<long> InputShape { get; }

    /// <summary>Leading dimensions of the input, then out_dim.</summary>
    public IReadOnlyList<long> OutputShape { get; }

    /// <summary>Quantized input, rows × in_dim.</summary>
    public IReadOnlyList<IReadOnlyList<BigInteger>> X { get; }

    /// <summary>Quantized delta, rows × out_dim.</summary>
    public IReadOnlyList<IReadOnlyList<BigInteger>> Delta { get; }

    /// <summary>The fixed-point configuration.</summary>
    public FixedPointSettings FixedPoint { get; }

    /// <summary>The module's LoRA scaling (reduced).</summary>
    public LoraScaling Scaling { get; }

    /// <inheritdoc />
    public override string ToString() => $"{SessionId}.{ModuleName}.{InvocationIndex} [{string.Join(", ", InputShape)}] -> [{string.Join(", ", OutputShape)}]";

    internal FsEntry ToFSharp() => _entry;

    internal static IReadOnlyList<IReadOnlyList<BigInteger>> ReadOnlyRows(BigInteger[][] rows) =>
        new ReadOnlyCollection<IReadOnlyList<BigInteger>>(rows.Select(r => (IReadOnlyList<BigInteger>)Array.AsReadOnly(r)).ToArray());

    private static FsEntry Validated(string sessionId, string moduleName, long invocationIndex,
        IReadOnlyList<long> inputShape, IReadOnlyList<long> outputShape,
        IReadOnlyList<IReadOnlyList<BigInteger>> x, IReadOnlyList<IReadOnlyList<BigInteger>> delta,
        FixedPointSettings fixedPoint, LoraScaling scaling)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        ArgumentNullException.ThrowIfNull(moduleName);
        ArgumentNullException.ThrowIfNull(inputShape);
        ArgumentNullException.ThrowIfNull(outputShape);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(delta);
        ArgumentNullException.ThrowIfNull(fixedPoint);
        ArgumentNullException.ThrowIfNull(scaling);
        BigInteger[][] Copy(IReadOnlyList<IReadOnlyList<BigInteger>> m, string name) =>
            m.Select((row, i) => row?.ToArray() ?? throw new ArgumentException($"Row {i} is null.", name)).ToArray();
        var s = ArtifactCommon.checkScaling("scaling", scaling.Numerator, scaling.Denominator);
        if (s.IsError) throw new ArgumentException(s.ErrorValue, nameof(scaling));
        var entry = new FsEntry(sessionId, moduleName, invocationIndex, inputShape.ToArray(), outputShape.ToArray(),
            Copy(x, nameof(x)), Copy(delta, nameof(delta)), fixedPoint.ToFSharp(), s.ResultValue);
        // The transcript reader's rules, applied to a one-entry transcript.
        var ok = InferenceTranscriptModule.validate(new FsTranscript(FSharpList<FsEntry>.Cons(entry, FSharpList<FsEntry>.Empty)));
        if (ok.IsError) throw new ArgumentException(ok.ErrorValue.Replace("$.entries[0]", "entry", StringComparison.Ordinal));
        return entry;
    }
}

/// <summary>
/// The base-model user's transcript (docs/design.md §1.2, §4.4): its own record of every module call, the
/// input it quantized and the delta it received. The verifier checks every proof against it. Its
/// canonical JSON is exactly what <c>zklora infer</c> writes. Immutable.
/// </summary>
public sealed class InferenceTranscript
{
    private const string What = "transcript";
    private readonly FsTranscript _transcript;
    private string? _json;

    private InferenceTranscript(FsTranscript transcript)
    {
        _transcript = transcript;
        Entries = transcript.Entries.Select(e => new InferenceTranscriptEntry(e)).ToList().AsReadOnly();
    }

    private InferenceTranscript(FsTranscript transcript, IReadOnlyList<InferenceTranscriptEntry> entries)
    {
        _transcript = transcript;
        Entries = entries;
    }

    /// <summary>A transcript holding <paramref name="entries"/> in order.</summary>
    /// <param name="entries">The calls; (session, module, invocation index) must be unique.</param>
    /// <exception cref="ArgumentException">An entry is null or a call appears twice.</exception>
    public InferenceTranscript(IEnumerable<InferenceTranscriptEntry> entries)
        : this(Validated(entries, out var list), list)
    {
    }

    /// <summary>The transcript schema this library reads and writes.</summary>
    public static string SchemaVersion => ArtifactCommon.transcriptSchema;

    /// <summary>The recorded calls, in order.</summary>
    public IReadOnlyList<InferenceTranscriptEntry> Entries { get; }

    /// <summary>SHA-256 (64 lower-case hex digits) of the canonical JSON.</summary>
    public string Digest => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(ToJson())));

    /// <summary>The canonical JSON text (keys sorted, no spaces, ASCII).</summary>
    /// <returns>The text.</returns>
    public string ToJson()
    {
        if (_json is { } json) return json;
        var r = InferenceTranscriptModule.toJson(_transcript);
        // Every transcript is valid by construction (validated, read strictly, or recorded by the client).
        if (r.IsError) throw new InvalidOperationException($"The transcript does not validate: {r.ErrorValue}");
        return _json = r.ResultValue;
    }

    /// <summary>Parses transcript JSON strictly.</summary>
    /// <param name="json">Transcript JSON.</param>
    /// <returns>The transcript.</returns>
    /// <exception cref="FormatException">It is not a valid transcript; the message says where.</exception>
    public static InferenceTranscript Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        var r = InferenceTranscriptModule.parse(json);
        if (r.IsError) throw new FormatException($"{What}: {r.ErrorValue}");
        return new InferenceTranscript(r.ResultValue);
    }

    /// <summary>Reads and validates a transcript file.</summary>
    /// <param name="path">The transcript file.</param>
    /// <returns>The transcript.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">It cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">It may not be read.</exception>
    /// <exception cref="ArtifactFormatException">It is not a valid transcript (or exceeds the artifact size limit).</exception>
    public static InferenceTranscript Read(string path) =>
        new(ArtifactFiles.Parse(What, path, ArtifactFiles.ReadBytes(What, path), InferenceTranscriptModule.parseBytes));

    /// <summary>As <see cref="Read"/>, reading asynchronously.</summary>
    /// <param name="path">The transcript file.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The transcript.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">It cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">It may not be read.</exception>
    /// <exception cref="ArtifactFormatException">It is not a valid transcript.</exception>
    public static async Task<InferenceTranscript> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        var bytes = await ArtifactFiles.ReadBytesAsync(What, path, cancellationToken).ConfigureAwait(false);
        return new InferenceTranscript(ArtifactFiles.Parse(What, path, bytes, InferenceTranscriptModule.parseBytes));
    }

    /// <summary>Writes the canonical JSON, replacing the file (its folder is created if needed).</summary>
    /// <param name="path">Where to write.</param>
    /// <exception cref="IOException">It cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">It may not be written.</exception>
    public void Write(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArtifactFiles.CreateParentDirectory(path);
        ArtifactFiles.WriteText(What, path, ToJson());
    }

    /// <summary>As <see cref="Write"/>, writing asynchronously.</summary>
    /// <param name="path">Where to write.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The write.</returns>
    /// <exception cref="IOException">It cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">It may not be written.</exception>
    public Task WriteAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArtifactFiles.CreateParentDirectory(path);
        return ArtifactFiles.WriteTextAsync(What, path, ToJson(), cancellationToken);
    }

    /// <inheritdoc />
    public override string ToString() => $"InferenceTranscript({Entries.Count} call(s))";

    internal FsTranscript ToFSharp() => _transcript;

    /// <summary>A transcript of entries recorded by this library (valid by construction; not re-validated here).</summary>
    internal static InferenceTranscript FromEntries(IReadOnlyList<InferenceTranscriptEntry> entries) =>
        new(new FsTranscript(ListModule.OfSeq(entries.Select(e => e.ToFSharp()))), entries.ToList().AsReadOnly());

    private static FsTranscript Validated(IEnumerable<InferenceTranscriptEntry> entries, out IReadOnlyList<InferenceTranscriptEntry> list)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var copy = entries.ToList();
        if (copy.Any(e => e is null)) throw new ArgumentException("A transcript entry is null.", nameof(entries));
        var duplicate = copy.GroupBy(e => (e.SessionId, e.ModuleName, e.InvocationIndex)).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"Session '{duplicate.Key.SessionId}', module '{duplicate.Key.ModuleName}', invocation {duplicate.Key.InvocationIndex} appears more than once.", nameof(entries));
        list = copy.AsReadOnly();
        return new FsTranscript(ListModule.OfSeq(copy.Select(e => e.ToFSharp())));
    }
}
