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

/// <summary>
/// Test-only seams of a <see cref="LoRAServer"/>, kept out of <see cref="LoRAServerOptions"/> so that
/// production options carry no test hook; only <see cref="LoRAServer.Create(LoraAdapter, string, LoRAServerOptions?, LoRAServerTestHooks)"/>
/// (internal) takes them.
/// </summary>
internal sealed record LoRAServerTestHooks
{
    /// <summary>
    /// The proving seam (null: the zero-knowledge prover). A job carries the secret witness, and only
    /// the zero-knowledge prover writes artifacts a verifier accepts, so it is not public.
    /// </summary>
    public IProofGenerator? ProofGenerator { get; init; }

    /// <summary>
    /// Fault injection: rewrites the delta of a call (module, invocation index, exact delta → delta
    /// returned and recorded). Models a dishonest contributor.
    /// </summary>
    public Func<string, long, BigInteger[][], BigInteger[][]>? DeltaOverride { get; init; }

    /// <summary>
    /// Storage seam: opens the session store's files (write-ahead logs, <c>ended.txt</c>) for
    /// unbuffered writing (null: a plain <see cref="FileStream"/>). Tests make writes fail as on a full
    /// disk (ENOSPC) without root.
    /// </summary>
    public Func<string, FileMode, FileStream>? StoreFileOpener { get; init; }
}

/// <summary>
/// The LoRA contributor (party A, docs/design.md §1). It loads a PEFT adapter, quantizes every served
/// module, commits to each under a secret salt persisted in <c>{out}/secret/</c> (so restarts
/// give the same commitments), and exposes the adapter manifest the verifier pins before
/// inference. For every module call it quantizes the received activations, computes the exact
/// fixed-point delta and records the call in the call's session; at <c>end_inference</c> it hands
/// the session to the <see cref="IProofGenerator"/>, which writes proofs to <c>{out}/proofs/</c>.
/// Thread-safe: calls of different sessions run concurrently, sessions never see each other.
/// </summary>
public sealed partial class LoRAServer
{
    private readonly Dictionary<string, QuantizedModule> _modules;
    private readonly Dictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly HashSet<string> _endedSessions = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private readonly LoRAServerOptions _options;
    private readonly FsFixedPoint.FixedPointConfig _config;
    private readonly SemaphoreSlim _proving = new(1, 1);
    private readonly long _provingBudget;
    private long _totalValues;

    private readonly LoRAServerTestHooks _hooks;
    private readonly ZkLora.Math.Commitment.PublicParameters _parameters;

    private LoRAServer(LoraAdapter adapter, string outputDirectory, LoRAServerOptions options, LoRAServerTestHooks hooks)
    {
        _options = options;
        _hooks = hooks;
        OutputDirectory = Path.GetFullPath(outputDirectory);
        if (options.FixedPoint is null) throw new ArgumentException("FixedPoint must not be null.", nameof(options));
        _config = options.FixedPoint.ToFSharp();
        if (options.MaxOpenSessions < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxOpenSessions must be at least 1.");
        if (options.MaxRecordedValuesPerSession < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxRecordedValuesPerSession must be at least 1.");
        if (options.MaxProofParallelism is < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxProofParallelism must be at least 1.");
        if (options.MaxOpenSessionsPerClient < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxOpenSessionsPerClient must be at least 1.");
        if (options.MaxRowsPerCall < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxRowsPerCall must be at least 1.");
        if (options.MaxTotalRecordedValues < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxTotalRecordedValues must be at least 1.");
        if (options.MaxProvingMemoryBytes is < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxProvingMemoryBytes must be at least 1.");
        if (options.SessionIdleTimeout != Timeout.InfiniteTimeSpan && options.SessionIdleTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(options), "SessionIdleTimeout must be positive or Timeout.InfiniteTimeSpan.");
        if (options.ProjectionCallsPerProof < 0) throw new ArgumentOutOfRangeException(nameof(options), "ProjectionCallsPerProof must be at least 0.");
        if (options.ProvingKeyCacheSize < 1) throw new ArgumentOutOfRangeException(nameof(options), "ProvingKeyCacheSize must be at least 1.");
        var defaults = ProofBatch.defaultOptions();
        var proveOptions = new ProofBatch.ProveOptions(
            options.MaxProofParallelism ?? defaults.MaxDegreeOfParallelism,
            options.MaxProvingMemoryBytes ?? defaults.MemoryBudgetBytes,
            options.ProjectionCallsPerProof,
            options.ProvingKeyCacheSize);
        _provingBudget = proveOptions.MemoryBudgetBytes;
        // The server owns its prover context (options, proving-key cache and the commitment generators, unless
        // the host shares its own); nothing is process-wide.
        _parameters = (options.CommitmentParameters ?? new CommitmentParameters()).ToFSharp();
        Prover = hooks.ProofGenerator ?? new ZkProofGenerator(new ProofBatch.ProverContext(proveOptions, _parameters));

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
        MaxInputValuesPerCall = (long)options.MaxRowsPerCall * _modules.Values.Max(m => m.Entry.Shape.InDim);
        Recover();
    }

    /// <summary>Most rows per call (the wire reader stops there).</summary>
    internal long MaxRowsPerCall => _options.MaxRowsPerCall;

    /// <summary>Whether calls are logged durably.</summary>
    internal bool Durable => _options.Durable;

    /// <summary>Most input values one <c>lora_forward</c> may carry (rows per call × the widest served input); the wire reader stops there.</summary>
    internal long MaxInputValuesPerCall { get; }

    /// <summary>The session store: <c>{out}/sessions</c> (write-ahead logs and the ended-session list; owner-only).</summary>
    public string SessionDirectory => Path.Combine(OutputDirectory, "sessions");

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
        return new LoRAServer(adapter, outputDirectory, options ?? new LoRAServerOptions(), new LoRAServerTestHooks());
    }

    /// <summary>As <see cref="Create(LoraAdapter, string, LoRAServerOptions?)"/>, with test-only seams.</summary>
    internal static LoRAServer Create(LoraAdapter adapter, string outputDirectory, LoRAServerOptions? options, LoRAServerTestHooks hooks)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDirectory);
        ArgumentNullException.ThrowIfNull(hooks);
        return new LoRAServer(adapter, outputDirectory, options ?? new LoRAServerOptions(), hooks);
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

    /// <summary>
    /// Writes the manifest as canonical JSON (the folder is created if needed). For a projection
    /// manifest it also writes the one-time adapter proofs next to it (<see cref="AdapterManifest.AdapterProofsPath"/>)
    /// and publishes them in <see cref="ProofDirectory"/> as <c>&lt;manifest sha256&gt;.adapter-proofs.json</c>,
    /// where a verifier that pinned only the manifest finds them.
    /// </summary>
    /// <param name="path">Where to write it.</param>
    /// <exception cref="IOException">It cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">It may not be written.</exception>
    public void WriteManifest(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Manifest.ProofBackend == ProofBackend.Projection)
        {
            // The adapter proof next to the manifest, and published with the proofs (the verifier's
            // fallback: <digest>.adapter-proofs.json in a proof directory): written once, never
            // replaced by other bytes.
            byte[] proofs = AdapterProofBytes();
            PublishAdapterProofs(AdapterManifest.AdapterProofsPath(path), proofs);
            PublishAdapterProofs(Path.Combine(ProofDirectory, ProjectionArtifacts.adapterProofsFileName(ManifestDigest)), proofs);
        }
        Manifest.Write(path);
    }

    private void PublishAdapterProofs(string target, byte[] proofs)
    {
        if (File.Exists(target))
        {
            var existing = ProjectionArtifacts.readAdapterProofs(target);
            if (existing.IsError || existing.ResultValue.ManifestDigest != ManifestDigest)
                throw new IOException($"{target} exists and is not the adapter proof of manifest {ManifestDigest}; refusing to overwrite it.");
        }
        else
        {
            ArtifactFiles.CreateParentDirectory(target);
            var w = ArtifactCommon.writeNewFileAtomic("adapter proofs", target, proofs);
            if (w.IsError && !File.Exists(target)) throw new IOException(w.ErrorValue);
        }
    }

    private byte[]? _adapterProofs;
    private readonly object _adapterProofsGate = new();

    /// <summary>
    /// Where this contributor keeps the one-time adapter proofs of its projection manifest:
    /// <c>{out}/adapter-proofs/&lt;manifest sha256&gt;.&lt;schema&gt;.json</c> (public; made once, reused after a
    /// restart; the schema in the name keeps a file of an older adapter-proof version from being reused).
    /// </summary>
    internal string AdapterProofsStore => Path.Combine(OutputDirectory, "adapter-proofs", $"{ManifestDigest}.{ArtifactCommon.adapterProofsSchema}.json");

    /// <summary>The adapter-proof file's bytes: read from the store, or proved once and stored.</summary>
    private byte[] AdapterProofBytes()
    {
        lock (_adapterProofsGate)
        {
            if (_adapterProofs is not null) return _adapterProofs;
            string store = AdapterProofsStore;
            if (!File.Exists(store))
            {
                var secrets = MapModule.OfSeq(_modules.Values.Select(m =>
                    Tuple.Create(m.Name, new ProjectionArtifacts.ProjectionSecret(m.A, m.B, m.Salt))));
                var proved = ProjectionArtifacts.proveAdapterProofs(_parameters.Pedersen, Manifest.ToFSharp(), secrets);
                if (proved.IsError) throw new InvalidOperationException($"The adapter proof cannot be made: {proved.ErrorValue}");
                var json = ProjectionArtifacts.adapterProofsToJson(proved.ResultValue);
                if (json.IsError) throw new InvalidOperationException(json.ErrorValue);
                Directory.CreateDirectory(Path.GetDirectoryName(store)!);
                var w = ArtifactCommon.writeNewFileAtomic("adapter proofs", store, System.Text.Encoding.ASCII.GetBytes(json.ResultValue));
                // Another process may have stored it first; then its file is the one to use.
                if (w.IsError && !File.Exists(store)) throw new IOException(w.ErrorValue);
            }
            var bytes = SafeFile.readBytes("adapter proofs", ProjectionArtifacts.maxAdapterProofsFileBytes, store);
            if (bytes.IsError) throw new IOException(bytes.ErrorValue);
            var parsed = ProjectionArtifacts.parseAdapterProofsBytes(bytes.ResultValue);
            if (parsed.IsError || parsed.ResultValue.ManifestDigest != ManifestDigest)
                throw new IOException($"{store} is not the adapter proof of manifest {ManifestDigest}.");
            _adapterProofs = bytes.ResultValue;
            return _adapterProofs;
        }
    }

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
        bool projection = _options.Backend == ProofBackend.Projection;
        var salt = LoadOrCreateSalt(projection ? ProjectionArtifacts.blindFileName(m.Name) : AdapterCommitment.saltFileName(m.Name));
        var entry = projection
            ? ManifestModule.projectionAdapterOf(_parameters.Pedersen, m.Name, shape, cfg, s.ResultValue, salt, a, b)
            : ManifestModule.adapterOf(m.Name, shape, cfg, s.ResultValue, salt, a, b);
        if (entry.IsError) throw new ArgumentException(entry.ErrorValue);
        return new QuantizedModule(entry.ResultValue, a, b, salt);
    }

    private Fp LoadOrCreateSalt(Microsoft.FSharp.Core.FSharpResult<string, string> name)
    {
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


    // ------------------------------------------------------------------ sessions

    private sealed class Session
    {
        public readonly object Gate = new();
        public readonly Dictionary<string, long> NextIndex = new(StringComparer.Ordinal);
        public readonly List<RecordedCall> Calls = new();
        public required string Id { get; init; }
        /// <summary>SHA-256 of the token (null: opened in-process by the owner, no token).</summary>
        public byte[]? TokenHash { get; init; }
        public string? Client { get; init; }
        public long Values;
        public bool Proving;
        /// <summary>The proving's last progress (null while queued or not proving).</summary>
        public ProofProgress? Progress;
        public bool Closed;
        public long LastUsed = Environment.TickCount64;
        public SessionLog? Log;
    }

    private static string Quote(string s) => WireMessages.Printable(s);

    /// <summary>
    /// Opens a session for a remote client and returns its secret token (256 bits from the OS
    /// CSPRNG, 64 hex digits); every later request of the session must present it. Only a hash
    /// of the token is kept (in memory and in the write-ahead log).
    /// </summary>
    /// <param name="sessionId">A new session id (A-Z a-z 0-9 _ -, 1–64 characters).</param>
    /// <param name="client">Who opens it (the socket passes the remote address), for the per-client limit; null: not counted per client.</param>
    /// <returns>The token.</returns>
    /// <exception cref="LoraRequestException">Bad id, an id already open or ended, or a session limit reached.</exception>
    public string OpenSession(string sessionId, string? client = null)
    {
        CheckId(sessionId);
        var token = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        Open(sessionId, client, HashToken(token), existingIsError: true);
        return token;
    }

    private static byte[] HashToken(string token) => System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token));

    private static void CheckId(string sessionId)
    {
        var sid = ArtifactNames.validateSessionId(sessionId);
        if (sid.IsError) throw new LoraRequestException(sid.ErrorValue, WireErrorCode.InvalidRequest);
    }

    private Session Open(string sessionId, string? client, byte[]? tokenHash, bool existingIsError)
    {
        lock (_gate)
        {
            ExpireIdleLocked();
            if (_sessions.TryGetValue(sessionId, out var s))
            {
                if (existingIsError) throw new LoraRequestException($"Session '{Quote(sessionId)}' is already open; choose a new session id.", WireErrorCode.SessionExists);
                return s;
            }
            if (_endedSessions.Contains(sessionId))
                throw new LoraRequestException($"Session '{Quote(sessionId)}' has ended: it already ended or expired, and session ids are never reused, since proof file names derive from them. Use a new session id.", WireErrorCode.SessionEnded);
            if (_sessions.Count >= _options.MaxOpenSessions)
                throw new LoraRequestException($"Too many open sessions ({_options.MaxOpenSessions}, the server's limit); try again after a session ends or expires.", WireErrorCode.Busy);
            if (client is not null && _sessions.Values.Count(x => x.Client == client) >= _options.MaxOpenSessionsPerClient)
                throw new LoraRequestException($"Too many open sessions from this client ({_options.MaxOpenSessionsPerClient}, the per-client limit); end one first.", WireErrorCode.Busy);
            s = new Session { Id = sessionId, TokenHash = tokenHash, Client = client };
            if (_options.Durable)
            {
                try
                {
                    s.Log = SessionLog.Create(SessionDirectory, sessionId, tokenHash, client, OpenStoreFile);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Disk full, a read-only or missing store: no session without its log.
                    ServerLog.SessionLogCreateFailed(Logger, Quote(sessionId), e.Message);
                    throw new LoraRequestException($"The server cannot store the session durably ({e.GetType().Name}); nothing was opened, try again later.", WireErrorCode.StorageUnavailable);
                }
            }
            _sessions.Add(sessionId, s);
            return s;
        }
    }

    /// <summary>Discards sessions idle past <see cref="LoRAServerOptions.SessionIdleTimeout"/> (caller holds _gate).</summary>
    private void ExpireIdleLocked()
    {
        if (_options.SessionIdleTimeout == Timeout.InfiniteTimeSpan) return;
        long now = Environment.TickCount64;
        long idle = (long)_options.SessionIdleTimeout.TotalMilliseconds;
        foreach (var s in _sessions.Values.ToList())
        {
            if (now - Volatile.Read(ref s.LastUsed) < idle) continue;
            // A session whose gate is taken is being used right now, so it is not idle: skip it
            // rather than wait for its disk write while holding the server-wide gate.
            if (!Monitor.TryEnter(s.Gate)) continue;
            try
            {
                if (s.Proving || now - Volatile.Read(ref s.LastUsed) < idle) continue;
                s.Closed = true;
                _sessions.Remove(s.Id);
                Interlocked.Add(ref _totalValues, -s.Values);
                MarkEndedLocked(s.Id);
                s.Log?.Delete();
            }
            finally
            {
                Monitor.Exit(s.Gate);
            }
        }
    }

    /// <summary>Records an ended (or expired) id for good: in memory and appended to <c>sessions/ended.txt</c>, flushed.</summary>
    private void MarkEndedLocked(string sessionId)
    {
        _endedSessions.Add(sessionId);
        if (_options.Durable) SessionLog.AppendEnded(SessionDirectory, sessionId, OpenStoreFile);
    }

    private FileStream OpenStoreFile(string path, FileMode mode) => (_hooks.StoreFileOpener ?? SessionLog.OpenForWrite)(path, mode);

    /// <summary>Finds a session and checks the caller's right to it; token null means the in-process owner.</summary>
    private Session Authorize(string sessionId, string? token, bool openIfMissing)
    {
        CheckId(sessionId);
        Session? s;
        lock (_gate)
        {
            ExpireIdleLocked();
            _sessions.TryGetValue(sessionId, out s);
            if (s is null && _endedSessions.Contains(sessionId))
                throw new LoraRequestException($"Session '{Quote(sessionId)}' has ended: it already ended, or expired after {_options.SessionIdleTimeout.TotalMinutes:0.#} idle minutes; use a new session id.", WireErrorCode.SessionEnded);
        }
        if (s is null)
        {
            if (token is not null || !openIfMissing)
                throw new LoraRequestException($"Unknown session '{Quote(sessionId)}': open it with open_session first.", WireErrorCode.UnknownSession);
            return Open(sessionId, null, null, existingIsError: false);
        }
        if (token is not null)
        {
            // The same answer for a wrong token and a session opened in-process without one, so a
            // caller learns nothing about the session beyond that it may not use it.
            var presented = HashToken(token);
            if (s.TokenHash is null || !System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(presented, s.TokenHash))
                throw new LoraRequestException($"Session '{Quote(sessionId)}': the session token is not the one open_session returned for it.", WireErrorCode.InvalidSessionToken);
        }
        return s;
    }

    /// <summary>
    /// Serves one module call as the server's owner (in process, no token): quantizes every input
    /// value (docs/design.md §2.2), computes the exact delta and records the call under the next invocation
    /// index of (session, module). The session is opened if it is not open yet.
    /// </summary>
    /// <param name="sessionId">Session id (A-Z a-z 0-9 _ -, 1–64 characters).</param>
    /// <param name="moduleName">A served injection point.</param>
    /// <param name="inputShape">[rows, in_dim] or [batch, seq, in_dim].</param>
    /// <param name="rows">The input as rows × in_dim.</param>
    /// <exception cref="LoraRequestException">Unknown module, bad session id, wrong shape, a value that cannot be quantized, an ended session or an exceeded limit.</exception>
    public LoraForwardResult LoraForward(string sessionId, string moduleName, long[] inputShape, double[][] rows) =>
        LoraForwardCore(sessionId, null, moduleName, inputShape, rows, null, out _);

    /// <summary>
    /// The wire path: checks the token, and renders the response with <paramref name="render"/>
    /// before the call is committed, so a response that cannot be sent (too large) leaves no trace.
    /// </summary>
    internal LoraForwardResult LoraForwardCore(string sessionId, string? token, string moduleName, long[] inputShape, double[][] rows,
        Func<LoraForwardResult, byte[]>? render, out byte[]? rendered)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        ArgumentNullException.ThrowIfNull(rows);
        rendered = null;
        CheckId(sessionId);
        if (moduleName is null || !_modules.TryGetValue(moduleName, out var module))
            throw new LoraRequestException($"Unknown module '{Quote(moduleName ?? "")}'; this contributor serves {string.Join(", ", _modules.Keys)}.", WireErrorCode.UnknownModule);
        var shape = module.Entry.Shape;
        string ShapeText() => string.Join(", ", inputShape);
        if (inputShape.Length is not (2 or 3) || inputShape.Any(d => d < 1) || inputShape[^1] != shape.InDim)
            throw new LoraRequestException($"Module '{moduleName}' takes input of shape [rows, {shape.InDim}] or [batch, seq, {shape.InDim}], got [{ShapeText()}].", WireErrorCode.InvalidInput);
        // Every leading dimension is at most MaxRowsPerCall before any product is formed, so the
        // products below cannot overflow.
        int maxRows = _options.MaxRowsPerCall;
        long rowCount = 1;
        foreach (var d in inputShape[..^1])
        {
            if (d > maxRows || (rowCount *= d) > maxRows)
                throw new LoraRequestException($"Module '{moduleName}': input of shape [{ShapeText()}] has more than {maxRows} rows, the limit per call (MaxRowsPerCall); split it into several calls.", WireErrorCode.BudgetExceeded);
        }
        if (rows.Length != rowCount || rows.Any(r => r is null || r.Length != shape.InDim))
            throw new LoraRequestException($"Module '{moduleName}': {rows.Length} input rows do not fill shape [{ShapeText()}] ({rowCount} rows of {shape.InDim} values).", WireErrorCode.InvalidInput);
        long values = rowCount * (shape.InDim + shape.OutDim);
        if (values > _options.MaxRecordedValuesPerSession)
            throw new LoraRequestException($"Module '{moduleName}': one call of {rowCount} rows records {values} values, more than a session may hold ({_options.MaxRecordedValuesPerSession}); send fewer rows per call.", WireErrorCode.BudgetExceeded);
        EstimateProofBytes(module, (int)rowCount);

        var session = Authorize(sessionId, token, openIfMissing: true);
        CheckCapacity(session, values);

        var cfg = _config;
        var scaling = module.Entry.Scaling;
        var answered = ContributorCall.answer(cfg, module.A, module.B, scaling, rows);
        if (answered.IsError)
        {
            throw answered.ErrorValue switch
            {
                ContributorCall.AnswerFailure.Unquantizable u =>
                    new LoraRequestException($"Module '{moduleName}': input row {u.Item.Row}, element {u.Item.Column}: {u.Item.Reason}", WireErrorCode.InvalidInput),
                ContributorCall.AnswerFailure.DeltaFailed f => new LoraRequestException($"Module '{moduleName}': {f.Item}", WireErrorCode.InvalidInput),
                _ => new InvalidOperationException("unknown answer failure"),
            };
        }
        var x = answered.ResultValue.X;
        var delta = answered.ResultValue.Delta;
        var output = answered.ResultValue.Output;

        lock (session.Gate)
        {
            CheckCapacity(session, values);
            session.NextIndex.TryGetValue(module.Name, out long index);
            var d = delta;
            if (_hooks.DeltaOverride is { } tamper)
            {
                d = tamper(module.Name, index, delta);
                output = ContributorCall.dequantizeRows(cfg, d);
            }
            var call = new RecordedCall(ContributorCall.record(sessionId, module.Name, index, inputShape, shape.OutDim, cfg, scaling, x, d));
            var result = new LoraForwardResult(call, output);
            // Everything that can refuse the call happens before anything is committed.
            if (render is not null) rendered = render(result);
            // Reserved atomically; never take _gate while holding a session's gate (the expiry
            // sweep takes them in the other order).
            long total = Interlocked.Add(ref _totalValues, values);
            if (total > _options.MaxTotalRecordedValues)
            {
                Interlocked.Add(ref _totalValues, -values);
                throw new LoraRequestException($"The server holds {total - values} recorded values, and this call's {values} would pass its limit of {_options.MaxTotalRecordedValues} (MaxTotalRecordedValues); try again after sessions end.", WireErrorCode.Busy);
            }
            try
            {
                // Flushed to disk before the response exists for the caller: an answered call is durable.
                session.Log?.AppendCall(call.ToFSharp());
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Interlocked.Add(ref _totalValues, -values);
                ServerLog.SessionLogWriteFailed(Logger, Quote(sessionId), e.Message);
                throw new LoraRequestException($"The server cannot record the call durably ({e.GetType().Name}); nothing was recorded, try again later.", WireErrorCode.StorageUnavailable);
            }
            session.NextIndex[module.Name] = index + 1;
            session.Values += values;
            session.Calls.Add(call);
            Volatile.Write(ref session.LastUsed, Environment.TickCount64);
            return result;
        }
    }

    private void CheckCapacity(Session session, long values)
    {
        lock (session.Gate)
        {
            if (session.Closed) throw new LoraRequestException($"Session '{Quote(session.Id)}' has ended or expired; use a new session id.", WireErrorCode.SessionEnded);
            if (session.Proving) throw new LoraRequestException($"Session '{Quote(session.Id)}' is being proved; no more calls can join it.", WireErrorCode.SessionProving);
            if (session.Values + values > _options.MaxRecordedValuesPerSession)
                throw new LoraRequestException($"Session '{Quote(session.Id)}' would record more than {_options.MaxRecordedValuesPerSession} values (MaxRecordedValuesPerSession); end it and start a new session.", WireErrorCode.BudgetExceeded);
        }
        {
            long held = Interlocked.Read(ref _totalValues);
            if (held + values > _options.MaxTotalRecordedValues)
                throw new LoraRequestException($"The server holds {held} recorded values, and this call's {values} would pass its limit of {_options.MaxTotalRecordedValues} (MaxTotalRecordedValues); try again after sessions end.", WireErrorCode.Busy);
        }
    }

    private readonly Dictionary<(string, int), long> _estimates = new();

    /// <summary>
    /// The calibrated proving-memory estimate of one call (see <see cref="ProofBatch.estimatedProofBytes"/>);
    /// a call above the budget, or one no proof can hold, is refused before it is recorded.
    /// </summary>
    private long EstimateProofBytes(QuantizedModule module, int rows)
    {
        lock (_estimates)
            if (_estimates.TryGetValue((module.Name, rows), out var known)) return Check(known);
        var e = module.Entry;
        if (e.Commitment.IsPedersenCommitment)
        {
            if (!ProjectionArtifacts.fitsPolicy(e.Shape, e.FixedPoint, e.Scaling, rows))
                throw new LoraRequestException($"Module '{module.Name}': a call of {rows} rows cannot be proved (above the projection backend's limits); send fewer rows per call.", WireErrorCode.BudgetExceeded);
            long pb = ProjectionArtifacts.estimatedProofBytes(e.Shape, e.FixedPoint, e.Scaling, rows);
            lock (_estimates) _estimates[(module.Name, rows)] = pb;
            return Check(pb);
        }
        var plan = ZkLora.Proofs.Circuit.LoraCircuit.plan(new ZkLora.Proofs.Circuit.LoraCircuit.LoraCircuitShape(e.Shape.InDim, e.Shape.Rank, e.Shape.OutDim, rows, e.FixedPoint, e.Scaling));
        if (plan.IsError) throw new LoraRequestException($"Module '{module.Name}': a call of {rows} rows cannot be proved ({plan.ErrorValue}); send fewer rows per call.", WireErrorCode.BudgetExceeded);
        long bytes = ProofBatch.estimatedProofBytes(plan.ResultValue);
        lock (_estimates) _estimates[(module.Name, rows)] = bytes;
        return Check(bytes);

        long Check(long b) => b <= _provingBudget ? b
            : throw new LoraRequestException($"Module '{module.Name}': proving a call of {rows} rows needs about {b / (1 << 20)} MiB, above the proving memory budget of {_provingBudget / (1 << 20)} MiB; send fewer rows per call.", WireErrorCode.BudgetExceeded);
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

    /// <summary>Ids that can never be used again (ended or expired, remembered across restarts).</summary>
    public bool IsEnded(string sessionId)
    {
        lock (_gate) return _endedSessions.Contains(sessionId);
    }

    /// <summary>
    /// Ends a session as the server's owner (in process, no token): hands its recorded calls
    /// (ordered by module, then index) to the proof generator. On success the session is closed
    /// for good (its id is never reused, since proof file names derive from it; the list survives
    /// restarts); if proving fails the session stays open with its calls, so ending it can be retried.
    /// </summary>
    /// <exception cref="LoraRequestException">Bad or unknown session id, or the session is already being proved.</exception>
    /// <exception cref="ProofGenerationException">A call cannot be proved (the session stays open with its calls).</exception>
    public Task<EndInferenceResponse> EndInferenceAsync(string sessionId, IProgress<ProofProgress>? progress = null, CancellationToken cancellationToken = default) =>
        EndInferenceCoreAsync(sessionId, null, progress, cancellationToken);

    internal async Task<EndInferenceResponse> EndInferenceCoreAsync(string sessionId, string? token, IProgress<ProofProgress>? progress, CancellationToken cancellationToken)
    {
        var session = Authorize(sessionId, token, openIfMissing: false);
        List<RecordedCall> calls;
        lock (session.Gate)
        {
            if (session.Closed) throw new LoraRequestException($"Session '{Quote(sessionId)}' has already ended.", WireErrorCode.SessionEnded);
            if (session.Proving) throw new LoraRequestException($"Session '{Quote(sessionId)}' is already being proved.", WireErrorCode.SessionProving);
            if (session.Calls.Count == 0) throw new LoraRequestException($"Session '{Quote(sessionId)}' has no recorded call; there is nothing to prove.", WireErrorCode.NothingToProve);
            // Durable before proving starts: after a crash the server finishes this session by itself.
            // A log that cannot take the record (a full disk) refuses end_inference and leaves the
            // session open as it was, so the owner can end it once there is room.
            try
            {
                session.Log?.AppendEnd();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                ServerLog.EndInferenceLogFailed(Logger, Quote(sessionId), e.Message);
                throw new LoraRequestException($"The server cannot log end_inference durably ({e.GetType().Name}); nothing was started and the session stays open: try again later.", WireErrorCode.StorageUnavailable);
            }
            session.Proving = true;
            calls = session.Calls.OrderBy(c => c.ModuleName, StringComparer.Ordinal).ThenBy(c => c.InvocationIndex).ToList();
        }
        try
        {
            int written = await ProveAsync(session, calls, progress, cancellationToken).ConfigureAwait(false);
            return new EndInferenceResponse(sessionId, calls.Count, written);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            lock (session.Gate)
            {
                session.Proving = false;
                session.Progress = null;
                TryAppendEndFailed(session);
            }
            throw;
        }
    }

    /// <summary>
    /// How far the proving of a session whose <c>end_inference</c> was accepted has come (the
    /// <c>proof_progress</c> request): queued behind another session, or proofs done of total.
    /// </summary>
    /// <exception cref="LoraRequestException">Bad, unknown or ended session, wrong token, or a session that is not being proved.</exception>
    internal ProofProgressResponse GetProofProgress(string sessionId, string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        var session = Authorize(sessionId, token, openIfMissing: false);
        lock (session.Gate)
        {
            if (!session.Proving)
                throw new LoraRequestException($"Session '{Quote(sessionId)}' is not being proved: no end_inference has been accepted for it.", WireErrorCode.SessionNotProving);
            return session.Progress is { } p
                ? new ProofProgressResponse(sessionId, "proving", p.Done, p.Total)
                : new ProofProgressResponse(sessionId, "queued", 0, 0);
        }
    }

    /// <summary>Keeps a session's last progress for <see cref="GetProofProgress"/> and passes every report on.</summary>
    private sealed class SessionProgress(Session session, IProgress<ProofProgress>? next) : IProgress<ProofProgress>
    {
        public void Report(ProofProgress value)
        {
            lock (session.Gate) session.Progress = value;
            next?.Report(value);
        }
    }

    /// <summary>Proves a session (one session at a time, so the memory budget holds server-wide) and closes it.</summary>
    private async Task<int> ProveAsync(Session session, List<RecordedCall> calls, IProgress<ProofProgress>? progress, CancellationToken cancellationToken)
    {
        await _proving.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Artifacts of an earlier, unfinished attempt (a crash or a failed proof) are not
            // published: the id never ended. They are removed so the new triples can be written
            // (artifacts are never overwritten).
            RemoveUnpublishedArtifacts(session.Id);
            var job = new ProofJob(session.Id, calls, ProofDirectory, Manifest, _modules);
            lock (session.Gate) session.Progress = new ProofProgress(0, calls.Count, null);
            var tracked = new SessionProgress(session, progress ?? _options.ProofProgress);
            int written = await Prover.ProveSessionAsync(job, tracked, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                lock (session.Gate) session.Closed = true;
                _sessions.Remove(session.Id);
                Interlocked.Add(ref _totalValues, -session.Values);
                MarkEndedLocked(session.Id);
            }
            session.Log?.Delete();
            return written;
        }
        finally
        {
            _proving.Release();
        }
    }

    private void RemoveUnpublishedArtifacts(string sessionId)
    {
        if (!Directory.Exists(ProofDirectory)) return;
        foreach (var f in Directory.EnumerateFiles(ProofDirectory))
        {
            var name = Path.GetFileName(f);
            var parsed = ArtifactNames.tryParseFileName(name);
            bool ours = parsed.IsOk ? parsed.ResultValue.Item1.SessionId == sessionId
                : name.StartsWith(sessionId + ".", StringComparison.Ordinal) && name.Contains(".partial-", StringComparison.Ordinal);
            if (ours) File.Delete(f);
        }
    }

    // ------------------------------------------------------------------ recovery

    /// <summary>Sessions whose end_inference was accepted before a crash, being finished in the background.</summary>
    public Task Recovery { get; private set; } = Task.CompletedTask;

    /// <summary>
    /// Restores the session store: ended ids (the list, plus every session that has artifacts and
    /// no log), open sessions from their logs, and sessions whose <c>end_inference</c> was accepted
    /// are proved in the background (<see cref="Recovery"/>).
    /// </summary>
    private void Recover()
    {
        if (!_options.Durable) return;
        if (!OperatingSystem.IsWindows())
            Directory.CreateDirectory(SessionDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        else
            Directory.CreateDirectory(SessionDirectory);
        foreach (var id in SessionLog.ReadEnded(SessionDirectory)) _endedSessions.Add(id);
        var owed = new List<(Session, List<RecordedCall>)>();
        var logged = new HashSet<string>(StringComparer.Ordinal);
        foreach (var restored in SessionLog.ReadAll(SessionDirectory, Logger, OpenStoreFile))
        {
            if (_endedSessions.Contains(restored.SessionId)) { restored.Log.Delete(); continue; }
            logged.Add(restored.SessionId);
            var s = new Session { Id = restored.SessionId, TokenHash = restored.TokenHash, Client = restored.Client, Log = restored.Log };
            foreach (var e in restored.Calls)
            {
                var call = new RecordedCall(e);
                s.Calls.Add(call);
                s.NextIndex[e.ModuleName] = e.InvocationIndex + 1;
                s.Values += (long)call.X.Count * (call.X[0].Count + call.Delta[0].Count);
            }
            Interlocked.Add(ref _totalValues, s.Values);
            _sessions.Add(s.Id, s);
            if (restored.EndAccepted && s.Calls.Count > 0)
            {
                s.Proving = true;
                owed.Add((s, s.Calls.OrderBy(c => c.ModuleName, StringComparer.Ordinal).ThenBy(c => c.InvocationIndex).ToList()));
            }
        }
        foreach (var f in Directory.EnumerateFiles(ProofDirectory))
        {
            var parsed = ArtifactNames.tryParseFileName(Path.GetFileName(f));
            if (parsed.IsOk && !logged.Contains(parsed.ResultValue.Item1.SessionId)) _endedSessions.Add(parsed.ResultValue.Item1.SessionId);
        }
        if (owed.Count > 0)
        {
            ServerLog.RecoveryStarted(Logger, owed.Count);
            Recovery = Task.Run(async () =>
            {
                foreach (var (s, calls) in owed)
                {
                    try
                    {
                        int n = await ProveAsync(s, calls, null, CancellationToken.None).ConfigureAwait(false);
                        ServerLog.RecoveryProved(Logger, Quote(s.Id), n);
                    }
                    catch (Exception e) when (e is ProofGenerationException or IOException or UnauthorizedAccessException)
                    {
                        lock (s.Gate)
                        {
                            s.Proving = false;
                            TryAppendEndFailed(s);
                        }
                        ServerLog.RecoveryFailed(Logger, Quote(s.Id), WireMessages.Escape(e.Message, 1000));
                    }
                }
            });
        }
    }

    /// <summary>
    /// Logs that a session's proving failed and it is open again. If even that record cannot be
    /// written (a full disk), the proving's own error is what the caller hears; the log still says
    /// <c>end</c>, so after a restart the server tries to prove the session once more.
    /// </summary>
    private void TryAppendEndFailed(Session session)
    {
        try
        {
            session.Log?.AppendEndFailed();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ServerLog.EndFailedLogFailed(Logger, Quote(session.Id), e.Message);
        }
    }

    private ILogger Logger => _options.Logger ?? NullLogger.Instance;
}
