using System.Text.Json;

namespace ZkLora.Model;

/// <summary>Activation functions a GPT-2 family config may name.</summary>
public enum Gpt2Activation
{
    /// <summary>GELU, tanh approximation (<c>gelu_new</c>, <c>gelu_pytorch_tanh</c>, <c>gelu_fast</c>): GPT-2's own.</summary>
    GeluTanh,
    /// <summary>Exact GELU with erf (<c>gelu</c>).</summary>
    GeluExact,
    /// <summary>ReLU (<c>relu</c>).</summary>
    Relu,
}

/// <summary>
/// The fields of a Hugging Face GPT-2 <c>config.json</c> that determine the forward pass, with the
/// same defaults as <c>transformers.GPT2Config</c>.
/// </summary>
public sealed record Gpt2Config
{
    /// <summary>Vocabulary size (rows of <c>wte</c>).</summary>
    public required int VocabSize { get; init; }
    /// <summary>Maximum sequence length (rows of <c>wpe</c>).</summary>
    public required int NPositions { get; init; }
    /// <summary>Hidden size.</summary>
    public required int NEmbd { get; init; }
    /// <summary>Number of transformer blocks.</summary>
    public required int NLayer { get; init; }
    /// <summary>Number of attention heads (divides <see cref="NEmbd"/>).</summary>
    public required int NHead { get; init; }
    /// <summary>MLP inner size (<c>n_inner</c>, default 4·n_embd).</summary>
    public required int NInner { get; init; }
    /// <summary>LayerNorm epsilon.</summary>
    public double LayerNormEpsilon { get; init; } = 1e-5;
    /// <summary>MLP activation.</summary>
    public Gpt2Activation Activation { get; init; } = Gpt2Activation.GeluTanh;
    /// <summary>Name of the activation as written in the config.</summary>
    public string ActivationName { get; init; } = "gelu_new";
    /// <summary>Divide attention scores by sqrt(head_dim).</summary>
    public bool ScaleAttnWeights { get; init; } = true;
    /// <summary>Also divide attention scores by (layer index + 1).</summary>
    public bool ScaleAttnByInverseLayerIdx { get; init; }
    /// <summary>Tie <c>lm_head</c> to <c>wte</c> (the default, and what GPT-2 checkpoints do).</summary>
    public bool TieWordEmbeddings { get; init; } = true;
    /// <summary>Beginning-of-sequence token id, if given.</summary>
    public int? BosTokenId { get; init; }
    /// <summary>End-of-sequence token id, if given.</summary>
    public int? EosTokenId { get; init; }

    /// <summary>Size of one attention head.</summary>
    public int HeadDim => NEmbd / NHead;

    /// <summary>Reads and validates a <c>config.json</c>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ModelFormatException">The config is malformed or not a GPT-2 config.</exception>
    public static Gpt2Config Load(string path)
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
    public static Gpt2Config FromJson(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"{source}: config is not a JSON object.");
        string? modelType = Str(root, "model_type", source);
        if (modelType != null && modelType != "gpt2")
            throw new ModelFormatException($"{source}: model_type is '{modelType}'; only GPT-2 family checkpoints (model_type \"gpt2\") are supported.");
        if (Bool(root, "add_cross_attention", source) == true)
            throw new ModelFormatException($"{source}: add_cross_attention is not supported.");

        int nEmbd = Int(root, "n_embd", source) ?? throw Missing(source, "n_embd");
        int nHead = Int(root, "n_head", source) ?? throw Missing(source, "n_head");
        int nLayer = Int(root, "n_layer", source) ?? throw Missing(source, "n_layer");
        int vocab = Int(root, "vocab_size", source) ?? throw Missing(source, "vocab_size");
        int nPos = Int(root, "n_positions", source) ?? Int(root, "n_ctx", source) ?? throw Missing(source, "n_positions");
        int nInner = Int(root, "n_inner", source) ?? checked(4 * nEmbd);
        if (nEmbd <= 0 || nHead <= 0 || nLayer <= 0 || vocab <= 0 || nPos <= 0 || nInner <= 0)
            throw new ModelFormatException($"{source}: n_embd, n_head, n_layer, vocab_size, n_positions and n_inner must be positive.");
        if (nEmbd % nHead != 0) throw new ModelFormatException($"{source}: n_embd {nEmbd} is not divisible by n_head {nHead}.");

        string act = Str(root, "activation_function", source) ?? "gelu_new";
        var activation = act switch
        {
            "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => Gpt2Activation.GeluTanh,
            "gelu" => Gpt2Activation.GeluExact,
            "relu" => Gpt2Activation.Relu,
            _ => throw new ModelFormatException($"{source}: activation_function '{act}' is not supported (gelu_new, gelu_pytorch_tanh, gelu_fast, gelu, relu)."),
        };
        double eps = Num(root, "layer_norm_epsilon", source) ?? 1e-5;
        if (!(eps > 0) || double.IsInfinity(eps)) throw new ModelFormatException($"{source}: layer_norm_epsilon must be a positive number.");

        return new Gpt2Config
        {
            VocabSize = vocab,
            NPositions = nPos,
            NEmbd = nEmbd,
            NLayer = nLayer,
            NHead = nHead,
            NInner = nInner,
            LayerNormEpsilon = eps,
            Activation = activation,
            ActivationName = act,
            ScaleAttnWeights = Bool(root, "scale_attn_weights", source) ?? true,
            ScaleAttnByInverseLayerIdx = Bool(root, "scale_attn_by_inverse_layer_idx", source) ?? false,
            TieWordEmbeddings = Bool(root, "tie_word_embeddings", source) ?? true,
            BosTokenId = Int(root, "bos_token_id", source),
            EosTokenId = Int(root, "eos_token_id", source),
        };
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
