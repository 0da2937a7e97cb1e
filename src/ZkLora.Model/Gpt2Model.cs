using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace ZkLora.Model;

/// <summary>Floating-point precision the model computes in.</summary>
public enum ModelPrecision
{
    /// <summary>float32, as GPT-2 checkpoints are normally run.</summary>
    Float32,
    /// <summary>float64 (slower; useful for reference comparisons).</summary>
    Float64,
}

/// <summary>Options for <see cref="Gpt2Model.Load"/>.</summary>
public sealed record Gpt2LoadOptions
{
    /// <summary>Precision of weights and activations (F16/BF16/F32 checkpoints are widened exactly).</summary>
    public ModelPrecision Precision { get; init; } = ModelPrecision.Float32;

    /// <summary>Revision to use when the model is looked up in the Hugging Face cache.</summary>
    public string Revision { get; init; } = "main";

    /// <summary>Hugging Face hub cache folder to search; default <see cref="HuggingFaceCache.HubDirectory"/>.</summary>
    public string? HubDirectory { get; init; }
}

/// <summary>
/// A GPT-2 family causal language model (Hugging Face <c>GPT2LMHeadModel</c>: GPT-2, DistilGPT-2 and
/// compatible checkpoints) on TorchSharp, in eval mode (no dropout) and without a KV cache. Every
/// linear layer is addressable by its Hugging Face name and can be patched with an output callback.
/// Not thread-safe: run one forward pass at a time per instance.
/// </summary>
public sealed class Gpt2Model : CausalLanguageModel
{
    private sealed record Block(Tensor Ln1W, Tensor Ln1B, LinearModule CAttn, LinearModule AttnCProj, Tensor Ln2W, Tensor Ln2B, LinearModule CFc, LinearModule MlpCProj);

    // Canonical weight names (GPT2Model naming, no "transformer." prefix) → tensors owned by this model.
    private readonly Dictionary<string, Tensor> _weights;
    private readonly Block[] _blocks;
    private readonly LinearModule _lmHead;
    private readonly ScalarType _dtype;

    private Gpt2Model(Gpt2Config config, Dictionary<string, Tensor> weights, ModelPrecision precision, Gpt2Tokenizer? tokenizer, string? directory)
    {
        Config = config;
        _weights = weights;
        Precision = precision;
        _dtype = precision == ModelPrecision.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        Tokenizer = tokenizer;
        Directory = directory;

        _blocks = new Block[config.NLayer];
        for (int l = 0; l < config.NLayer; l++)
        {
            string p = $"h.{l}.";
            _blocks[l] = new Block(
                weights[p + "ln_1.weight"], weights[p + "ln_1.bias"],
                AddLinear($"transformer.h.{l}.attn.c_attn", weights[p + "attn.c_attn.weight"], weights[p + "attn.c_attn.bias"], WeightLayout.InOut),
                AddLinear($"transformer.h.{l}.attn.c_proj", weights[p + "attn.c_proj.weight"], weights[p + "attn.c_proj.bias"], WeightLayout.InOut),
                weights[p + "ln_2.weight"], weights[p + "ln_2.bias"],
                AddLinear($"transformer.h.{l}.mlp.c_fc", weights[p + "mlp.c_fc.weight"], weights[p + "mlp.c_fc.bias"], WeightLayout.InOut),
                AddLinear($"transformer.h.{l}.mlp.c_proj", weights[p + "mlp.c_proj.weight"], weights[p + "mlp.c_proj.bias"], WeightLayout.InOut));
        }
        var head = config.TieWordEmbeddings ? weights["wte.weight"] : weights["lm_head.weight"];
        _lmHead = AddLinear("lm_head", head, null, WeightLayout.OutIn);
    }

    /// <summary>The model's configuration.</summary>
    public Gpt2Config Config { get; }

    /// <summary>Precision of weights and activations.</summary>
    public override ModelPrecision Precision { get; }

    /// <summary>The tokenizer from the model folder (<c>vocab.json</c> + <c>merges.txt</c>), or null if it has none.</summary>
    public Gpt2Tokenizer? Tokenizer { get; }

    /// <inheritdoc/>
    public override ITextTokenizer? TextTokenizer => Tokenizer;

    /// <summary>The folder the model was loaded from, if any.</summary>
    public override string? Directory { get; }

    /// <summary>Number of distinct parameters (tied embeddings counted once).</summary>
    public override long ParameterCount => _weights.Values.Sum(t => t.numel());

    /// <inheritdoc/>
    public override string ModelType => "gpt2";

    /// <inheritdoc/>
    public override int VocabSize => Config.VocabSize;

    /// <inheritdoc/>
    public override int MaxPositions => Config.NPositions;

    /// <inheritdoc/>
    public override int LayerCount => Config.NLayer;

    /// <inheritdoc/>
    public override int? EosTokenId => Config.EosTokenId;

    private protected override IEnumerable<string> Aliases(string moduleName) => new[] { "transformer." + moduleName };

    private protected override string LinearModuleSummary =>
        $"Linear modules are transformer.h.{{0..{Config.NLayer - 1}}}.attn.c_attn, " +
        "transformer.h.N.attn.c_proj, transformer.h.N.mlp.c_fc, transformer.h.N.mlp.c_proj and lm_head (the transformer. prefix may be omitted).";

    /// <summary>
    /// Runs the model: token ids (tokens) or (batch, tokens), int64 → logits (tokens, vocab) or
    /// (batch, tokens, vocab) in the model's precision. The caller owns (disposes) the result.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong dtype/rank, empty or too long a sequence, or an id outside the vocabulary.</exception>
    public override Tensor Forward(Tensor inputIds)
    {
        TorchRuntime.EnsureLoaded();
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var (ids, unbatched) = CheckIds(inputIds);
        var logits = Run(ids, null);
        if (unbatched) logits = logits.squeeze(0);
        return logits.MoveToOuterDisposeScope();
    }

    private protected override KeyValueCache NewCache() => new(Config.NLayer);

    private protected override Tensor ForwardCached(Tensor ids, KeyValueCache cache) => Run(ids, cache);

    // ids: (batch, tokens), already checked. With a cache, positions continue after the cached tokens.
    private Tensor Run(Tensor ids, KeyValueCache? cache)
    {
        long tokens = ids.shape[1];
        long past = cache?.Length ?? 0, total = past + tokens;
        long batch = ids.shape[0], c = Config.NEmbd, heads = Config.NHead, d = Config.HeadDim;
        var eps = Config.LayerNormEpsilon;
        long[] normShape = { c };

        var wte = _weights["wte.weight"];
        var wpe = _weights["wpe.weight"];
        var positions = torch.arange(past, total, dtype: ScalarType.Int64);
        var h = wte.index_select(0, ids.reshape(-1)).reshape(batch, tokens, c).add(wpe.index_select(0, positions).unsqueeze(0));

        // Query i (absolute position past+i) may not attend to key j > past+i.
        var masked = torch.arange(0, total, dtype: ScalarType.Int64).unsqueeze(0).gt(positions.unsqueeze(1));
        double maskValue = _dtype == ScalarType.Float64 ? double.MinValue : float.MinValue;
        double scoreScale = Config.ScaleAttnWeights ? 1.0 / Math.Sqrt(d) : 1.0;

        for (int l = 0; l < _blocks.Length; l++)
        {
            var b = _blocks[l];
            var a = torch.nn.functional.layer_norm(h, normShape, b.Ln1W, b.Ln1B, eps);
            var qkv = b.CAttn.Forward(a);
            var parts = qkv.split(c, -1);
            var q = parts[0].reshape(batch, tokens, heads, d).transpose(1, 2);
            var k = parts[1].reshape(batch, tokens, heads, d).transpose(1, 2);
            var v = parts[2].reshape(batch, tokens, heads, d).transpose(1, 2);
            if (cache is not null) (k, v) = cache.Extend(l, k, v);
            var scores = q.matmul(k.transpose(-2, -1));
            double scale = scoreScale / (Config.ScaleAttnByInverseLayerIdx ? l + 1 : 1);
            if (scale != 1.0) scores = scores.mul(scale);
            scores = scores.masked_fill(masked, maskValue);
            var attn = scores.softmax(-1);
            var y = attn.matmul(v).transpose(1, 2).contiguous().reshape(batch, tokens, c);
            h = h.add(b.AttnCProj.Forward(y));

            var m = torch.nn.functional.layer_norm(h, normShape, b.Ln2W, b.Ln2B, eps);
            m = Activate(b.CFc.Forward(m));
            h = h.add(b.MlpCProj.Forward(m));
        }
        if (cache is not null) cache.Length = total;
        h = torch.nn.functional.layer_norm(h, normShape, _weights["ln_f.weight"], _weights["ln_f.bias"], eps);
        return _lmHead.Forward(h);
    }

    private Tensor Activate(Tensor x) => Config.Activation switch
    {
        // gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
        Gpt2Activation.GeluTanh => x.mul(0.5).mul(x.add(x.pow(3).mul(0.044715)).mul(Math.Sqrt(2.0 / Math.PI)).tanh().add(1.0)),
        Gpt2Activation.GeluExact => x.mul(0.5).mul(x.div(Math.Sqrt(2.0)).erf().add(1.0)),
        Gpt2Activation.Relu => x.relu(),
        _ => throw new InvalidOperationException($"Unknown activation {Config.Activation}."),
    };

    /// <summary>
    /// A new model whose weights have the adapter merged in, as PEFT's <c>merge_and_unload</c> does:
    /// W += scaling·(B·A) for (out, in) layers, W += scaling·(B·A)ᵀ for GPT-2's (in, out) Conv1D layers.
    /// </summary>
    public Gpt2Model WithMergedAdapter(LoraAdapter adapter)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        CheckAdapter(adapter);
        using var noGrad = torch.no_grad();
        var copy = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, t) in _weights) copy[name] = t.clone().DetachFromDisposeScope();
        foreach (var lm in adapter.Modules)
        {
            var m = LinearByName(lm.Name);
            string key = m.Name == "lm_head"
                ? (Config.TieWordEmbeddings ? "wte.weight" : "lm_head.weight")
                : m.Name["transformer.".Length..] + ".weight";
            using var scope = torch.NewDisposeScope();
            var a = torch.tensor(lm.A.SelectMany(r => r).ToArray(), new long[] { lm.Rank, lm.InFeatures }, ScalarType.Float64);
            var b = torch.tensor(lm.B.SelectMany(r => r).ToArray(), new long[] { lm.OutFeatures, lm.Rank }, ScalarType.Float64);
            var delta = b.matmul(a).mul(lm.Scaling.ToDouble());
            if (m.Layout == WeightLayout.InOut) delta = delta.t();
            var merged = copy[key].to_type(ScalarType.Float64).add(delta).to_type(_dtype);
            copy[key].Dispose();
            copy[key] = merged.DetachFromDisposeScope();
        }
        return new Gpt2Model(Config, copy, Precision, Tokenizer, Directory);
    }

    /// <summary>
    /// Loads a model folder (<c>config.json</c>, <c>model.safetensors</c> or a sharded
    /// <c>model.safetensors.index.json</c>, and optionally <c>vocab.json</c> + <c>merges.txt</c>), or a
    /// Hugging Face repository id found in the local cache (see <see cref="HuggingFaceCache"/>).
    /// Weight names may carry the <c>transformer.</c> prefix (GPT2LMHeadModel) or not (GPT2Model, as the
    /// original gpt2 files do).
    /// </summary>
    /// <exception cref="ModelNotFoundException">The folder or cached repository does not exist or lacks files.</exception>
    /// <exception cref="ModelFormatException">The files are malformed or do not match the config.</exception>
    public static new Gpt2Model Load(string pathOrRepoId, Gpt2LoadOptions? options = null)
    {
        options ??= new Gpt2LoadOptions();
        string dir = HuggingFaceCache.Resolve(pathOrRepoId, options.Revision, options.HubDirectory);
        string configPath = Path.Combine(dir, "config.json");
        if (!File.Exists(configPath)) throw new ModelNotFoundException($"{dir} has no config.json; it is not a Hugging Face model folder.");
        var config = Gpt2Config.Load(configPath);
        var files = CheckpointFiles.Open(dir);
        var tokenizer = Gpt2Tokenizer.ExistsIn(dir) ? Gpt2Tokenizer.Load(dir) : null;
        if (tokenizer != null && tokenizer.VocabularySize > config.VocabSize)
            throw new ModelFormatException($"{dir}: vocab.json has {tokenizer.VocabularySize} tokens but config.json's vocab_size is {config.VocabSize}.");
        TorchRuntime.EnsureLoaded();
        var weights = ReadWeights(dir, config, files, options.Precision);
        return new Gpt2Model(config, weights, options.Precision, tokenizer, dir);
    }

    private static Dictionary<string, Tensor> ReadWeights(string dir, Gpt2Config config, Dictionary<string, SafetensorsFile> files, ModelPrecision precision)
    {
        string prefix = files.ContainsKey("transformer.wte.weight") ? "transformer." : files.ContainsKey("wte.weight") ? "" :
            throw new ModelFormatException($"{dir}: the weights have neither 'transformer.wte.weight' nor 'wte.weight'; this is not a GPT-2 checkpoint.");
        long c = config.NEmbd, inner = config.NInner;
        var expected = new Dictionary<string, long[]>(StringComparer.Ordinal)
        {
            ["wte.weight"] = new[] { (long)config.VocabSize, c },
            ["wpe.weight"] = new[] { (long)config.NPositions, c },
            ["ln_f.weight"] = new[] { c },
            ["ln_f.bias"] = new[] { c },
        };
        for (int l = 0; l < config.NLayer; l++)
        {
            string p = $"h.{l}.";
            expected[p + "ln_1.weight"] = new[] { c };
            expected[p + "ln_1.bias"] = new[] { c };
            expected[p + "attn.c_attn.weight"] = new[] { c, 3 * c };
            expected[p + "attn.c_attn.bias"] = new[] { 3 * c };
            expected[p + "attn.c_proj.weight"] = new[] { c, c };
            expected[p + "attn.c_proj.bias"] = new[] { c };
            expected[p + "ln_2.weight"] = new[] { c };
            expected[p + "ln_2.bias"] = new[] { c };
            expected[p + "mlp.c_fc.weight"] = new[] { c, inner };
            expected[p + "mlp.c_fc.bias"] = new[] { inner };
            expected[p + "mlp.c_proj.weight"] = new[] { inner, c };
            expected[p + "mlp.c_proj.bias"] = new[] { c };
        }
        var keyOf = expected.Keys.ToDictionary(k => k, k => prefix + k, StringComparer.Ordinal);
        if (!config.TieWordEmbeddings)
        {
            expected["lm_head.weight"] = new[] { (long)config.VocabSize, c };
            keyOf["lm_head.weight"] = "lm_head.weight";
        }

        // Keys we know and ignore: the causal-mask buffers older checkpoints carry, and a tied lm_head copy.
        var unexpected = files.Keys.Where(k =>
        {
            if (keyOf.ContainsValue(k)) return false;
            if (k == "lm_head.weight") return false;
            string rel = k.StartsWith(prefix, StringComparison.Ordinal) ? k[prefix.Length..] : k;
            return !(rel.StartsWith("h.", StringComparison.Ordinal) && (rel.EndsWith(".attn.bias", StringComparison.Ordinal) || rel.EndsWith(".attn.masked_bias", StringComparison.Ordinal)));
        }).OrderBy(k => k, NaturalNameComparer.Instance).ToList();
        if (unexpected.Count > 0)
            throw new ModelFormatException($"{dir}: unexpected weights for a {config.NLayer}-layer GPT-2: {string.Join(", ", unexpected.Take(6))}{(unexpected.Count > 6 ? $" (+{unexpected.Count - 6} more)" : "")}.");

        var dtype = precision == ModelPrecision.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, shape) in expected)
            {
                string key = keyOf[name];
                if (!files.TryGetValue(key, out var file)) throw new ModelFormatException($"{dir}: weight '{key}' is missing.");
                var entry = file.Entry(key);
                if (!entry.Shape.SequenceEqual(shape))
                    throw new ModelFormatException($"{file.Path}: '{key}' has shape [{string.Join(", ", entry.Shape)}], expected [{string.Join(", ", shape)}] from config.json.");
                Tensor t;
                if (dtype == ScalarType.Float64)
                {
                    var values = file.ReadDoubles(key);
                    CheckpointFiles.CheckFinite(values.AsSpan(), file.Path, key);
                    t = torch.tensor(values, shape, ScalarType.Float64);
                }
                else
                {
                    var values = file.ReadSingles(key);
                    CheckpointFiles.CheckFinite(values.AsSpan(), file.Path, key);
                    t = torch.tensor(values, shape, ScalarType.Float32);
                }
                result[name] = t.DetachFromDisposeScope();
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    private protected override void ReleaseWeights()
    {
        foreach (var t in _weights.Values) t.Dispose();
    }
}
