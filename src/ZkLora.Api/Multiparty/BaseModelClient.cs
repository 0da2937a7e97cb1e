using System.Numerics;
using System.Security.Cryptography;
using ZkLora.Model;
using ZkLora.Proofs;
using static TorchSharp.torch;
using FsEntry = ZkLora.Proofs.TranscriptEntry;
using FsFixedPoint = ZkLora.Proofs.FixedPoint;

namespace ZkLora.Api.Multiparty;

/// <summary>
/// The base-model user (party B, docs/design.md §1). It runs the base model locally and patches every
/// injection point its contributors announce: on each module call it quantizes the input itself,
/// sends the activations to the module's contributor, checks the answer (shapes, invocation
/// index, output = q_delta / 2^scale_bits exactly) and combines the delta with the base output.
/// Its <see cref="GetTranscript">transcript</see> records its own view of every call: the quantized
/// input it computed, the q_delta it received, shapes, index, fixed-point config and scaling.
/// One forward pass runs at a time. Disposing unpatches the model and closes the connections.
/// </summary>
public sealed class BaseModelClient : IAsyncDisposable, IDisposable
{
    private readonly CausalLanguageModel _model;
    private readonly bool _ownsModel;
    private readonly List<ContributorConnection> _connections;
    private readonly Dictionary<string, (ContributorConnection Connection, InjectionPoint Point, FsFixedPoint.FixedPointConfig Config)> _owners = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _nextIndex = new(StringComparer.Ordinal);
    private readonly List<InferenceTranscriptEntry> _entries = new();
    private readonly object _transcriptGate = new();
    private readonly SemaphoreSlim _forwardLock = new(1, 1);
    private CancellationToken _forwardToken;
    private bool _initialized;
    private int _disposed;

    /// <summary>Creates a client over a loaded model.</summary>
    /// <param name="model">The base model (not disposed by the client unless <paramref name="ownsModel"/>).</param>
    /// <param name="contributors">One or more contributors; each owns the modules it announces.</param>
    /// <param name="combineMode">How deltas are combined.</param>
    /// <param name="sessionId">Session id (A-Z a-z 0-9 _ -, 1–64 characters); null for a random one.</param>
    /// <param name="ownsModel">Dispose the model with the client.</param>
    /// <param name="requestTimeout">Time limit of one lora_forward exchange (default 2 minutes).</param>
    /// <exception cref="ArgumentException">No contributor, a contributor listed twice, or a bad session id.</exception>
    public BaseModelClient(CausalLanguageModel model, IEnumerable<ContributorEndpoint> contributors, CombineMode combineMode = CombineMode.AddDelta,
        string? sessionId = null, bool ownsModel = false, TimeSpan? requestTimeout = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        ArgumentNullException.ThrowIfNull(contributors);
        var list = contributors.ToList();
        if (list.Count == 0) throw new ArgumentException("At least one contributor is needed.", nameof(contributors));
        var dup = list.GroupBy(c => c).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"Contributor {dup.Key} is listed twice.", nameof(contributors));
        SessionId = sessionId ?? NewSessionId();
        var ok = ArtifactNames.validateSessionId(SessionId);
        if (ok.IsError) throw new ArgumentException(ok.ErrorValue, nameof(sessionId));
        CombineMode = combineMode;
        _ownsModel = ownsModel;
        _connections = list.Select(c => new ContributorConnection(c, requestTimeout)).ToList();
    }

    /// <summary>Loads the base model (folder or Hugging Face cache name) and creates a client that owns it.</summary>
    /// <param name="baseModel">Base model folder or cached repository id.</param>
    /// <param name="contributors">One or more contributors.</param>
    /// <param name="combineMode">How deltas are combined.</param>
    /// <param name="sessionId">Session id; null for a random one.</param>
    /// <returns>The client (dispose it to release the model).</returns>
    /// <exception cref="ModelNotFoundException">The model is not on this machine.</exception>
    /// <exception cref="ModelFormatException">The model is malformed.</exception>
    /// <exception cref="ArgumentException">No contributor, a contributor listed twice, or a bad session id.</exception>
    public static BaseModelClient Load(string baseModel, IEnumerable<ContributorEndpoint> contributors, CombineMode combineMode = CombineMode.AddDelta, string? sessionId = null)
    {
        var model = CausalLanguageModel.Load(baseModel);
        try
        {
            return new BaseModelClient(model, contributors, combineMode, sessionId, ownsModel: true);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>A random session id: "s" and 32 hex digits from the OS CSPRNG.</summary>
    /// <returns>The id.</returns>
    public static string NewSessionId() => "s" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>
    /// How long <see cref="EndInferenceAsync"/> waits for each contributor's answer (null: the
    /// connection's default, 2 hours); a contributor that does not answer in time is reported as failed.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive (nor Timeout.InfiniteTimeSpan).</exception>
    public TimeSpan? EndInferenceTimeout
    {
        get => _endInferenceTimeout;
        set => _endInferenceTimeout = value is null || value == Timeout.InfiniteTimeSpan || (value > TimeSpan.Zero && value.Value.TotalMilliseconds <= int.MaxValue)
            ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The timeout must be positive (at most int.MaxValue ms) or Timeout.InfiniteTimeSpan.");
    }

    private TimeSpan? _endInferenceTimeout;

    /// <summary>The session id sent with every call.</summary>
    public string SessionId { get; }

    /// <summary>The combine mode.</summary>
    public CombineMode CombineMode { get; }

    /// <summary>
    /// The base model. Running it directly bypasses the client's lock and cancellation; use
    /// <see cref="LogitsAsync"/>, <see cref="TokenLossesAsync"/> and <see cref="GenerateAsync(IReadOnlyList{int}, GenerationOptions, Action{int}?, CancellationToken)"/> instead.
    /// </summary>
    public CausalLanguageModel Model => _model;

    /// <summary>
    /// The bounds a contributor's announced fixed-point configuration (checked in
    /// <see cref="InitAndPatchAsync"/>, before any activation is sent) and each module's scaling
    /// (checked on every response, before it is used or recorded) must respect; default
    /// <see cref="Api.ParameterPolicy.Standard"/>. Set it before <see cref="InitAndPatchAsync"/>;
    /// the verifier applies its own policy again.
    /// </summary>
    /// <exception cref="InvalidOperationException">Set after <see cref="InitAndPatchAsync"/>.</exception>
    public ParameterPolicy ParameterPolicy
    {
        get => _parameterPolicy;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (_initialized) throw new InvalidOperationException("Set the parameter policy before InitAndPatchAsync.");
            value.ToFSharp(); // validates the policy's own bounds now, not at the first module call
            _parameterPolicy = value;
        }
    }

    private ParameterPolicy _parameterPolicy = ParameterPolicy.Standard;

    /// <summary>
    /// Whom to trust when connecting to contributors whose endpoint has <see cref="ContributorEndpoint.UseTls"/>
    /// (null: the system's trusted roots and the host name). Set it before <see cref="InitAndPatchAsync"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Set after <see cref="InitAndPatchAsync"/>.</exception>
    public ContributorTlsOptions? TlsOptions
    {
        get => _tlsOptions;
        set
        {
            if (_initialized) throw new InvalidOperationException("Set the TLS options before InitAndPatchAsync.");
            _tlsOptions = value;
            foreach (var c in _connections) c.SetTlsOptions(value);
        }
    }

    private ContributorTlsOptions? _tlsOptions;

    /// <summary>Each patched module and the contributor that serves it (after <see cref="InitAndPatchAsync"/>).</summary>
    public IReadOnlyDictionary<string, ContributorEndpoint> ModuleOwners =>
        _owners.ToDictionary(kv => kv.Key, kv => kv.Value.Connection.Endpoint, StringComparer.Ordinal);

    /// <summary>Each contributor's manifest digest, as announced in its init_response (compare with the pinned manifests).</summary>
    public IReadOnlyDictionary<ContributorEndpoint, string> ManifestDigests { get; private set; } = new Dictionary<ContributorEndpoint, string>();

    /// <summary>
    /// Asks every contributor for its injection points and patches them into the model. A module
    /// announced by two contributors, or one the model lacks or whose widths differ, is an error
    /// (and nothing is patched).
    /// </summary>
    /// <exception cref="ContributorException">A contributor failed or announced an unusable module.</exception>
    /// <param name="cancellationToken">Cancels the requests.</param>
    /// <returns>Completes once the model is patched.</returns>
    /// <exception cref="InvalidOperationException">Already initialised.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public async Task InitAndPatchAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (_initialized) throw new InvalidOperationException("The client is already initialised.");
        var owners = new Dictionary<string, (ContributorConnection, InjectionPoint, FsFixedPoint.FixedPointConfig)>(StringComparer.Ordinal);
        var digests = new Dictionary<ContributorEndpoint, string>();
        foreach (var conn in _connections)
        {
            InitResponse init;
            try
            {
                init = await conn.InitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or TimeoutException or WireProtocolException)
            {
                throw new ContributorException($"Contributor {conn.Endpoint}: init_request failed: {e.Message}", e);
            }
            // Refused before anything is sent: the contributor chose this configuration.
            if (_parameterPolicy.Check(init.FixedPoint) is { } refused)
                throw new ContributorException($"Contributor {conn.Endpoint} announced a fixed-point configuration outside the parameter policy: {refused}");
            digests[conn.Endpoint] = init.ManifestDigest;
            if (init.InjectionPoints.Count == 0) throw new ContributorException($"Contributor {conn.Endpoint} announced no injection points.");
            foreach (var p in init.InjectionPoints)
            {
                LinearModuleInfo info;
                try
                {
                    info = _model.GetLinearModule(p.ModuleName);
                }
                catch (ArgumentException e)
                {
                    throw new ContributorException($"Contributor {conn.Endpoint} announced '{p.ModuleName}', which the base model does not have: {e.Message}");
                }
                if (info.InFeatures != p.InDim || info.OutFeatures != p.OutDim)
                    throw new ContributorException($"Contributor {conn.Endpoint} announced '{p.ModuleName}' as {p.InDim}→{p.OutDim}, but the model's module is {info.InFeatures}→{info.OutFeatures}.");
                if (owners.TryGetValue(info.Name, out var other))
                    throw new ContributorException($"Module '{info.Name}' is announced by both {other.Item1.Endpoint} and {conn.Endpoint}; each module must have one contributor.");
                owners[info.Name] = (conn, p, init.FixedPoint.ToFSharp());
            }
        }
        foreach (var (name, owner) in owners)
        {
            _owners[name] = owner;
            _model.Patch(name, (input, baseOutput) => OnModuleCall(name, input, baseOutput));
        }
        ManifestDigests = digests;
        _initialized = true;
    }

    /// <summary>
    /// The causal-LM loss of <paramref name="text"/> with every patched module served by its
    /// contributor. Runs the model on a worker thread; module calls block that thread on the
    /// network (there is no synchronization context, so this cannot deadlock).
    /// </summary>
    /// <param name="text">The text (tokenized with the model's tokenizer).</param>
    /// <param name="cancellationToken">Cancels the requests to the contributors.</param>
    /// <returns>The mean next-token cross-entropy.</returns>
    /// <exception cref="ContributorException">A contributor failed or answered inconsistently.</exception>
    /// <exception cref="InvalidOperationException"><see cref="InitAndPatchAsync"/> was not called.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public Task<double> ForwardLossAsync(string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return RunLockedAsync(() => _model.Loss(text), cancellationToken);
    }

    /// <summary>As <see cref="ForwardLossAsync(string, CancellationToken)"/>, on token ids.</summary>
    /// <param name="tokenIds">At least two token ids.</param>
    /// <param name="cancellationToken">Cancels the requests to the contributors.</param>
    /// <returns>The mean next-token cross-entropy.</returns>
    /// <exception cref="ArgumentException">Fewer than two tokens, or ids outside the vocabulary.</exception>
    /// <exception cref="ContributorException">A contributor failed or answered inconsistently.</exception>
    /// <exception cref="InvalidOperationException"><see cref="InitAndPatchAsync"/> was not called.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public Task<double> LossAsync(IReadOnlyList<int> tokenIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tokenIds);
        var ids = tokenIds.ToArray();
        return RunLockedAsync(() => _model.Loss(ids), cancellationToken);
    }

    /// <summary>The per-token next-token cross-entropies (n−1 values for n ids) with every patched module served.</summary>
    /// <param name="tokenIds">At least two token ids.</param>
    /// <param name="cancellationToken">Cancels the requests to the contributors.</param>
    /// <returns>Element t is −log p(ids[t+1] | ids[0..t]).</returns>
    /// <exception cref="ArgumentException">Fewer than two tokens, or ids outside the vocabulary.</exception>
    /// <exception cref="ContributorException">A contributor failed or answered inconsistently.</exception>
    /// <exception cref="InvalidOperationException"><see cref="InitAndPatchAsync"/> was not called.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public Task<double[]> TokenLossesAsync(IReadOnlyList<int> tokenIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tokenIds);
        var ids = tokenIds.ToArray();
        return RunLockedAsync(() => _model.TokenLosses(ids), cancellationToken);
    }

    /// <summary>The logits ([token][vocab]) of a token sequence with every patched module served.</summary>
    /// <param name="tokenIds">At least one token id.</param>
    /// <param name="cancellationToken">Cancels the requests to the contributors.</param>
    /// <returns>The logits.</returns>
    /// <exception cref="ArgumentException">Empty or too long a sequence, or ids outside the vocabulary.</exception>
    /// <exception cref="ContributorException">A contributor failed or answered inconsistently.</exception>
    /// <exception cref="InvalidOperationException"><see cref="InitAndPatchAsync"/> was not called.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public Task<double[][]> LogitsAsync(IReadOnlyList<int> tokenIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tokenIds);
        var ids = tokenIds.ToArray();
        return RunLockedAsync(() => _model.Logits(ids), cancellationToken);
    }

    /// <summary>
    /// Generates tokens after a prompt (see <see cref="CausalLanguageModel.Generate"/>): the prompt runs
    /// once, then every new token runs on one row, so each patched module is called once for the
    /// prompt and once per new token, and each call is served, checked and recorded like any other.
    /// </summary>
    /// <param name="promptIds">The prompt ids.</param>
    /// <param name="options">Length and sampling (greedy by default).</param>
    /// <param name="onToken">Called on the model's worker thread with each new token as soon as it is chosen.</param>
    /// <param name="cancellationToken">Cancels between tokens and the requests to the contributors.</param>
    /// <returns>The new tokens.</returns>
    /// <exception cref="ArgumentException">Bad prompt or options.</exception>
    /// <exception cref="ContributorException">A contributor failed or answered inconsistently.</exception>
    /// <exception cref="InvalidOperationException"><see cref="InitAndPatchAsync"/> was not called.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public Task<IReadOnlyList<int>> GenerateAsync(IReadOnlyList<int> promptIds, GenerationOptions options, Action<int>? onToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(promptIds);
        ArgumentNullException.ThrowIfNull(options);
        var ids = promptIds.ToArray();
        return RunLockedAsync(() => _model.Generate(ids, options, onToken, cancellationToken), cancellationToken);
    }

    /// <summary>As <see cref="GenerateAsync(IReadOnlyList{int}, GenerationOptions, Action{int}?, CancellationToken)"/>, on a text prompt tokenized with the model's tokenizer.</summary>
    /// <param name="prompt">The prompt text.</param>
    /// <param name="options">Length and sampling (greedy by default).</param>
    /// <param name="onToken">Called with each new token as soon as it is chosen.</param>
    /// <param name="cancellationToken">Cancels between tokens and the requests to the contributors.</param>
    /// <returns>The new tokens.</returns>
    /// <exception cref="InvalidOperationException">The model has no tokenizer, or <see cref="InitAndPatchAsync"/> was not called.</exception>
    /// <exception cref="ContributorException">A contributor failed or answered inconsistently.</exception>
    public Task<IReadOnlyList<int>> GenerateFromTextAsync(string prompt, GenerationOptions options, Action<int>? onToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        return GenerateAsync(_model.Encode(prompt), options, onToken, cancellationToken);
    }

    // One forward pass (or generation) at a time, on a worker thread: module calls block that thread
    // on the network (there is no synchronization context, so this cannot deadlock).
    private async Task<T> RunLockedAsync<T>(Func<T> run, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (!_initialized) throw new InvalidOperationException("Call InitAndPatchAsync first.");
        await _forwardLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _forwardToken = cancellationToken;
            return await Task.Run(run, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _forwardToken = default;
            _forwardLock.Release();
        }
    }

    private Tensor OnModuleCall(string name, Tensor input, Tensor baseOutput)
    {
        var (conn, point, cfg) = _owners[name];
        long[] inShape = input.shape.ToArray();
        if (inShape.Length == 1) inShape = [1, inShape[0]];
        var rows = TensorRows.ToRows(input);
        // B's own quantization of what it sends (the contributor recomputes the same integers).
        var quantized = ContributorCall.quantizeRows(cfg, rows);
        if (quantized.IsError)
        {
            var f = quantized.ErrorValue;
            throw new ContributorException($"Module '{name}': input row {f.Row}, element {f.Column} cannot be quantized: {f.Reason}");
        }
        var x = quantized.ResultValue;
        long expectedIndex;
        lock (_transcriptGate)
        {
            _nextIndex.TryGetValue(name, out expectedIndex);
        }
        LoraForwardResponse resp;
        try
        {
            // Blocking is safe here: this runs on the worker thread of ForwardLossAsync and the
            // connection code never needs that thread back (ConfigureAwait(false) throughout).
            resp = conn.LoraForwardAsync(SessionId, point.ModuleName, inShape, rows, _forwardToken).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is IOException or TimeoutException or WireProtocolException)
        {
            throw new ContributorException($"Module '{name}' (contributor {conn.Endpoint}): {e.Message}", e);
        }
        var request = new ContributorCall.Request(SessionId, point.ModuleName, expectedIndex, inShape, point.OutDim, cfg);
        var answer = new ContributorCall.Response(resp.SessionId, resp.SubmoduleName, resp.InvocationIndex, resp.InputShape, resp.OutputShape,
            resp.FixedPoint.ToFSharp(), resp.ScalingNum, resp.ScalingDen, resp.QDelta, resp.Output);
        var checkedAnswer = ContributorCall.checkResponse(_parameterPolicy.ToFSharp(), request, x, answer);
        if (checkedAnswer.IsError)
        {
            throw checkedAnswer.ErrorValue switch
            {
                ContributorCall.ResponseFailure.OutsidePolicy p =>
                    new ContributorException($"Contributor {conn.Endpoint} answered module '{name}' with parameters outside the parameter policy: {p.Item}"),
                ContributorCall.ResponseFailure.Inconsistent i =>
                    new ContributorException($"Contributor {conn.Endpoint} answered module '{name}' inconsistently: {i.Item}."),
                _ => new InvalidOperationException("unknown response failure"),
            };
        }
        var (entry, deltaValues) = checkedAnswer.ResultValue;
        lock (_transcriptGate)
        {
            // Recorded under the name the contributor announced (and records the call under).
            // The entry owns these arrays: x is ours and QDelta came off the wire for this call only.
            _entries.Add(new InferenceTranscriptEntry(entry));
            _nextIndex[name] = expectedIndex + 1;
        }
        var delta = TensorRows.FromRows(deltaValues, baseOutput.shape, baseOutput.dtype);
        return CombineMode == CombineMode.AddDelta ? baseOutput.add(delta) : delta;
    }

    /// <summary>The transcript so far: B's own record of every call (quantized input, received q_delta).</summary>
    /// <returns>A snapshot; later calls do not change it.</returns>
    public InferenceTranscript GetTranscript()
    {
        lock (_transcriptGate) return InferenceTranscript.FromEntries(_entries.ToList());
    }

    /// <summary>Writes the transcript so far as canonical JSON (the folder is created if needed).</summary>
    /// <param name="path">Where to write it.</param>
    /// <exception cref="IOException">It cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">It may not be written.</exception>
    public void WriteTranscript(string path) => GetTranscript().Write(path);

    /// <summary>As <see cref="WriteTranscript"/>, writing asynchronously.</summary>
    /// <param name="path">Where to write it.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The write.</returns>
    /// <exception cref="IOException">It cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">It may not be written.</exception>
    public Task WriteTranscriptAsync(string path, CancellationToken cancellationToken = default) =>
        GetTranscript().WriteAsync(path, cancellationToken);

    /// <summary>
    /// Tells every contributor that the session is over (each proves its part). Every contributor
    /// is asked even if one fails; the outcomes say which succeeded. A contributor that failed to
    /// prove does not throw here: check the result, e.g. with
    /// <see cref="EndInferenceOutcomes.EnsureAllSucceeded"/>, which throws for any failure.
    /// </summary>
    /// <param name="cancellationToken">Cancels the requests.</param>
    /// <returns>One outcome per contributor, in the order they were given.</returns>
    /// <exception cref="InvalidOperationException"><see cref="InitAndPatchAsync"/> was not called.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public async Task<IReadOnlyList<EndInferenceOutcome>> EndInferenceAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (!_initialized) throw new InvalidOperationException("Call InitAndPatchAsync first.");
        var progress = ProofProgress;
        var tasks = _connections.Select(async conn =>
        {
            using var answered = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var polling = progress is null ? Task.CompletedTask : PollProofProgressAsync(conn, progress, answered.Token);
            try
            {
                var r = await conn.EndInferenceAsync(SessionId, EndInferenceTimeout ?? conn.EndInferenceTimeout, cancellationToken).ConfigureAwait(false);
                return new EndInferenceOutcome(conn.Endpoint, r, null);
            }
            catch (Exception e) when (e is IOException or TimeoutException or WireProtocolException or InvalidOperationException)
            {
                return new EndInferenceOutcome(conn.Endpoint, null, WireMessages.Escape(e.Message, 4096))
                {
                    ErrorCode = e is WireProtocolException { IsErrorResponse: true } w ? w.Code : WireErrorCode.Unspecified,
                };
            }
            finally
            {
                await answered.CancelAsync().ConfigureAwait(false);
                await polling.ConfigureAwait(false);
            }
        }).ToList();
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    /// <summary>
    /// Receives each contributor's proving progress while <see cref="EndInferenceAsync"/> waits
    /// (from a pool thread; null, the default: none). Every <see cref="ProgressPollInterval"/> the
    /// client asks each contributor (<c>proof_progress</c>, on a short-lived second connection) and
    /// reports what changed; a contributor that does not know <c>proof_progress</c> (it answers
    /// <see cref="WireErrorCode.UnknownRequestType"/>) is not asked again.
    /// </summary>
    public IProgress<ContributorProofProgress>? ProofProgress { get; set; }

    /// <summary>How often <see cref="EndInferenceAsync"/> asks for progress (tests shorten it).</summary>
    internal TimeSpan ProgressPollInterval { get; set; } = TimeSpan.FromSeconds(2);

    private async Task PollProofProgressAsync(ContributorConnection conn, IProgress<ContributorProofProgress> progress, CancellationToken stop)
    {
        ProofProgressResponse? last = null;
        try
        {
            while (true)
            {
                await Task.Delay(ProgressPollInterval, stop).ConfigureAwait(false);
                ProofProgressResponse r;
                try
                {
                    r = await conn.ProofProgressAsync(SessionId, stop).ConfigureAwait(false);
                }
                catch (WireProtocolException e) when (e.Code == WireErrorCode.UnknownRequestType)
                {
                    return; // a contributor from before proof_progress: it still answers end_inference
                }
                catch (Exception e) when (e is WireProtocolException or IOException or TimeoutException)
                {
                    // Not accepted yet (session_not_proving), just finished (session_ended), a passing
                    // failure, or a codeless error from a zklora.wire.v2 contributor: a v2 contributor
                    // that knows proof_progress answers it, and one that does not costs one short
                    // request per interval until the end_inference answer, which decides either way.
                    continue;
                }
                if (r != last)
                {
                    last = r;
                    progress.Report(new ContributorProofProgress(conn.Endpoint, r.State, r.Done, r.Total));
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // The end_inference answer arrived (or the caller cancelled): polling is over.
        }
    }

    /// <summary>Unpatches the model, closes the connections and disposes an owned model.</summary>
    /// <returns>Completes once everything is released.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        foreach (var name in _owners.Keys) _model.Unpatch(name);
        foreach (var c in _connections) await c.DisposeAsync().ConfigureAwait(false);
        if (_ownsModel) _model.Dispose();
    }

    /// <summary>Unpatches the model, closes the connections and disposes an owned model.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        foreach (var name in _owners.Keys) _model.Unpatch(name);
        foreach (var c in _connections) c.Dispose();
        if (_ownsModel) _model.Dispose();
    }
}
