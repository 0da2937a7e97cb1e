using System.Numerics;
using Microsoft.FSharp.Collections;
using ZkLora.Model;
using ZkLora.Proofs;
using Fp = ZkLora.Math.FieldElement<ZkLora.Math.PallasBase>;
using FsEntry = ZkLora.Proofs.TranscriptEntry;
using FsFixedPoint = ZkLora.Proofs.FixedPoint;
using FsManifest = ZkLora.Proofs.Manifest;

namespace ZkLora.Api.Multiparty;

/// <summary>A request from a base-model user cannot be served; the message is sent back to it.</summary>
public sealed class LoraRequestException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was wrong with the request.</param>
    public LoraRequestException(string message) : base(message) { }
}

/// <summary>Options of a <see cref="LoRAServer"/>.</summary>
public sealed record LoRAServerOptions
{
    /// <summary>Fixed-point configuration (default (20, 63, 127)).</summary>
    public FixedPointSettings FixedPoint { get; init; } = FixedPointSettings.Default;

    /// <summary>Serve only these adapter modules (null: every module of the adapter).</summary>
    public IReadOnlyCollection<string>? Modules { get; init; }

    /// <summary>
    /// Most calls proved at once at <c>end_inference</c> (null: <c>ZKLORA_PROVE_PARALLELISM</c>, else the
    /// processor count; proving is also bounded by a memory estimate, see <c>ZKLORA_PROVE_MEMORY_MB</c>).
    /// </summary>
    public int? MaxProofParallelism { get; init; }

    /// <summary>
    /// Test-only proving seam (null: the zero-knowledge prover). A job carries the secret witness,
    /// and only the zero-knowledge prover writes artifacts a verifier accepts, so it is not public.
    /// </summary>
    internal IProofGenerator? ProofGenerator { get; init; }

    /// <summary>Where proving progress goes when <c>end_inference</c> arrives over the wire (or no progress sink is passed).</summary>
    public IProgress<ProofProgress>? ProofProgress { get; init; }

    /// <summary>
    /// Test-only fault injection: rewrites the delta of a call (module, invocation index, exact
    /// delta → delta returned and recorded). Models a dishonest contributor; never set in production.
    /// </summary>
    internal Func<string, long, BigInteger[][], BigInteger[][]>? TestDeltaOverride { get; init; }

    /// <summary>Most sessions open (recorded but not yet proved) at once.</summary>
    public int MaxOpenSessions { get; init; } = 256;

    /// <summary>Most quantized values (inputs and deltas) one session may record.</summary>
    public long MaxRecordedValuesPerSession { get; init; } = 1L << 24;
}

/// <summary>Result of a served <c>lora_forward</c>.</summary>
/// <param name="Call">What was recorded.</param>
/// <param name="Output">The dequantized delta (q / 2^scale_bits), rows × out_dim.</param>
public sealed record LoraForwardResult(RecordedCall Call, double[][] Output);

/// <summary>
/// The LoRA contributor (party A, docs/design.md §1). It loads a PEFT adapter, quantizes every served
/// module, commits to each under a secret salt persisted in <c>{out}/secret/</c> (so restarts
/// give the same commitments), and exposes the adapter manifest the verifier pins before
/// inference. For every module call it quantizes the received activations, computes the exact
/// fixed-point delta and records the call in the call's session; at <c>end_inference</c> it hands
/// the session to the <see cref="IProofGenerator"/>, which writes proofs to <c>{out}/proofs/</c>.
/// Thread-safe: calls of different sessions run concurrently, sessions never see each other.
/// </summary>
public sealed class LoRAServer
{
    private readonly Dictionary<string, QuantizedModule> _modules;
    private readonly Dictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly HashSet<string> _endedSessions = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private readonly LoRAServerOptions _options;
    private readonly FsFixedPoint.FixedPointConfig _config;

    private sealed class Session
    {
        public readonly object Gate = new();
        public readonly Dictionary<string, long> NextIndex = new(StringComparer.Ordinal);
        public readonly List<RecordedCall> Calls = new();
        public long Values;
        public bool Proving;
    }

    private LoRAServer(LoraAdapter adapter, string outputDirectory, LoRAServerOptions options)
    {
        _options = options;
        OutputDirectory = Path.GetFullPath(outputDirectory);
        if (options.FixedPoint is null) throw new ArgumentException("FixedPoint must not be null.", nameof(options));
        _config = options.FixedPoint.ToFSharp();
        if (options.MaxOpenSessions < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxOpenSessions must be at least 1.");
        if (options.MaxRecordedValuesPerSession < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxRecordedValuesPerSession must be at least 1.");
        if (options.MaxProofParallelism is < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxProofParallelism must be at least 1.");
        Prover = options.ProofGenerator
                 ?? (options.MaxProofParallelism is { } parallelism ? new ZkProofGenerator(parallelism) : ZkProofGenerator.Default);

        var served = adapter.Modules.ToList();
        if (options.Modules is not null)
        {
            var missing = options.Modules.Where(m => !adapter.Contains(m)).ToList();
            if (missing.Count > 0)
                throw new ArgumentException($"The adapter has no module {string.Join(", ", missing.Select(m => $"'{m}'"))}; its modules: {string.Join(", ", adapter.ModuleNames)}.", nameof(options));
            var wanted = options.Modules.Select(m => adapter.GetModule(m).Name).ToHashSet(StringComparer.Ordinal);
            served = served.Where(m => wanted.Contains(m.Name)).ToList();
            if (served.Count == 0) throw new ArgumentException("No module to serve: the module list is empty.", nameof(options));
        }

        Directory.CreateDirectory(OutputDirectory);
        Directory.CreateDirectory(ProofDirectory);
        if (!OperatingSystem.IsWindows())
            Directory.CreateDirectory(SecretDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        else
            Directory.CreateDirectory(SecretDirectory);

        _modules = new Dictionary<string, QuantizedModule>(StringComparer.Ordinal);
        foreach (var m in served) _modules.Add(m.Name, Quantize(m, _config));
        // Every entry was validated by adapterOf and names are unique, so this validates.
        Manifest = AdapterManifest.FromFSharp(new FsManifest(ListModule.OfSeq(served.Select(m => _modules[m.Name].Entry))));
        InjectionPoints = served.Select(m => new InjectionPoint(m.Name, m.InFeatures, m.OutFeatures, m.Rank)).ToList();
    }

    /// <summary>Builds a contributor for a loaded adapter.</summary>
    /// <param name="adapter">The PEFT adapter.</param>
    /// <param name="outputDirectory">Output folder: <c>proofs/</c> (shareable) and <c>secret/</c> (salts; never share) are created in it.</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <exception cref="ArgumentException">Bad options, or a module whose weights cannot be quantized or committed.</exception>
    /// <exception cref="IOException">A salt file cannot be read or written.</exception>
    public static LoRAServer Create(LoraAdapter adapter, string outputDirectory, LoRAServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDirectory);
        return new LoRAServer(adapter, outputDirectory, options ?? new LoRAServerOptions());
    }

    /// <summary>
    /// Loads the adapter (a folder or a Hugging Face cache name) and builds a contributor. When
    /// <paramref name="baseModel"/> is given, the base model is loaded once to check that every
    /// adapter module exists there with the same widths.
    /// </summary>
    /// <param name="adapter">Adapter folder or cached repository id.</param>
    /// <param name="outputDirectory">Output folder.</param>
    /// <param name="baseModel">Optional base model folder or cached repository id, for the shape check.</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <exception cref="ModelNotFoundException">The adapter or model is not on this machine.</exception>
    /// <exception cref="ModelFormatException">They are malformed or do not fit each other.</exception>
    public static LoRAServer Load(string adapter, string outputDirectory, string? baseModel = null, LoRAServerOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(adapter);
        var lora = LoraAdapter.Load(adapter);
        if (baseModel is not null)
        {
            using var model = CausalLanguageModel.Load(baseModel);
            model.CheckAdapter(lora);
        }
        return Create(lora, outputDirectory, options);
    }

    /// <summary>The output folder.</summary>
    public string OutputDirectory { get; }

    /// <summary>Where proofs are written: <c>{out}/proofs</c>.</summary>
    public string ProofDirectory => Path.Combine(OutputDirectory, "proofs");

    /// <summary>Where the commitment salts live: <c>{out}/secret</c> (owner-only; never share it).</summary>
    public string SecretDirectory => Path.Combine(OutputDirectory, "secret");

    /// <summary>The fixed-point configuration.</summary>
    public FixedPointSettings FixedPoint => _options.FixedPoint;

    /// <summary>The served injection points, in model order.</summary>
    public IReadOnlyList<InjectionPoint> InjectionPoints { get; }

    /// <summary>The adapter manifest (one entry per served module; no salt).</summary>
    public AdapterManifest Manifest { get; }

    /// <summary>SHA-256 hex of the manifest's canonical JSON (what a verifier may pin instead of the file); <see cref="AdapterManifest.Digest"/>.</summary>
    public string ManifestDigest => Manifest.Digest;

    /// <summary>The prover <c>end_inference</c> hands sessions to.</summary>
    internal IProofGenerator Prover { get; }

    /// <summary>Writes the manifest as canonical JSON (the folder is created if needed).</summary>
    /// <param name="path">Where to write it.</param>
    /// <exception cref="IOException">It cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">It may not be written.</exception>
    public void WriteManifest(string path) => Manifest.Write(path);

    /// <summary>The answer to <c>init_request</c>.</summary>
    /// <returns>Protocol id, manifest digest, fixed-point configuration and injection points.</returns>
    public InitResponse Describe() => new(WireMessages.ProtocolId, ManifestDigest, _options.FixedPoint, InjectionPoints);

    private QuantizedModule Quantize(LoraModule m, FsFixedPoint.FixedPointConfig cfg)
    {
        BigInteger[][] Q(double[][] w, string which) => w.Select((row, r) => row.Select((v, c) =>
        {
            var q = FsFixedPoint.quantize(cfg, v);
            return q.IsOk ? q.ResultValue : throw new ArgumentException($"Module '{m.Name}': {which}[{r}][{c}]: {q.ErrorValue}");
        }).ToArray()).ToArray();
        var a = Q(m.A, "A");
        var b = Q(m.B, "B");
        var s = FsFixedPoint.scaling(m.Scaling.Numerator, m.Scaling.Denominator);
        if (s.IsError) throw new ArgumentException($"Module '{m.Name}': {s.ErrorValue}");
        var shape = new AdapterCommitment.AdapterShape(m.InFeatures, m.Rank, m.OutFeatures);
        var salt = LoadOrCreateSalt(m.Name);
        var entry = ManifestModule.adapterOf(m.Name, shape, cfg, s.ResultValue, salt, a, b);
        if (entry.IsError) throw new ArgumentException(entry.ErrorValue);
        return new QuantizedModule(entry.ResultValue, a, b, salt);
    }

    private Fp LoadOrCreateSalt(string module)
    {
        var name = AdapterCommitment.saltFileName(module);
        if (name.IsError) throw new ArgumentException(name.ErrorValue);
        string path = Path.Combine(SecretDirectory, name.ResultValue);
        if (!File.Exists(path))
        {
            var written = AdapterCommitment.writeSaltFile(path, AdapterCommitment.newSalt());
            // Another process may have created it first; then its salt is the one to use.
            if (written.IsError && !File.Exists(path)) throw new IOException(written.ErrorValue);
        }
        var salt = AdapterCommitment.readSaltFile(path);
        if (salt.IsError) throw new IOException(salt.ErrorValue);
        return salt.ResultValue;
    }

    /// <summary>
    /// Serves one module call: quantizes every input value (docs/design.md §2.2), computes the exact delta
    /// and records the call under the next invocation index of (session, module).
    /// </summary>
    /// <param name="sessionId">Session id (A-Z a-z 0-9 _ -, 1–64 characters).</param>
    /// <param name="moduleName">A served injection point.</param>
    /// <param name="inputShape">[rows, in_dim] or [batch, seq, in_dim].</param>
    /// <param name="rows">The input as rows × in_dim.</param>
    /// <exception cref="LoraRequestException">Unknown module, bad session id, wrong shape, a value that cannot be quantized, an ended session or an exceeded limit.</exception>
    public LoraForwardResult LoraForward(string sessionId, string moduleName, long[] inputShape, double[][] rows)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        ArgumentNullException.ThrowIfNull(rows);
        var sid = ArtifactNames.validateSessionId(sessionId);
        if (sid.IsError) throw new LoraRequestException(sid.ErrorValue);
        if (moduleName is null || !_modules.TryGetValue(moduleName, out var module))
            throw new LoraRequestException($"Unknown module '{WireMessages.Printable(moduleName ?? "")}'; this contributor serves {string.Join(", ", _modules.Keys)}.");
        var shape = module.Entry.Shape;
        if (inputShape.Length is not (2 or 3) || inputShape.Any(d => d < 1) || inputShape[^1] != shape.InDim)
            throw new LoraRequestException($"Module '{moduleName}' takes input of shape [rows, {shape.InDim}] or [batch, seq, {shape.InDim}], got [{string.Join(", ", inputShape)}].");
        long rowCount = inputShape[..^1].Aggregate(1L, (x, y) => checked(x * y));
        if (rows.Length != rowCount || rows.Any(r => r is null || r.Length != shape.InDim))
            throw new LoraRequestException($"Module '{moduleName}': the input rows do not fill shape [{string.Join(", ", inputShape)}].");

        var cfg = _config;
        var x = new BigInteger[rows.Length][];
        for (int r = 0; r < rows.Length; r++)
        {
            var row = new BigInteger[shape.InDim];
            for (int i = 0; i < row.Length; i++)
            {
                var q = FsFixedPoint.quantize(cfg, rows[r][i]);
                if (q.IsError) throw new LoraRequestException($"Module '{moduleName}': input row {r}, element {i}: {q.ErrorValue}");
                row[i] = q.ResultValue;
            }
            x[r] = row;
        }
        var scaling = module.Entry.Scaling;
        var d = FsFixedPoint.deltaRows(cfg, module.A, module.B, x, scaling.Num, scaling.Den);
        if (d.IsError) throw new LoraRequestException($"Module '{moduleName}': {d.ErrorValue}");
        var delta = d.ResultValue;
        long[] outputShape = [.. inputShape[..^1], shape.OutDim];

        long values = checked(rowCount * (shape.InDim + shape.OutDim));
        var session = OpenSession(sessionId);
        RecordedCall call;
        lock (session.Gate)
        {
            if (session.Proving) throw new LoraRequestException($"Session '{sessionId}' is being proved; no more calls can join it.");
            if (session.Values + values > _options.MaxRecordedValuesPerSession)
                throw new LoraRequestException($"Session '{sessionId}' would record more than {_options.MaxRecordedValuesPerSession} values; end it and start a new session.");
            session.NextIndex.TryGetValue(module.Name, out long index);
            session.NextIndex[module.Name] = index + 1;
            session.Values += values;
            if (_options.TestDeltaOverride is { } tamper) delta = tamper(module.Name, index, delta);
            call = new RecordedCall(new FsEntry(sessionId, module.Name, index, inputShape.ToArray(), outputShape, x, delta, cfg, scaling));
            session.Calls.Add(call);
        }
        var output = delta.Select(row => row.Select(v => FsFixedPoint.dequantize(cfg, v)).ToArray()).ToArray();
        return new LoraForwardResult(call, output);
    }

    private Session OpenSession(string sessionId)
    {
        lock (_gate)
        {
            if (_sessions.TryGetValue(sessionId, out var s)) return s;
            if (_endedSessions.Contains(sessionId))
                throw new LoraRequestException($"Session '{sessionId}' has ended and its proofs are written; use a new session id.");
            if (_sessions.Count >= _options.MaxOpenSessions)
                throw new LoraRequestException($"Too many open sessions ({_options.MaxOpenSessions}); end a session first.");
            s = new Session();
            _sessions.Add(sessionId, s);
            return s;
        }
    }

    /// <summary>A snapshot of a session's recorded calls (empty if the session is unknown).</summary>
    public IReadOnlyList<RecordedCall> GetRecordedCalls(string sessionId)
    {
        Session? s;
        lock (_gate) _sessions.TryGetValue(sessionId, out s);
        if (s is null) return Array.Empty<RecordedCall>();
        lock (s.Gate) return s.Calls.ToList();
    }

    /// <summary>Ids of the open sessions.</summary>
    public IReadOnlyList<string> OpenSessionIds
    {
        get { lock (_gate) return _sessions.Keys.ToList(); }
    }

    /// <summary>
    /// Ends a session: hands its recorded calls (ordered by module, then index) to the proof
    /// generator. On success the session is closed for good (its id cannot be reused, since proof
    /// file names derive from it); if proving fails the session stays open with its calls, so
    /// ending it can be retried.
    /// </summary>
    /// <exception cref="LoraRequestException">Bad or unknown session id, or the session is already being proved.</exception>
    /// <exception cref="ProofGenerationException">A call cannot be proved (the session stays open with its calls).</exception>
    public async Task<EndInferenceResponse> EndInferenceAsync(string sessionId, IProgress<ProofProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var sid = ArtifactNames.validateSessionId(sessionId);
        if (sid.IsError) throw new LoraRequestException(sid.ErrorValue);
        Session? session;
        lock (_gate)
        {
            if (!_sessions.TryGetValue(sessionId, out session))
                throw new LoraRequestException(_endedSessions.Contains(sessionId)
                    ? $"Session '{sessionId}' has already ended."
                    : $"Unknown session '{sessionId}': no lora_forward call was recorded for it.");
        }
        List<RecordedCall> calls;
        lock (session.Gate)
        {
            if (session.Proving) throw new LoraRequestException($"Session '{sessionId}' is already being proved.");
            session.Proving = true;
            calls = session.Calls.OrderBy(c => c.ModuleName, StringComparer.Ordinal).ThenBy(c => c.InvocationIndex).ToList();
        }
        try
        {
            var job = new ProofJob(sessionId, calls, ProofDirectory, Manifest, _modules);
            int written = await Prover.ProveSessionAsync(job, progress ?? _options.ProofProgress, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                _sessions.Remove(sessionId);
                _endedSessions.Add(sessionId);
            }
            return new EndInferenceResponse(sessionId, calls.Count, written);
        }
        catch
        {
            lock (session.Gate) session.Proving = false;
            throw;
        }
    }
}
