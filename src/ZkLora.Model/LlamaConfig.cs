using System.Globalization;
using System.Text.Json;

namespace ZkLora.Model;

/// <summary>How rotary position embedding frequencies are scaled (<c>rope_scaling</c>).</summary>
public enum RopeScalingKind
{
    /// <summary>No scaling (<c>rope_scaling</c> absent or type <c>default</c>).</summary>
    None,
    /// <summary><c>linear</c>: every inverse frequency divided by <c>factor</c>.</summary>
    Linear,
    /// <summary><c>llama3</c>: Llama 3.1+'s band-wise scaling (factor, low_freq_factor, high_freq_factor, original_max_position_embeddings).</summary>
    Llama3,
}

/// <summary>
/// The fields of a Hugging Face <c>config.json</c> for the Llama-style decoder families
/// (<c>llama</c>, <c>mistral</c>, <c>qwen2</c>, <c>phi3</c>) that determine the forward pass, with the
/// defaults of the corresponding <c>transformers</c> config classes. Options this implementation does
/// not compute are refused by <see cref="FromJson"/> with a message naming them.
/// </summary>
public sealed record LlamaConfig
{
    /// <summary><c>model_type</c>: llama, mistral, qwen2 or phi3.</summary>
    public required string ModelType { get; init; }
    /// <summary><c>vocab_size</c>.</summary>
    public required int VocabSize { get; init; }
    /// <summary><c>hidden_size</c>.</summary>
    public required int HiddenSize { get; init; }
    /// <summary><c>intermediate_size</c> (MLP width).</summary>
    public required int IntermediateSize { get; init; }
    /// <summary><c>num_hidden_layers</c>.</summary>
    public required int NumHiddenLayers { get; init; }
    /// <summary><c>num_attention_heads</c>.</summary>
    public required int NumAttentionHeads { get; init; }
    /// <summary><c>num_key_value_heads</c> (grouped-query attention; equals the head count when absent).</summary>
    public required int NumKeyValueHeads { get; init; }
    /// <summary><c>head_dim</c> (default hidden_size / num_attention_heads).</summary>
    public required int HeadDim { get; init; }
    /// <summary><c>max_position_embeddings</c>.</summary>
    public required int MaxPositionEmbeddings { get; init; }
    /// <summary><c>rms_norm_eps</c>.</summary>
    public double RmsNormEps { get; init; } = 1e-6;
    /// <summary><c>rope_theta</c>.</summary>
    public double RopeTheta { get; init; } = 10000.0;
    /// <summary>The <c>rope_scaling</c> type.</summary>
    public RopeScalingKind RopeScaling { get; init; } = RopeScalingKind.None;
    /// <summary><c>rope_scaling.factor</c> (1 when unscaled).</summary>
    public double RopeFactor { get; init; } = 1.0;
    /// <summary><c>rope_scaling.low_freq_factor</c> (llama3).</summary>
    public double RopeLowFreqFactor { get; init; } = 1.0;
    /// <summary><c>rope_scaling.high_freq_factor</c> (llama3).</summary>
    public double RopeHighFreqFactor { get; init; } = 4.0;
    /// <summary><c>rope_scaling.original_max_position_embeddings</c> (llama3).</summary>
    public int RopeOriginalMaxPositions { get; init; } = 8192;
    /// <summary><c>tie_word_embeddings</c>: lm_head shares embed_tokens.</summary>
    public bool TieWordEmbeddings { get; init; }
    /// <summary>Whether q_proj, k_proj and v_proj have biases (always for qwen2; llama's <c>attention_bias</c>).</summary>
    public bool QkvBias { get; init; }
    /// <summary>Whether o_proj has a bias (llama's <c>attention_bias</c>).</summary>
    public bool OutputBias { get; init; }
    /// <summary>Whether the MLP projections have biases (llama's <c>mlp_bias</c>).</summary>
    public bool MlpBias { get; init; }
    /// <summary>Phi-3's fused <c>qkv_proj</c> and <c>gate_up_proj</c> layout.</summary>
    public bool FusedProjections { get; init; }
    /// <summary>Sliding attention window (mistral, phi3): a query attends to the last <c>sliding_window</c> keys; null for full causal attention.</summary>
    public int? SlidingWindow { get; init; }
    /// <summary><c>bos_token_id</c>.</summary>
    public int? BosTokenId { get; init; }
    /// <summary><c>eos_token_id</c> (the first, when the config lists several).</summary>
    public int? EosTokenId { get; init; }
    /// <summary>Every id of <c>eos_token_id</c> (Llama 3 instruct configs list several; generation stops at any).</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = Array.Empty<int>();

    /// <summary>Queries per key/value head.</summary>
    public int KeyValueGroups => NumAttentionHeads / NumKeyValueHeads;

    /// <summary>Reads and validates a <c>config.json</c>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ModelFormatException">The config is malformed, of another family, or uses an option that is not supported.</exception>
    public static LlamaConfig Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"config.json not found: {path}", path);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return FromJson(doc.RootElement, path);
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{path}: not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Builds a config from a parsed <c>config.json</c> object.</summary>
    /// <exception cref="ModelFormatException">The config is malformed, of another family, or uses an option that is not supported.</exception>
    public static LlamaConfig FromJson(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"{source}: config is not a JSON object.");
        string modelType = Str(root, "model_type", source) ?? throw Missing(source, "model_type");
        if (modelType is not ("llama" or "mistral" or "qwen2" or "phi3"))
            throw new ModelFormatException($"{source}: model_type '{modelType}' is not a Llama-family type (llama, mistral, qwen2, phi3).");

        int hidden = Int(root, "hidden_size", source) ?? throw Missing(source, "hidden_size");
        int inter = Int(root, "intermediate_size", source) ?? throw Missing(source, "intermediate_size");
        int layers = Int(root, "num_hidden_layers", source) ?? throw Missing(source, "num_hidden_layers");
        int heads = Int(root, "num_attention_heads", source) ?? throw Missing(source, "num_attention_heads");
        int kvHeads = Int(root, "num_key_value_heads", source) ?? heads;
        int vocab = Int(root, "vocab_size", source) ?? throw Missing(source, "vocab_size");
        int maxPos = Int(root, "max_position_embeddings", source) ?? throw Missing(source, "max_position_embeddings");
        if (hidden <= 0 || inter <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || vocab <= 0 || maxPos <= 0)
            throw new ModelFormatException($"{source}: hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, num_key_value_heads, vocab_size and max_position_embeddings must be positive.");
        if (heads % kvHeads != 0)
            throw new ModelFormatException($"{source}: num_attention_heads {heads} is not a multiple of num_key_value_heads {kvHeads}.");
        int? headDimField = Int(root, "head_dim", source);
        if (headDimField is null && hidden % heads != 0)
            throw new ModelFormatException($"{source}: hidden_size {hidden} is not divisible by num_attention_heads {heads} and no head_dim is given.");
        int headDim = headDimField ?? hidden / heads;
        if (headDim <= 0 || headDim % 2 != 0) throw new ModelFormatException($"{source}: head_dim {headDim} must be a positive even number (rotary embedding rotates pairs).");

        string act = Str(root, "hidden_act", source) ?? "silu";
        if (act != "silu") throw new ModelFormatException($"{source}: hidden_act '{act}' is not supported; only silu (SwiGLU) is.");
        double eps = Num(root, "rms_norm_eps", source) ?? 1e-6;
        if (!(eps > 0) || double.IsInfinity(eps)) throw new ModelFormatException($"{source}: rms_norm_eps must be a positive number.");
        double theta = Num(root, "rope_theta", source) ?? 10000.0;
        if (!(theta > 1) || double.IsInfinity(theta)) throw new ModelFormatException($"{source}: rope_theta must be a number above 1.");
        double partial = Num(root, "partial_rotary_factor", source) ?? 1.0;
        if (partial != 1.0) throw new ModelFormatException($"{source}: partial_rotary_factor {partial.ToString(CultureInfo.InvariantCulture)} is not supported (only full rotary embedding).");
        int tp = Int(root, "pretraining_tp", source) ?? 1;
        if (tp < 1) throw new ModelFormatException($"{source}: pretraining_tp must be positive.");
        // pretraining_tp > 1 only splits the matrix products into slices in transformers; the result is the same product.

        bool qkvBias = false, oBias = false, mlpBias = false, fused = false;
        int? window = null;
        switch (modelType)
        {
            case "llama":
                qkvBias = oBias = Bool(root, "attention_bias", source) ?? false;
                mlpBias = Bool(root, "mlp_bias", source) ?? false;
                break;
            case "mistral":
                window = Int(root, "sliding_window", source);
                break;
            case "qwen2":
                qkvBias = true;
                if (Bool(root, "use_sliding_window", source) == true)
                    throw new ModelFormatException($"{source}: use_sliding_window = true (Qwen2's per-layer sliding window) is not supported.");
                break;
            case "phi3":
                fused = true;
                window = Int(root, "sliding_window", source);
                break;
        }
        if (window is <= 0) throw new ModelFormatException($"{source}: sliding_window must be positive or null.");

        var scaling = RopeScalingKind.None;
        double factor = 1.0, low = 1.0, high = 4.0;
        int original = 8192;
        if (root.TryGetProperty("rope_scaling", out var rs) && rs.ValueKind != JsonValueKind.Null)
        {
            if (rs.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"{source}: rope_scaling is not an object.");
            string type = Str(rs, "rope_type", source) ?? Str(rs, "type", source) ?? throw new ModelFormatException($"{source}: rope_scaling has no rope_type.");
            switch (type)
            {
                case "default":
                    break;
                case "linear":
                    scaling = RopeScalingKind.Linear;
                    factor = Num(rs, "factor", source) ?? throw Missing(source, "rope_scaling.factor");
                    break;
                case "llama3":
                    scaling = RopeScalingKind.Llama3;
                    factor = Num(rs, "factor", source) ?? throw Missing(source, "rope_scaling.factor");
                    low = Num(rs, "low_freq_factor", source) ?? throw Missing(source, "rope_scaling.low_freq_factor");
                    high = Num(rs, "high_freq_factor", source) ?? throw Missing(source, "rope_scaling.high_freq_factor");
                    original = Int(rs, "original_max_position_embeddings", source) ?? throw Missing(source, "rope_scaling.original_max_position_embeddings");
                    if (!(high > low) || !(low > 0) || original <= 0)
                        throw new ModelFormatException($"{source}: llama3 rope_scaling needs high_freq_factor > low_freq_factor > 0 and a positive original_max_position_embeddings.");
                    break;
                default:
                    throw new ModelFormatException($"{source}: rope_scaling type '{type}' is not supported (default, linear and llama3 are).");
            }
            if (!(factor > 0) || double.IsInfinity(factor)) throw new ModelFormatException($"{source}: rope_scaling.factor must be positive.");
        }

        return new LlamaConfig
        {
            ModelType = modelType,
            VocabSize = vocab,
            HiddenSize = hidden,
            IntermediateSize = inter,
            NumHiddenLayers = layers,
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            HeadDim = headDim,
            MaxPositionEmbeddings = maxPos,
            RmsNormEps = eps,
            RopeTheta = theta,
            RopeScaling = scaling,
            RopeFactor = factor,
            RopeLowFreqFactor = low,
            RopeHighFreqFactor = high,
            RopeOriginalMaxPositions = original,
            TieWordEmbeddings = Bool(root, "tie_word_embeddings", source) ?? false,
            QkvBias = qkvBias,
            OutputBias = oBias,
            MlpBias = mlpBias,
            FusedProjections = fused,
            SlidingWindow = window,
            BosTokenId = Int(root, "bos_token_id", source),
            EosTokenId = FirstInt(root, "eos_token_id", source),
            EosTokenIds = AllInts(root, "eos_token_id", source),
        };
    }

    /// <summary>
    /// The rotary inverse frequencies θ_i = rope_theta^(−2i/head_dim), i = 0..head_dim/2−1, scaled as
    /// <c>transformers</c>' rope initialisation functions do (in double precision here).
    /// </summary>
    public double[] InverseFrequencies()
    {
        int half = HeadDim / 2;
        var inv = new double[half];
        for (int i = 0; i < half; i++) inv[i] = 1.0 / Math.Pow(RopeTheta, 2.0 * i / HeadDim);
        switch (RopeScaling)
        {
            case RopeScalingKind.Linear:
                for (int i = 0; i < half; i++) inv[i] /= RopeFactor;
                break;
            case RopeScalingKind.Llama3:
                double lowWavelen = RopeOriginalMaxPositions / RopeLowFreqFactor;
                double highWavelen = RopeOriginalMaxPositions / RopeHighFreqFactor;
                for (int i = 0; i < half; i++)
                {
                    double wavelen = 2 * Math.PI / inv[i];
                    if (wavelen > lowWavelen) inv[i] /= RopeFactor; // low frequencies: fully scaled
                    else if (wavelen >= highWavelen) // medium band: interpolate
                    {
                        double smooth = (RopeOriginalMaxPositions / wavelen - RopeLowFreqFactor) / (RopeHighFreqFactor - RopeLowFreqFactor);
                        inv[i] = (1 - smooth) * inv[i] / RopeFactor + smooth * inv[i];
                    }
                }
                break;
        }
        return inv;
    }

    private static ModelFormatException Missing(string source, string field) => new($"{source}: required field '{field}' is missing.");

    private static bool TryGet(JsonElement root, string name, out JsonElement value) =>
        root.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

    private static int? Int(JsonElement root, string name, string source)
    {
        if (!TryGet(root, name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i))
            throw new ModelFormatException($"{source}: '{name}' is {v.GetRawText()}, not an integer.");
        return i;
    }

    private static int? FirstInt(JsonElement root, string name, string source)
    {
        if (!TryGet(root, name, out var v)) return null;
        if (v.ValueKind == JsonValueKind.Array)
        {
            foreach (var x in v.EnumerateArray())
                return x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out int first) ? first
                    : throw new ModelFormatException($"{source}: '{name}' holds {x.GetRawText()}, not an integer.");
            return null;
        }
        return Int(root, name, source);
    }

    private static IReadOnlyList<int> AllInts(JsonElement root, string name, string source)
    {
        if (!TryGet(root, name, out var v)) return Array.Empty<int>();
        if (v.ValueKind != JsonValueKind.Array) return Int(root, name, source) is int one ? new[] { one } : Array.Empty<int>();
        return v.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out int i) ? i
            : throw new ModelFormatException($"{source}: '{name}' holds {x.GetRawText()}, not an integer.")).ToList();
    }

    private static double? Num(JsonElement root, string name, string source)
    {
        if (!TryGet(root, name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number) throw new ModelFormatException($"{source}: '{name}' is not a number.");
        return v.GetDouble();
    }

    private static bool? Bool(JsonElement root, string name, string source)
    {
        if (!TryGet(root, name, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new ModelFormatException($"{source}: '{name}' is not true or false."),
        };
    }

    private static string? Str(JsonElement root, string name, string source)
    {
        if (!TryGet(root, name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.String) throw new ModelFormatException($"{source}: '{name}' is not a string.");
        return v.GetString();
    }
}
