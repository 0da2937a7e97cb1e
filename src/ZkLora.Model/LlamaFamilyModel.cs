using TorchSharp;
using static TorchSharp.torch;

namespace ZkLora.Model;

/// <summary>
/// The Llama-style decoder families of Hugging Face transformers — <c>LlamaForCausalLM</c> (Llama 2,
/// Llama 3.x with <c>llama3</c> rope scaling), <c>MistralForCausalLM</c> (optional sliding window),
/// <c>Qwen2ForCausalLM</c> (q/k/v biases; Qwen2 and Qwen2.5) and <c>Phi3ForCausalLM</c> (fused
/// <c>qkv_proj</c> and <c>gate_up_proj</c>) — on TorchSharp, computed as transformers does: RMSNorm
/// (x·rsqrt(mean(x²)+eps)·w), rotary embedding with the rotate-half convention, grouped-query
/// attention scaled by 1/√head_dim, SwiGLU MLP (down(silu(gate(x))·up(x))).
/// <para>
/// Weights: F32 checkpoints are kept in float32; F16 and BF16 checkpoints are kept in their own dtype
/// (no full-model float32 copy) and each weight is widened to float32 only while it is used, so the
/// resident size of a BF16 model is its file size. Activations are float32 (or float64 with
/// <see cref="ModelPrecision.Float64"/>, which widens every weight at load). Results therefore match
/// transformers run in float32 on the same weights, not transformers' own bf16 arithmetic.
/// </para>
/// Linear modules are named by their PyTorch paths (<c>model.layers.0.self_attn.q_proj</c>, …, <c>lm_head</c>).
/// </summary>
public sealed class LlamaFamilyModel : CausalLanguageModel
{
    private sealed record Layer(Tensor InputNorm, Tensor PostNorm,
        LinearModule? Q, LinearModule? K, LinearModule? V, LinearModule? Qkv, LinearModule O,
        LinearModule? Gate, LinearModule? Up, LinearModule? GateUp, LinearModule Down);

    private readonly Dictionary<string, Tensor> _weights;
    private readonly Layer[] _layers;
    private readonly LinearModule _lmHead;
    private readonly ScalarType _dtype;
    private readonly double[] _inverseFrequencies;

    private LlamaFamilyModel(LlamaConfig config, Dictionary<string, Tensor> weights, ModelPrecision precision, ITextTokenizer? tokenizer, string? directory)
    {
        Config = config;
        _weights = weights;
        Precision = precision;
        _dtype = precision == ModelPrecision.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        TextTokenizer = tokenizer;
        Directory = directory;
        _inverseFrequencies = config.InverseFrequencies();

        _layers = new Layer[config.NumHiddenLayers];
        for (int l = 0; l < config.NumHiddenLayers; l++)
        {
            string p = $"model.layers.{l}.";
            Tensor? B(string name) => weights.TryGetValue(p + name + ".bias", out var b) ? b : null;
            LinearModule L(string name) => AddLinear(p + name, weights[p + name + ".weight"], B(name), WeightLayout.OutIn);
            if (config.FusedProjections)
            {
                var qkv = L("self_attn.qkv_proj");
                var o = L("self_attn.o_proj");
                var gateUp = L("mlp.gate_up_proj");
                var down = L("mlp.down_proj");
                _layers[l] = new Layer(weights[p + "input_layernorm.weight"], weights[p + "post_attention_layernorm.weight"], null, null, null, qkv, o, null, null, gateUp, down);
            }
            else
            {
                var q = L("self_attn.q_proj");
                var k = L("self_attn.k_proj");
                var v = L("self_attn.v_proj");
                var o = L("self_attn.o_proj");
                var gate = L("mlp.gate_proj");
                var up = L("mlp.up_proj");
                var down = L("mlp.down_proj");
                _layers[l] = new Layer(weights[p + "input_layernorm.weight"], weights[p + "post_attention_layernorm.weight"], q, k, v, null, o, gate, up, null, down);
            }
        }
        var head = config.TieWordEmbeddings ? weights["model.embed_tokens.weight"] : weights["lm_head.weight"];
        _lmHead = AddLinear("lm_head", head, null, WeightLayout.OutIn);
    }

    /// <summary>The model's configuration.</summary>
    public LlamaConfig Config { get; }

    /// <inheritdoc/>
    public override ModelPrecision Precision { get; }

    /// <inheritdoc/>
    public override ITextTokenizer? TextTokenizer { get; }

    /// <inheritdoc/>
    public override string? Directory { get; }

    /// <inheritdoc/>
    public override string ModelType => Config.ModelType;

    /// <inheritdoc/>
    public override int VocabSize => Config.VocabSize;

    /// <inheritdoc/>
    public override int MaxPositions => Config.MaxPositionEmbeddings;

    /// <inheritdoc/>
    public override int LayerCount => Config.NumHiddenLayers;

    /// <inheritdoc/>
    public override int? EosTokenId => Config.EosTokenId;

    private protected override IReadOnlyCollection<int> StopTokenIds => Config.EosTokenIds;

    /// <inheritdoc/>
    public override long ParameterCount => _weights.Values.Sum(t => t.numel());

    /// <summary>The dtype the weights are stored in (the checkpoint's for F16/BF16, else the compute dtype).</summary>
    public string WeightDType => _weights["model.norm.weight"].dtype.ToString();

    private protected override string LinearModuleSummary => Config.FusedProjections
        ? $"Linear modules are model.layers.{{0..{Config.NumHiddenLayers - 1}}}.self_attn.qkv_proj, model.layers.N.self_attn.o_proj, model.layers.N.mlp.gate_up_proj, model.layers.N.mlp.down_proj and lm_head."
        : $"Linear modules are model.layers.{{0..{Config.NumHiddenLayers - 1}}}.self_attn.q_proj, k_proj, v_proj, o_proj, model.layers.N.mlp.gate_proj, up_proj, down_proj and lm_head.";

    /// <inheritdoc/>
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

    private protected override KeyValueCache NewCache() => new(Config.NumHiddenLayers);

    private protected override Tensor ForwardCached(Tensor ids, KeyValueCache cache) => Run(ids, cache);

    private Tensor RmsNorm(Tensor x, Tensor weight)
    {
        var variance = x.pow(2).mean(new long[] { -1 }, keepdim: true);
        var normed = x.mul(variance.add(Config.RmsNormEps).rsqrt());
        return normed.mul(weight.dtype == _dtype ? weight : weight.to_type(_dtype));
    }

    private static Tensor RotateHalf(Tensor x)
    {
        long half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        return torch.cat(new[] { x2.neg(), x1 }, -1);
    }

    // ids: (batch, tokens), already checked. With a cache, positions continue after the cached tokens.
    private Tensor Run(Tensor ids, KeyValueCache? cache)
    {
        var c = Config;
        long batch = ids.shape[0], tokens = ids.shape[1];
        long past = cache?.Length ?? 0;
        long hidden = c.HiddenSize, heads = c.NumAttentionHeads, kvHeads = c.NumKeyValueHeads, d = c.HeadDim;
        long total = past + tokens;

        var embed = _weights["model.embed_tokens.weight"];
        var h = embed.index_select(0, ids.reshape(-1)).to_type(_dtype).reshape(batch, tokens, hidden);

        // Rotary tables (tokens, head_dim): cos/sin of position·θ_i, the half-table repeated twice.
        var positions = torch.arange(past, total, dtype: ScalarType.Float64).unsqueeze(1);
        var inv = torch.tensor(_inverseFrequencies, ScalarType.Float64).unsqueeze(0);
        var freqs = positions.matmul(inv);
        var emb = torch.cat(new[] { freqs, freqs }, -1);
        var cos = emb.cos().to_type(_dtype);
        var sin = emb.sin().to_type(_dtype);

        // Query i (absolute position past+i) may attend to key j when j ≤ past+i and, with a sliding window, past+i − j < window.
        var qPos = torch.arange(past, total, dtype: ScalarType.Int64).unsqueeze(1);
        var kPos = torch.arange(0, total, dtype: ScalarType.Int64).unsqueeze(0);
        var masked = kPos.gt(qPos);
        if (c.SlidingWindow is int window) masked = masked.logical_or(qPos.sub(kPos).ge(window));
        double maskValue = _dtype == ScalarType.Float64 ? double.MinValue : float.MinValue;
        double scale = 1.0 / Math.Sqrt(d);
        long groups = c.KeyValueGroups;
        long qWidth = heads * d, kvWidth = kvHeads * d;

        for (int l = 0; l < _layers.Length; l++)
        {
            var layer = _layers[l];
            var a = RmsNorm(h, layer.InputNorm);
            Tensor q, k, v;
            if (layer.Qkv is { } qkvProj)
            {
                var qkv = qkvProj.Forward(a);
                q = qkv.narrow(-1, 0, qWidth);
                k = qkv.narrow(-1, qWidth, kvWidth);
                v = qkv.narrow(-1, qWidth + kvWidth, kvWidth);
            }
            else
            {
                q = layer.Q!.Forward(a);
                k = layer.K!.Forward(a);
                v = layer.V!.Forward(a);
            }
            q = q.reshape(batch, tokens, heads, d).transpose(1, 2);
            k = k.reshape(batch, tokens, kvHeads, d).transpose(1, 2);
            v = v.reshape(batch, tokens, kvHeads, d).transpose(1, 2);
            q = q.mul(cos).add(RotateHalf(q).mul(sin));
            k = k.mul(cos).add(RotateHalf(k).mul(sin));
            if (cache is not null) (k, v) = cache.Extend(l, k, v);
            if (groups > 1)
            {
                k = k.repeat_interleave(groups, 1);
                v = v.repeat_interleave(groups, 1);
            }
            var scores = q.matmul(k.transpose(-2, -1)).mul(scale).masked_fill(masked, maskValue);
            var attn = scores.softmax(-1);
            var y = attn.matmul(v).transpose(1, 2).contiguous().reshape(batch, tokens, qWidth);
            h = h.add(layer.O.Forward(y));

            var m = RmsNorm(h, layer.PostNorm);
            Tensor act;
            if (layer.GateUp is { } gateUp)
            {
                var gu = gateUp.Forward(m);
                long inter = c.IntermediateSize;
                act = gu.narrow(-1, inter, inter).mul(torch.nn.functional.silu(gu.narrow(-1, 0, inter)));
            }
            else
            {
                act = torch.nn.functional.silu(layer.Gate!.Forward(m)).mul(layer.Up!.Forward(m));
            }
            h = h.add(layer.Down.Forward(act));
        }
        if (cache is not null) cache.Length = total;
        h = RmsNorm(h, _weights["model.norm.weight"]);
        return _lmHead.Forward(h);
    }

    /// <summary>
    /// Loads a model folder (<c>config.json</c> with model_type llama, mistral, qwen2 or phi3;
    /// <c>model.safetensors</c> or a sharded <c>model.safetensors.index.json</c>; optionally a
    /// <c>tokenizer.json</c> or <c>tokenizer.model</c>) or a repository id in the Hugging Face cache.
    /// </summary>
    /// <exception cref="ModelNotFoundException">The folder or cached repository does not exist or lacks files.</exception>
    /// <exception cref="ModelFormatException">The files are malformed, an option is not supported, or the weights do not match the config.</exception>
    public static new LlamaFamilyModel Load(string pathOrRepoId, Gpt2LoadOptions? options = null)
    {
        options ??= new Gpt2LoadOptions();
        string dir = HuggingFaceCache.Resolve(pathOrRepoId, options.Revision, options.HubDirectory);
        string configPath = Path.Combine(dir, "config.json");
        if (!File.Exists(configPath)) throw new ModelNotFoundException($"{dir} has no config.json; it is not a Hugging Face model folder.");
        var config = LlamaConfig.Load(configPath);
        var files = CheckpointFiles.Open(dir);
        var tokenizer = HuggingFaceTokenizer.TryLoad(dir);
        TorchRuntime.EnsureLoaded();
        var weights = ReadWeights(dir, config, files, options.Precision);
        return new LlamaFamilyModel(config, weights, options.Precision, tokenizer, dir);
    }

    private static Dictionary<string, long[]> ExpectedShapes(LlamaConfig c)
    {
        long hidden = c.HiddenSize, inter = c.IntermediateSize, q = (long)c.NumAttentionHeads * c.HeadDim, kv = (long)c.NumKeyValueHeads * c.HeadDim;
        var expected = new Dictionary<string, long[]>(StringComparer.Ordinal)
        {
            ["model.embed_tokens.weight"] = new[] { (long)c.VocabSize, hidden },
            ["model.norm.weight"] = new[] { hidden },
        };
        if (!c.TieWordEmbeddings) expected["lm_head.weight"] = new[] { (long)c.VocabSize, hidden };
        for (int l = 0; l < c.NumHiddenLayers; l++)
        {
            string p = $"model.layers.{l}.";
            expected[p + "input_layernorm.weight"] = new[] { hidden };
            expected[p + "post_attention_layernorm.weight"] = new[] { hidden };
            if (c.FusedProjections)
            {
                expected[p + "self_attn.qkv_proj.weight"] = new[] { q + 2 * kv, hidden };
                expected[p + "mlp.gate_up_proj.weight"] = new[] { 2 * inter, hidden };
            }
            else
            {
                expected[p + "self_attn.q_proj.weight"] = new[] { q, hidden };
                expected[p + "self_attn.k_proj.weight"] = new[] { kv, hidden };
                expected[p + "self_attn.v_proj.weight"] = new[] { kv, hidden };
                if (c.QkvBias)
                {
                    expected[p + "self_attn.q_proj.bias"] = new[] { q };
                    expected[p + "self_attn.k_proj.bias"] = new[] { kv };
                    expected[p + "self_attn.v_proj.bias"] = new[] { kv };
                }
                expected[p + "mlp.gate_proj.weight"] = new[] { inter, hidden };
                expected[p + "mlp.up_proj.weight"] = new[] { inter, hidden };
                if (c.MlpBias)
                {
                    expected[p + "mlp.gate_proj.bias"] = new[] { inter };
                    expected[p + "mlp.up_proj.bias"] = new[] { inter };
                }
            }
            expected[p + "self_attn.o_proj.weight"] = new[] { hidden, q };
            if (c.OutputBias) expected[p + "self_attn.o_proj.bias"] = new[] { hidden };
            expected[p + "mlp.down_proj.weight"] = new[] { hidden, inter };
            if (c.MlpBias) expected[p + "mlp.down_proj.bias"] = new[] { hidden };
        }
        return expected;
    }

    private static Dictionary<string, Tensor> ReadWeights(string dir, LlamaConfig config, Dictionary<string, SafetensorsFile> files, ModelPrecision precision)
    {
        var expected = ExpectedShapes(config);
        // Keys we know and skip without reading (their dtype never matters): rotary inv_freq buffers of
        // older checkpoints, and a saved copy of a tied lm_head.
        var unexpected = files.Keys.Where(k => !expected.ContainsKey(k)
            && k != "lm_head.weight"
            && !(k.StartsWith("model.layers.", StringComparison.Ordinal) && k.EndsWith(".self_attn.rotary_emb.inv_freq", StringComparison.Ordinal)))
            .OrderBy(k => k, NaturalNameComparer.Instance).ToList();
        if (unexpected.Count > 0)
            throw new ModelFormatException($"{dir}: unexpected weights for a {config.NumHiddenLayers}-layer {config.ModelType} model: {string.Join(", ", unexpected.Take(6))}{(unexpected.Count > 6 ? $" (+{unexpected.Count - 6} more)" : "")}.");

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (key, shape) in expected)
            {
                if (!files.TryGetValue(key, out var file)) throw new ModelFormatException($"{dir}: weight '{key}' is missing.");
                var entry = file.Entry(key);
                if (!entry.Shape.SequenceEqual(shape))
                    throw new ModelFormatException($"{file.Path}: '{key}' has shape [{string.Join(", ", entry.Shape)}], expected [{string.Join(", ", shape)}] from config.json.");
                result[key] = ReadTensor(file, entry, precision);
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    // F16/BF16 stay in their dtype at Float32 precision; everything else becomes the compute dtype.
    private static Tensor ReadTensor(SafetensorsFile file, SafetensorsEntry entry, ModelPrecision precision)
    {
        if (!SafetensorsFile.IsWeightType(entry.DType))
            throw new ModelFormatException($"{file.Path}: '{entry.Name}' is {entry.DType}; weights must be F16, BF16, F32 or F64.");
        using var scope = torch.NewDisposeScope();
        var stored = entry.DType switch
        {
            SafetensorsDType.F16 => ScalarType.Float16,
            SafetensorsDType.BF16 => ScalarType.BFloat16,
            SafetensorsDType.F32 => ScalarType.Float32,
            _ => ScalarType.Float64,
        };
        var t = torch.empty(entry.Shape, stored);
        if (entry.ElementCount > 0) t.bytes = file.ReadBytes(entry.Name);
        if (!torch.isfinite(t).all().item<bool>())
            throw new ModelFormatException($"{file.Path}: '{entry.Name}' contains a non-finite value.");
        var target = precision == ModelPrecision.Float64 ? ScalarType.Float64
            : stored is ScalarType.Float16 or ScalarType.BFloat16 ? stored : ScalarType.Float32;
        if (t.dtype != target) t = t.to_type(target);
        return t.MoveToOuterDisposeScope();
    }

    private protected override void ReleaseWeights()
    {
        foreach (var t in _weights.Values) t.Dispose();
    }
}
