using System.Text.Encodings.Web;
using System.Text.Json;

namespace ZkLora.Model;

/// <summary>
/// The built-in Llama-architecture demo, next to the GPT-2 one (<see cref="DemoModel"/>): a
/// deterministic tiny <c>LlamaForCausalLM</c> in the Llama 3.2 layout (grouped-query attention,
/// <c>llama3</c> rope scaling, tied embeddings, BF16 weights) with a byte-level BPE
/// <c>tokenizer.json</c> that adds <c>&lt;|begin_of_text|&gt;</c>, and a PEFT LoRA adapter on every
/// layer's <c>q_proj</c> and <c>v_proj</c>. Every run writes the same bytes.
/// </summary>
public static class LlamaDemoModel
{
    /// <summary>Decoder layers.</summary>
    public const int Layers = 2;
    /// <summary>Hidden size.</summary>
    public const int HiddenSize = 32;
    /// <summary>Query heads (head size 8).</summary>
    public const int Heads = 4;
    /// <summary>Key/value heads (two queries per key/value head).</summary>
    public const int KeyValueHeads = 2;
    /// <summary>Size of one head.</summary>
    public const int HeadDim = HiddenSize / Heads;
    /// <summary>MLP width.</summary>
    public const int IntermediateSize = 64;
    /// <summary>Maximum sequence length.</summary>
    public const int Positions = 64;
    /// <summary>LoRA rank.</summary>
    public const int LoraRank = 4;
    /// <summary>LoRA alpha (scaling = 2).</summary>
    public const int LoraAlpha = 8;
    /// <summary>Name written as the adapter's <c>base_model_name_or_path</c>.</summary>
    public const string BaseModelName = "zklora-demo-llama";
    /// <summary>Seed of the base model's weights.</summary>
    public const ulong ModelSeed = 0x7A6B_4C6F_5241_0011UL;
    /// <summary>Seed of the adapter's weights.</summary>
    public const ulong AdapterSeed = 0x7A6B_4C6F_5241_0012UL;
    /// <summary>The beginning-of-text token.</summary>
    public const string BeginOfText = "<|begin_of_text|>";
    /// <summary>The end-of-text token.</summary>
    public const string EndOfText = "<|end_of_text|>";

    /// <summary>Vocabulary size: 256 byte tokens, one per merge of <see cref="DemoModel.Merges"/>, and the two special tokens.</summary>
    public static int VocabSize => 256 + DemoModel.Merges.Count + 2;

    private static int BeginId => VocabSize - 2;
    private static int EndId => VocabSize - 1;

    /// <summary>The adapter's injection points (PyTorch module paths).</summary>
    public static IReadOnlyList<string> AdapterModules =>
        Enumerable.Range(0, Layers).SelectMany(l => new[] { $"model.layers.{l}.self_attn.q_proj", $"model.layers.{l}.self_attn.v_proj" }).ToList();

    /// <summary>Writes the model to <c>{directory}/model</c> and its adapter to <c>{directory}/adapter</c>.</summary>
    /// <param name="directory">Target folder (created if needed).</param>
    /// <param name="overwrite">Replace existing files; otherwise existing files that differ are an error.</param>
    /// <exception cref="IOException">A file exists with different content and <paramref name="overwrite"/> is false.</exception>
    public static DemoModelPaths Create(string directory, bool overwrite = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        string root = Path.GetFullPath(directory);
        string modelDir = Path.Combine(root, "model");
        string adapterDir = Path.Combine(root, "adapter");
        var files = new List<(string Path, byte[] Bytes)>
        {
            (Path.Combine(modelDir, "config.json"), ConfigJson()),
            (Path.Combine(modelDir, "model.safetensors"), ModelSafetensors()),
            (Path.Combine(modelDir, "tokenizer.json"), TokenizerJson()),
            (Path.Combine(adapterDir, "adapter_config.json"), AdapterConfigJson()),
            (Path.Combine(adapterDir, "adapter_model.safetensors"), AdapterSafetensors()),
        };
        if (!overwrite)
        {
            foreach (var (path, bytes) in files)
                if (File.Exists(path) && !File.ReadAllBytes(path).AsSpan().SequenceEqual(bytes))
                    throw new IOException($"{path} exists with different content; choose an empty folder or overwrite.");
        }
        System.IO.Directory.CreateDirectory(modelDir);
        System.IO.Directory.CreateDirectory(adapterDir);
        foreach (var (path, bytes) in files) File.WriteAllBytes(path, bytes);
        return new DemoModelPaths(root, modelDir, adapterDir);
    }

    private static byte[] Json(Action<Utf8JsonWriter> write, bool indented = true)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = indented, NewLine = "\n", Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(w);
        }
        if (indented) ms.WriteByte((byte)'\n');
        return ms.ToArray();
    }

    private static byte[] ConfigJson() => Json(w =>
    {
        w.WriteStartObject();
        w.WriteStartArray("architectures");
        w.WriteStringValue("LlamaForCausalLM");
        w.WriteEndArray();
        w.WriteBoolean("attention_bias", false);
        w.WriteNumber("bos_token_id", BeginId);
        w.WriteNumber("eos_token_id", EndId);
        w.WriteNumber("head_dim", HeadDim);
        w.WriteString("hidden_act", "silu");
        w.WriteNumber("hidden_size", HiddenSize);
        w.WriteNumber("intermediate_size", IntermediateSize);
        w.WriteNumber("max_position_embeddings", Positions);
        w.WriteBoolean("mlp_bias", false);
        w.WriteString("model_type", "llama");
        w.WriteNumber("num_attention_heads", Heads);
        w.WriteNumber("num_hidden_layers", Layers);
        w.WriteNumber("num_key_value_heads", KeyValueHeads);
        w.WriteNumber("rms_norm_eps", 1e-05);
        w.WriteStartObject("rope_scaling");
        w.WriteNumber("factor", 8.0);
        w.WriteNumber("high_freq_factor", 4.0);
        w.WriteNumber("low_freq_factor", 1.0);
        w.WriteNumber("original_max_position_embeddings", 16);
        w.WriteString("rope_type", "llama3");
        w.WriteEndObject();
        w.WriteNumber("rope_theta", 500000.0);
        w.WriteBoolean("tie_word_embeddings", true);
        w.WriteString("torch_dtype", "bfloat16");
        w.WriteNumber("vocab_size", VocabSize);
        w.WriteEndObject();
    });

    private static byte[] TokenizerJson() => Json(w =>
    {
        w.WriteStartObject();
        w.WriteString("version", "1.0");
        w.WriteStartArray("added_tokens");
        foreach (var (id, content) in new[] { (BeginId, BeginOfText), (EndId, EndOfText) })
        {
            w.WriteStartObject();
            w.WriteNumber("id", id);
            w.WriteString("content", content);
            w.WriteBoolean("special", true);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNull("normalizer");
        w.WriteStartObject("pre_tokenizer");
        w.WriteString("type", "Sequence");
        w.WriteStartArray("pretokenizers");
        w.WriteStartObject();
        w.WriteString("type", "Split");
        w.WriteStartObject("pattern");
        // Llama 3's pre-tokenization pattern.
        w.WriteString("Regex", @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+");
        w.WriteEndObject();
        w.WriteString("behavior", "Isolated");
        w.WriteBoolean("invert", false);
        w.WriteEndObject();
        w.WriteStartObject();
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", false);
        w.WriteBoolean("use_regex", false);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteStartObject("post_processor");
        w.WriteString("type", "TemplateProcessing");
        w.WriteStartArray("single");
        w.WriteStartObject();
        w.WriteStartObject("SpecialToken");
        w.WriteString("id", BeginOfText);
        w.WriteNumber("type_id", 0);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteStartObject();
        w.WriteStartObject("Sequence");
        w.WriteString("id", "A");
        w.WriteNumber("type_id", 0);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteStartObject("decoder");
        w.WriteString("type", "ByteLevel");
        w.WriteEndObject();
        w.WriteStartObject("model");
        w.WriteString("type", "BPE");
        w.WriteBoolean("byte_fallback", false);
        w.WriteStartObject("vocab");
        int next = 0;
        foreach (var (_, ch) in DemoModel.ByteTokens()) w.WriteNumber(ch.ToString(), next++);
        foreach (var (a, b) in DemoModel.Merges) w.WriteNumber(a + b, next++);
        w.WriteEndObject();
        w.WriteStartArray("merges");
        foreach (var (a, b) in DemoModel.Merges) w.WriteStringValue(a + " " + b);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
    });

    private static double[] Uniform(ref SplitMix64 rng, long count, double amplitude, double offset = 0)
    {
        var v = new double[count];
        for (long i = 0; i < count; i++) v[i] = (float)(offset + rng.NextSymmetric(amplitude));
        return v;
    }

    private static byte[] ModelSafetensors()
    {
        var rng = new SplitMix64(ModelSeed);
        const int h = HiddenSize, inter = IntermediateSize, q = Heads * HeadDim, kv = KeyValueHeads * HeadDim;
        var tensors = new List<SafetensorsTensor>();
        void Add(string name, long[] shape, double amplitude, double offset = 0) =>
            tensors.Add(new SafetensorsTensor(name, SafetensorsDType.BF16, shape, Uniform(ref rng, shape.Aggregate(1L, (x, y) => x * y), amplitude, offset)));
        Add("model.embed_tokens.weight", new long[] { VocabSize, h }, 0.5);
        for (int l = 0; l < Layers; l++)
        {
            string p = $"model.layers.{l}.";
            Add(p + "input_layernorm.weight", new long[] { h }, 0.1, 1.0);
            Add(p + "self_attn.q_proj.weight", new long[] { q, h }, 0.2);
            Add(p + "self_attn.k_proj.weight", new long[] { kv, h }, 0.2);
            Add(p + "self_attn.v_proj.weight", new long[] { kv, h }, 0.2);
            Add(p + "self_attn.o_proj.weight", new long[] { h, q }, 0.2);
            Add(p + "post_attention_layernorm.weight", new long[] { h }, 0.1, 1.0);
            Add(p + "mlp.gate_proj.weight", new long[] { inter, h }, 0.2);
            Add(p + "mlp.up_proj.weight", new long[] { inter, h }, 0.2);
            Add(p + "mlp.down_proj.weight", new long[] { h, inter }, 0.15);
        }
        Add("model.norm.weight", new long[] { h }, 0.1, 1.0);
        return SafetensorsWriter.ToBytes(tensors, new Dictionary<string, string> { ["format"] = "pt" });
    }

    private static byte[] AdapterConfigJson() => Json(w =>
    {
        w.WriteStartObject();
        w.WriteStartObject("alpha_pattern");
        w.WriteEndObject();
        w.WriteString("base_model_name_or_path", BaseModelName);
        w.WriteString("bias", "none");
        w.WriteBoolean("fan_in_fan_out", false);
        w.WriteBoolean("inference_mode", true);
        w.WriteNull("layers_pattern");
        w.WriteNull("layers_to_transform");
        w.WriteNumber("lora_alpha", LoraAlpha);
        w.WriteNumber("lora_dropout", 0.0);
        w.WriteString("peft_type", "LORA");
        w.WriteNumber("r", LoraRank);
        w.WriteStartObject("rank_pattern");
        w.WriteEndObject();
        w.WriteStartArray("target_modules");
        w.WriteStringValue("q_proj");
        w.WriteStringValue("v_proj");
        w.WriteEndArray();
        w.WriteString("task_type", "CAUSAL_LM");
        w.WriteBoolean("use_dora", false);
        w.WriteBoolean("use_rslora", false);
        w.WriteEndObject();
    });

    private static byte[] AdapterSafetensors()
    {
        var rng = new SplitMix64(AdapterSeed);
        var tensors = new List<SafetensorsTensor>();
        foreach (var module in AdapterModules)
        {
            int outF = module.EndsWith(".q_proj", StringComparison.Ordinal) ? Heads * HeadDim : KeyValueHeads * HeadDim;
            tensors.Add(new SafetensorsTensor($"base_model.model.{module}.lora_A.weight", SafetensorsDType.F32,
                new long[] { LoraRank, HiddenSize }, Uniform(ref rng, LoraRank * HiddenSize, 0.2)));
            tensors.Add(new SafetensorsTensor($"base_model.model.{module}.lora_B.weight", SafetensorsDType.F32,
                new long[] { outF, LoraRank }, Uniform(ref rng, outF * LoraRank, 0.2)));
        }
        return SafetensorsWriter.ToBytes(tensors, new Dictionary<string, string> { ["format"] = "pt" });
    }
}
