using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace ZkLora.Model;

/// <summary>
/// A Hugging Face causal language model on TorchSharp, in eval mode (no dropout), chosen from
/// <c>config.json</c>'s <c>model_type</c> by <see cref="Load"/>: <see cref="Gpt2Model"/> for <c>gpt2</c>,
/// <see cref="LlamaFamilyModel"/> for <c>llama</c>, <c>mistral</c>, <c>qwen2</c> and <c>phi3</c>. Every
/// linear layer is addressable by its PyTorch module path (as PEFT names it) and can be patched with an
/// output callback. Not thread-safe: run one forward pass at a time per instance.
/// </summary>
public abstract class CausalLanguageModel : IDisposable
{
    private readonly List<LinearModule> _linears = new();
    private readonly Dictionary<string, LinearModule> _linearByName = new(StringComparer.Ordinal);
    private bool _disposed;

    private protected CausalLanguageModel()
    {
    }

    /// <summary>The model_type this instance implements (<c>gpt2</c>, <c>llama</c>, <c>mistral</c>, <c>qwen2</c>, <c>phi3</c>).</summary>
    public abstract string ModelType { get; }

    /// <summary>Vocabulary size (rows of the logits' last dimension).</summary>
    public abstract int VocabSize { get; }

    /// <summary>Longest sequence the model accepts (GPT-2's n_positions; max_position_embeddings otherwise).</summary>
    public abstract int MaxPositions { get; }

    /// <summary>Number of transformer blocks.</summary>
    public abstract int LayerCount { get; }

    /// <summary>Precision of activations (and of weights, except narrow checkpoints kept narrow; see <see cref="LlamaFamilyModel"/>).</summary>
    public abstract ModelPrecision Precision { get; }

    /// <summary>The folder the model was loaded from, if any.</summary>
    public abstract string? Directory { get; }

    /// <summary>Number of distinct parameters (tied embeddings counted once).</summary>
    public abstract long ParameterCount { get; }

    /// <summary>The end-of-sequence token id from the config, if any (stops generation).</summary>
    public abstract int? EosTokenId { get; }

    /// <summary>Ids that end generation (every <c>eos_token_id</c> of the config).</summary>
    private protected virtual IReadOnlyCollection<int> StopTokenIds => EosTokenId is int e ? new[] { e } : Array.Empty<int>();

    /// <summary>The tokenizer from the model folder, or null when it has none.</summary>
    public abstract ITextTokenizer? TextTokenizer { get; }

    /// <summary>Names of all linear modules, in forward order.</summary>
    public IReadOnlyList<string> LinearModuleNames => _linears.Select(m => m.Name).ToList();

    /// <summary>All linear modules, in forward order.</summary>
    public IReadOnlyList<LinearModuleInfo> LinearModules => _linears.Select(m => m.Info).ToList();

    /// <summary>Names of the modules that currently have a callback.</summary>
    public IReadOnlyList<string> PatchedModuleNames => _linears.Where(m => m.Callback is not null).Select(m => m.Name).ToList();

    private protected bool IsDisposed => _disposed;

    private protected LinearModule AddLinear(string name, Tensor weight, Tensor? bias, WeightLayout layout)
    {
        var m = new LinearModule(name, weight, bias, layout);
        _linears.Add(m);
        _linearByName.Add(name, m);
        return m;
    }

    private protected LinearModule LinearByName(string name) => _linearByName[name];

    /// <summary>Other spellings a user may give for a module (GPT-2: without <c>transformer.</c>).</summary>
    private protected virtual IEnumerable<string> Aliases(string moduleName) => Array.Empty<string>();

    /// <summary>One line naming the model's linear modules, for error messages.</summary>
    private protected abstract string LinearModuleSummary { get; }

    /// <summary>Describes one linear module.</summary>
    /// <exception cref="ArgumentException">No such module; the message lists close names.</exception>
    public LinearModuleInfo GetLinearModule(string moduleName) => Resolve(moduleName).Info;

    /// <summary>
    /// Routes a linear module's output through <paramref name="callback"/>: on every forward pass it is
    /// called with the module's input (batch, tokens, in) and its base output (batch, tokens, out), and
    /// the tensor it returns (same shape) replaces the output. This is how a base-model user sends a
    /// LoRA injection point's activations to a contributor and adds the returned delta. Tensors passed
    /// to or created by the callback are disposed when the forward pass ends; copy out what must outlive it.
    /// </summary>
    /// <param name="moduleName">PyTorch module path, e.g. <c>transformer.h.0.attn.c_attn</c> or <c>model.layers.0.self_attn.q_proj</c>.</param>
    /// <param name="callback">(input, base output) → output.</param>
    /// <exception cref="ArgumentException">No such module; the message lists close names.</exception>
    /// <exception cref="InvalidOperationException">The module is already patched.</exception>
    public void Patch(string moduleName, Func<Tensor, Tensor, Tensor> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var m = Resolve(moduleName);
        if (m.Callback is not null) throw new InvalidOperationException($"'{m.Name}' is already patched; unpatch it first.");
        m.Callback = callback;
    }

    /// <summary>Removes a module's callback. Returns false if it had none.</summary>
    /// <exception cref="ArgumentException">No such module.</exception>
    public bool Unpatch(string moduleName)
    {
        var m = Resolve(moduleName);
        bool had = m.Callback is not null;
        m.Callback = null;
        return had;
    }

    /// <summary>Removes every callback.</summary>
    public void UnpatchAll()
    {
        foreach (var m in _linears) m.Callback = null;
    }

    private protected LinearModule Resolve(string moduleName)
    {
        ArgumentNullException.ThrowIfNull(moduleName);
        if (_linearByName.TryGetValue(moduleName, out var m)) return m;
        foreach (var alias in Aliases(moduleName))
            if (_linearByName.TryGetValue(alias, out m)) return m;
        var spellings = new[] { moduleName }.Concat(Aliases(moduleName)).ToList();
        var close = _linears.Select(x => x.Name)
            .Select(n => (Name: n, Distance: spellings.Min(s => Levenshtein(n, s))))
            .Where(x => x.Distance <= Math.Max(3, moduleName.Length / 3))
            .OrderBy(x => x.Distance).ThenBy(x => x.Name, NaturalNameComparer.Instance).Take(5).Select(x => x.Name).ToList();
        string suggestion = close.Count > 0 ? $" Did you mean: {string.Join(", ", close)}?" : "";
        throw new ArgumentException($"The model has no linear module '{moduleName}'.{suggestion} {LinearModuleSummary}", nameof(moduleName));
    }

    private static int Levenshtein(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) prev[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }

    /// <summary>
    /// Runs the model: token ids (tokens) or (batch, tokens), int64 → logits (tokens, vocab) or
    /// (batch, tokens, vocab) in the model's precision. The caller owns (disposes) the result.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong dtype/rank, empty or too long a sequence, or an id outside the vocabulary.</exception>
    public abstract Tensor Forward(Tensor inputIds);

    /// <summary>Checks ids and returns (ids as (batch, tokens), whether the input was unbatched).</summary>
    private protected (Tensor Ids, bool Unbatched) CheckIds(Tensor inputIds, long pastTokens = 0)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (inputIds.dtype != ScalarType.Int64) throw new ArgumentException($"Token ids must be int64, not {inputIds.dtype}.", nameof(inputIds));
        if (inputIds.dim() is not (1 or 2)) throw new ArgumentException("Token ids must have shape (tokens) or (batch, tokens).", nameof(inputIds));
        long tokens = inputIds.shape[^1];
        if (tokens < 1 || inputIds.numel() == 0) throw new ArgumentException("The token sequence is empty.", nameof(inputIds));
        if (pastTokens + tokens > MaxPositions) throw new ArgumentException($"{pastTokens + tokens} tokens exceed the model's {MaxPositions} positions.", nameof(inputIds));
        long min = inputIds.min().item<long>(), max = inputIds.max().item<long>();
        if (min < 0 || max >= VocabSize)
            throw new ArgumentException($"Token id {(min < 0 ? min : max)} is outside the vocabulary (0..{VocabSize - 1}).", nameof(inputIds));
        bool unbatched = inputIds.dim() == 1;
        return (unbatched ? inputIds.unsqueeze(0) : inputIds, unbatched);
    }

    /// <summary>Logits for one sequence, as [token][vocab] doubles.</summary>
    /// <exception cref="ArgumentException">Empty, too long, or ids outside the vocabulary.</exception>
    public double[][] Logits(IReadOnlyList<int> tokenIds)
    {
        using var scope = torch.NewDisposeScope();
        var logits = Forward(ToTensor(tokenIds)).to_type(ScalarType.Float64);
        var flat = logits.data<double>().ToArray();
        int v = VocabSize;
        return Enumerable.Range(0, tokenIds.Count).Select(t => flat.AsSpan(t * v, v).ToArray()).ToArray();
    }

    /// <summary>
    /// Causal-LM loss as Hugging Face computes it with labels = input ids: the mean cross-entropy of the
    /// logits at positions 0..n-2 against the ids at positions 1..n-1.
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than two tokens, or invalid ids.</exception>
    public double Loss(IReadOnlyList<int> tokenIds) => TokenLosses(tokenIds).Average();

    /// <summary>
    /// The per-token next-token cross-entropies: element t is −log p(ids[t+1] | ids[0..t]), so there are
    /// n−1 of them; their mean is <see cref="Loss(IReadOnlyList{int})"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than two tokens, or invalid ids.</exception>
    public double[] TokenLosses(IReadOnlyList<int> tokenIds)
    {
        ArgumentNullException.ThrowIfNull(tokenIds);
        if (tokenIds.Count < 2) throw new ArgumentException("The loss needs at least two tokens.", nameof(tokenIds));
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var logits = Forward(ToTensor(tokenIds));
        long n = tokenIds.Count;
        var predictions = logits.narrow(0, 0, n - 1).to_type(ScalarType.Float64);
        var targets = torch.tensor(tokenIds.Skip(1).Select(i => (long)i).ToArray(), dtype: ScalarType.Int64);
        var losses = torch.nn.functional.cross_entropy(predictions, targets, reduction: torch.nn.Reduction.None);
        return losses.data<double>().ToArray();
    }

    /// <summary>The causal-LM loss of a text, tokenized with the model's tokenizer.</summary>
    /// <exception cref="InvalidOperationException">The model folder had no tokenizer.</exception>
    public double Loss(string text) => Loss(Encode(text));

    /// <summary>Tokenizes text with the model's tokenizer (adding BOS where the tokenizer config says so).</summary>
    /// <exception cref="InvalidOperationException">The model folder had no tokenizer.</exception>
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokenizer = TextTokenizer ?? throw new InvalidOperationException($"This model ({Directory ?? ModelType}) has no tokenizer; pass token ids instead.");
        return tokenizer.Encode(text);
    }

    private protected static Tensor ToTensor(IReadOnlyList<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        TorchRuntime.EnsureLoaded();
        return torch.tensor(ids.Select(i => (long)i).ToArray(), dtype: ScalarType.Int64);
    }

    /// <summary>A key/value cache for incremental decoding, or null when the model recomputes the whole sequence.</summary>
    private protected virtual KeyValueCache? NewCache() => null;

    /// <summary>Runs (batch, tokens) ids after the cached tokens, extending the cache; returns (batch, tokens, vocab) logits.</summary>
    private protected virtual Tensor ForwardCached(Tensor ids, KeyValueCache cache) =>
        throw new NotSupportedException($"{ModelType} has no key/value cache.");

    /// <summary>Whether <see cref="Generate"/> keeps a key/value cache (each new token then runs the model, and every patched module, on one row).</summary>
    public bool HasKeyValueCache
    {
        get
        {
            using var cache = NewCache();
            return cache is not null;
        }
    }

    /// <summary>
    /// Generates up to <see cref="GenerationOptions.MaxNewTokens"/> tokens after <paramref name="promptIds"/>:
    /// the prompt runs once, then each new token runs alone against the key/value cache (models
    /// without a cache rerun the whole sequence). Greedy (arg-max) when the temperature is 0, else
    /// sampled from softmax(logits / temperature) restricted to the smallest top-p nucleus, with a
    /// deterministic generator seeded by <see cref="GenerationOptions.Seed"/>. Stops at any of the
    /// config's EOS tokens (included in the result) when <see cref="GenerationOptions.StopAtEos"/>, or
    /// at the model's position limit.
    /// </summary>
    /// <param name="promptIds">The prompt (at least one token).</param>
    /// <param name="options">Length and sampling.</param>
    /// <param name="onToken">Called with each new token as soon as it is chosen.</param>
    /// <param name="cancellationToken">Checked before each step.</param>
    /// <returns>The new tokens (not the prompt).</returns>
    /// <exception cref="ArgumentException">Empty or too long a prompt, ids outside the vocabulary, or bad options.</exception>
    public IReadOnlyList<int> Generate(IReadOnlyList<int> promptIds, GenerationOptions options, Action<int>? onToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(promptIds);
        ArgumentNullException.ThrowIfNull(options);
        ObjectDisposedException.ThrowIf(_disposed, this);
        options.Validate();
        if (promptIds.Count == 0) throw new ArgumentException("The prompt is empty.", nameof(promptIds));
        if (promptIds.Count >= MaxPositions) throw new ArgumentException($"The prompt's {promptIds.Count} tokens leave no room in the model's {MaxPositions} positions.", nameof(promptIds));
        TorchRuntime.EnsureLoaded();
        var rng = new SplitMix64(options.Seed);
        var sequence = promptIds.ToList();
        var generated = new List<int>();
        var stop = StopTokenIds;
        using var cache = NewCache();
        IReadOnlyList<int> step = promptIds;
        while (generated.Count < options.MaxNewTokens && sequence.Count < MaxPositions)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double[] last;
            using (var scope = torch.NewDisposeScope())
            using (var noGrad = torch.no_grad())
            {
                Tensor logits;
                if (cache is null) logits = Forward(ToTensor(sequence)).unsqueeze(0);
                else
                {
                    var (ids, _) = CheckIds(ToTensor(step), cache.Length);
                    logits = ForwardCached(ids, cache);
                }
                last = logits[0, -1].to_type(ScalarType.Float64).data<double>().ToArray();
            }
            int token = options.Temperature == 0 ? ArgMax(last) : Sample(last, options, ref rng);
            generated.Add(token);
            sequence.Add(token);
            onToken?.Invoke(token);
            if (options.StopAtEos && stop.Contains(token)) break;
            step = new[] { token };
        }
        return generated;
    }

    private static int ArgMax(double[] logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
            if (logits[i] > logits[best]) best = i;
        return best;
    }

    private static int Sample(double[] logits, GenerationOptions options, ref SplitMix64 rng)
    {
        double max = logits.Max();
        var p = logits.Select(v => Math.Exp((v - max) / options.Temperature)).ToArray();
        double z = p.Sum();
        var order = Enumerable.Range(0, p.Length).OrderByDescending(i => p[i]).ThenBy(i => i).ToList();
        // The nucleus: the most probable tokens until their mass reaches top_p (at least one).
        var kept = new List<int>();
        double mass = 0;
        foreach (int i in order)
        {
            kept.Add(i);
            mass += p[i] / z;
            if (mass >= options.TopP) break;
        }
        double keptMass = kept.Sum(i => p[i]);
        double u = rng.NextDouble() * keptMass;
        foreach (int i in kept)
        {
            u -= p[i];
            if (u < 0) return i;
        }
        return kept[^1];
    }

    /// <summary>Checks that every module of the adapter exists in this model with matching widths.</summary>
    /// <exception cref="ModelFormatException">A module is missing or its shape differs.</exception>
    public void CheckAdapter(LoraAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        var problems = new List<string>();
        foreach (var lm in adapter.Modules)
        {
            if (!_linearByName.TryGetValue(lm.Name, out var m)) { problems.Add($"'{lm.Name}' is not a linear module of this {ModelType} model"); continue; }
            if (m.InFeatures != lm.InFeatures || m.OutFeatures != lm.OutFeatures)
                problems.Add($"'{lm.Name}' is {m.InFeatures}→{m.OutFeatures} in the model but {lm.InFeatures}→{lm.OutFeatures} in the adapter");
        }
        if (problems.Count > 0) throw new ModelFormatException($"Adapter {adapter.Directory} does not fit this model: {string.Join("; ", problems)}.");
    }

    /// <summary>
    /// Loads a Hugging Face model folder (or a repository id in the local cache), choosing the
    /// implementation from <c>config.json</c>'s <c>model_type</c>.
    /// </summary>
    /// <exception cref="ModelNotFoundException">The folder or cached repository does not exist or lacks files.</exception>
    /// <exception cref="ModelFormatException">The files are malformed, the model_type or an option is not supported, or the weights do not match the config.</exception>
    public static CausalLanguageModel Load(string pathOrRepoId, Gpt2LoadOptions? options = null)
    {
        options ??= new Gpt2LoadOptions();
        string dir = HuggingFaceCache.Resolve(pathOrRepoId, options.Revision, options.HubDirectory);
        string configPath = Path.Combine(dir, "config.json");
        if (!File.Exists(configPath)) throw new ModelNotFoundException($"{dir} has no config.json; it is not a Hugging Face model folder.");
        string? modelType = ReadModelType(configPath);
        return modelType switch
        {
            null or "gpt2" => Gpt2Model.Load(dir, options),
            "llama" or "mistral" or "qwen2" or "phi3" => LlamaFamilyModel.Load(dir, options),
            _ => throw new ModelFormatException(
                $"{configPath}: model_type '{modelType}' is not supported; supported model types are gpt2, llama, mistral, qwen2 and phi3."),
        };
    }

    private static string? ReadModelType(string configPath)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(configPath));
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"{configPath}: config is not a JSON object.");
            if (!doc.RootElement.TryGetProperty("model_type", out var t) || t.ValueKind == JsonValueKind.Null) return null;
            return t.ValueKind == JsonValueKind.String ? t.GetString() : throw new ModelFormatException($"{configPath}: 'model_type' is not a string.");
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{configPath}: not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Releases the model's tensors.</summary>
    private protected abstract void ReleaseWeights();

    /// <summary>Releases the model's tensors.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        ReleaseWeights();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A text tokenizer of a model folder.</summary>
public interface ITextTokenizer
{
    /// <summary>Token ids of a text, with the special tokens the model's tokenizer adds (e.g. BOS).</summary>
    IReadOnlyList<int> Encode(string text);

    /// <summary>The text of token ids (special tokens omitted).</summary>
    string Decode(IEnumerable<int> ids);
}

/// <summary>Options of <see cref="CausalLanguageModel.Generate"/>.</summary>
public sealed record GenerationOptions
{
    /// <summary>Most tokens to generate (at least 1).</summary>
    public int MaxNewTokens { get; init; } = 32;

    /// <summary>Sampling temperature; 0 (the default) is greedy decoding.</summary>
    public double Temperature { get; init; }

    /// <summary>Nucleus size for sampling, in (0, 1]; 1 keeps every token.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Seed of the sampling generator (SplitMix64; same seed, same tokens).</summary>
    public ulong Seed { get; init; }

    /// <summary>Stop after the config's EOS token.</summary>
    public bool StopAtEos { get; init; } = true;

    internal void Validate()
    {
        if (MaxNewTokens < 1) throw new ArgumentException($"MaxNewTokens must be at least 1, not {MaxNewTokens}.");
        if (!(Temperature >= 0) || double.IsInfinity(Temperature)) throw new ArgumentException($"Temperature must be a finite number ≥ 0, not {Temperature}.");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"TopP must be in (0, 1], not {TopP}.");
    }
}

/// <summary>Per-layer keys and values of the tokens run so far (one shape for every architecture:
/// (batch, kv heads, tokens, head_dim) per layer, concatenated along the token axis).</summary>
internal sealed class KeyValueCache : IDisposable
{
    private readonly Tensor?[] _keys;
    private readonly Tensor?[] _values;

    public KeyValueCache(int layers)
    {
        _keys = new Tensor?[layers];
        _values = new Tensor?[layers];
    }

    /// <summary>Tokens cached.</summary>
    public long Length { get; set; }

    /// <summary>
    /// Prepends layer <paramref name="layer"/>'s cached keys and values to this step's and keeps
    /// the result (detached, outside any dispose scope) for the next step.
    /// </summary>
    public (Tensor Keys, Tensor Values) Extend(int layer, Tensor keys, Tensor values)
    {
        if (_keys[layer] is { } pastK) keys = torch.cat(new[] { pastK, keys }, 2);
        if (_values[layer] is { } pastV) values = torch.cat(new[] { pastV, values }, 2);
        var oldK = _keys[layer];
        var oldV = _values[layer];
        _keys[layer] = keys.detach().clone().DetachFromDisposeScope();
        _values[layer] = values.detach().clone().DetachFromDisposeScope();
        oldK?.Dispose();
        oldV?.Dispose();
        return (keys, values);
    }

    public void Dispose()
    {
        foreach (var t in _keys) t?.Dispose();
        foreach (var t in _values) t?.Dispose();
    }
}
