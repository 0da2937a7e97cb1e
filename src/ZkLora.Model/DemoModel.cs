using System.Text.Encodings.Web;
using System.Text.Json;

namespace ZkLora.Model;

/// <summary>Where <see cref="DemoModel.Create"/> wrote the demo model and adapter.</summary>
/// <param name="Root">The folder passed in.</param>
/// <param name="ModelDirectory">The Hugging Face model folder (<c>config.json</c>, <c>model.safetensors</c>, <c>vocab.json</c>, <c>merges.txt</c>, <c>tokenizer_config.json</c>).</param>
/// <param name="AdapterDirectory">The PEFT adapter folder (<c>adapter_config.json</c>, <c>adapter_model.safetensors</c>).</param>
public sealed record DemoModelPaths(string Root, string ModelDirectory, string AdapterDirectory);

/// <summary>
/// The built-in demo: a deterministic tiny GPT-2 (byte-level BPE vocabulary, random small weights) and a
/// PEFT LoRA adapter on its <c>c_attn</c> modules, written in the standard Hugging Face / PEFT folder
/// formats, so the whole pipeline runs on a machine that cannot download checkpoints. Every run writes
/// the same bytes: weights come from <see cref="SplitMix64"/> with fixed seeds, files are written in a
/// fixed order and layout.
/// </summary>
public static class DemoModel
{
    /// <summary>Transformer blocks.</summary>
    public const int Layers = 2;
    /// <summary>Hidden size.</summary>
    public const int EmbeddingSize = 32;
    /// <summary>Attention heads (head size 8).</summary>
    public const int Heads = 4;
    /// <summary>Maximum sequence length.</summary>
    public const int Positions = 64;
    /// <summary>MLP inner size (4 × hidden).</summary>
    public const int InnerSize = 4 * EmbeddingSize;
    /// <summary>LoRA rank of every adapter module.</summary>
    public const int LoraRank = 4;
    /// <summary>LoRA alpha (scaling = alpha / rank = 2).</summary>
    public const int LoraAlpha = 8;
    /// <summary>Name written as the adapter's <c>base_model_name_or_path</c>.</summary>
    public const string BaseModelName = "zklora-demo-gpt2";
    /// <summary>A short text to run the demo on (well within <see cref="Positions"/> tokens).</summary>
    public const string SampleText = "the cat sat on the mat, and the dog ran in the sun.";

    /// <summary>Seed of the base model's weights.</summary>
    public const ulong ModelSeed = 0x7A6B_4C6F_5241_0001UL;
    /// <summary>Seed of the adapter's weights.</summary>
    public const ulong AdapterSeed = 0x7A6B_4C6F_5241_0002UL;

    // Byte-level BPE merges (GPT-2 notation: Ġ is the space byte), applied in this order of rank.
    private static readonly (string, string)[] MergeList =
    {
        ("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a"), ("e", "r"), ("o", "n"), ("Ġ", "s"),
        ("r", "e"), ("a", "t"), ("e", "n"), ("o", "r"), ("Ġ", "o"), ("Ġ", "w"), ("i", "s"), ("Ġ", "c"),
        ("a", "n"), ("Ġ", "m"), ("Ġa", "n"), ("Ġan", "d"), ("in", "g"), ("Ġ", "d"), ("Ġ", "r"), ("Ġ", "i"),
    };

    /// <summary>The merges of the demo tokenizer, in rank order.</summary>
    public static IReadOnlyList<(string Left, string Right)> Merges => MergeList;

    /// <summary>Vocabulary size: 256 byte tokens, one token per merge, and <c>&lt;|endoftext|&gt;</c>.</summary>
    public static int VocabSize => 256 + MergeList.Length + 1;

    /// <summary>The adapter's injection points.</summary>
    public static IReadOnlyList<string> AdapterModules =>
        Enumerable.Range(0, Layers).Select(l => $"transformer.h.{l}.attn.c_attn").ToList();

    /// <summary>
    /// Writes the demo model to <c>{directory}/model</c> and its adapter to <c>{directory}/adapter</c>.
    /// </summary>
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
            (Path.Combine(modelDir, "vocab.json"), VocabJson()),
            (Path.Combine(modelDir, "merges.txt"), MergesTxt()),
            (Path.Combine(modelDir, "tokenizer_config.json"), TokenizerConfigJson()),
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

    private static int EndOfTextId => VocabSize - 1;

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
        w.WriteString("activation_function", "gelu_new");
        w.WriteStartArray("architectures");
        w.WriteStringValue("GPT2LMHeadModel");
        w.WriteEndArray();
        w.WriteNumber("attn_pdrop", 0.1);
        w.WriteNumber("bos_token_id", EndOfTextId);
        w.WriteNumber("embd_pdrop", 0.1);
        w.WriteNumber("eos_token_id", EndOfTextId);
        w.WriteNumber("initializer_range", 0.02);
        w.WriteNumber("layer_norm_epsilon", 1e-05);
        w.WriteString("model_type", "gpt2");
        w.WriteNumber("n_ctx", Positions);
        w.WriteNumber("n_embd", EmbeddingSize);
        w.WriteNumber("n_head", Heads);
        w.WriteNull("n_inner");
        w.WriteNumber("n_layer", Layers);
        w.WriteNumber("n_positions", Positions);
        w.WriteBoolean("reorder_and_upcast_attn", false);
        w.WriteNumber("resid_pdrop", 0.1);
        w.WriteBoolean("scale_attn_by_inverse_layer_idx", false);
        w.WriteBoolean("scale_attn_weights", true);
        w.WriteBoolean("tie_word_embeddings", true);
        w.WriteString("torch_dtype", "float32");
        w.WriteBoolean("use_cache", true);
        w.WriteNumber("vocab_size", VocabSize);
        w.WriteEndObject();
    });

    private static byte[] TokenizerConfigJson() => Json(w =>
    {
        w.WriteStartObject();
        w.WriteBoolean("add_prefix_space", false);
        w.WriteString("bos_token", Gpt2Tokenizer.EndOfText);
        w.WriteString("eos_token", Gpt2Tokenizer.EndOfText);
        w.WriteNumber("model_max_length", Positions);
        w.WriteString("tokenizer_class", "GPT2Tokenizer");
        w.WriteString("unk_token", Gpt2Tokenizer.EndOfText);
        w.WriteEndObject();
    });

    /// <summary>GPT-2's byte → printable character map, in vocabulary order (printable bytes first).</summary>
    internal static (byte Byte, char Char)[] ByteTokens()
    {
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range(0xA1, 0xAC - 0xA1 + 1)).Concat(Enumerable.Range(0xAE, 0xFF - 0xAE + 1)).ToList();
        var set = new HashSet<int>(printable);
        var result = printable.Select(b => ((byte)b, (char)b)).ToList();
        int extra = 0;
        for (int b = 0; b < 256; b++)
            if (!set.Contains(b)) result.Add(((byte)b, (char)(256 + extra++)));
        return result.ToArray();
    }

    private static byte[] VocabJson() => Json(w =>
    {
        w.WriteStartObject();
        int id = 0;
        foreach (var (_, ch) in ByteTokens()) w.WriteNumber(ch.ToString(), id++);
        foreach (var (a, b) in MergeList) w.WriteNumber(a + b, id++);
        w.WriteNumber(Gpt2Tokenizer.EndOfText, id);
        w.WriteEndObject();
    }, indented: false);

    private static byte[] MergesTxt()
    {
        var text = "#version: 0.2\n" + string.Concat(MergeList.Select(m => $"{m.Item1} {m.Item2}\n"));
        return System.Text.Encoding.UTF8.GetBytes(text);
    }

    private static double[] Uniform(ref SplitMix64 rng, int count, double amplitude, double offset = 0)
    {
        var v = new double[count];
        for (int i = 0; i < count; i++) v[i] = (float)(offset + rng.NextSymmetric(amplitude)); // float32-exact values
        return v;
    }

    private static byte[] ModelSafetensors()
    {
        var rng = new SplitMix64(ModelSeed);
        const int c = EmbeddingSize, inner = InnerSize;
        var tensors = new List<SafetensorsTensor>();
        void Add(string name, long[] shape, double amplitude, double offset = 0) =>
            tensors.Add(new SafetensorsTensor("transformer." + name, SafetensorsDType.F32, shape,
                Uniform(ref rng, checked((int)shape.Aggregate(1L, (x, y) => x * y)), amplitude, offset)));

        // Drawn in a fixed order (forward order); the writer sorts by name, the draws do not depend on it.
        Add("wte.weight", new long[] { VocabSize, c }, 0.1);
        Add("wpe.weight", new long[] { Positions, c }, 0.05);
        for (int l = 0; l < Layers; l++)
        {
            string p = $"h.{l}.";
            Add(p + "ln_1.weight", new long[] { c }, 0.1, 1.0);
            Add(p + "ln_1.bias", new long[] { c }, 0.02);
            Add(p + "attn.c_attn.weight", new long[] { c, 3 * c }, 0.1);
            Add(p + "attn.c_attn.bias", new long[] { 3 * c }, 0.02);
            Add(p + "attn.c_proj.weight", new long[] { c, c }, 0.1);
            Add(p + "attn.c_proj.bias", new long[] { c }, 0.02);
            Add(p + "ln_2.weight", new long[] { c }, 0.1, 1.0);
            Add(p + "ln_2.bias", new long[] { c }, 0.02);
            Add(p + "mlp.c_fc.weight", new long[] { c, inner }, 0.1);
            Add(p + "mlp.c_fc.bias", new long[] { inner }, 0.02);
            Add(p + "mlp.c_proj.weight", new long[] { inner, c }, 0.05);
            Add(p + "mlp.c_proj.bias", new long[] { c }, 0.02);
        }
        Add("ln_f.weight", new long[] { c }, 0.1, 1.0);
        Add("ln_f.bias", new long[] { c }, 0.02);
        return SafetensorsWriter.ToBytes(tensors, new Dictionary<string, string> { ["format"] = "pt" });
    }

    private static byte[] AdapterConfigJson() => Json(w =>
    {
        w.WriteStartObject();
        w.WriteStartObject("alpha_pattern");
        w.WriteEndObject();
        w.WriteString("base_model_name_or_path", BaseModelName);
        w.WriteString("bias", "none");
        w.WriteBoolean("fan_in_fan_out", true);
        w.WriteBoolean("inference_mode", true);
        w.WriteBoolean("init_lora_weights", true);
        w.WriteNull("layers_pattern");
        w.WriteNull("layers_to_transform");
        w.WriteNumber("lora_alpha", LoraAlpha);
        w.WriteNumber("lora_dropout", 0.0);
        w.WriteNull("modules_to_save");
        w.WriteString("peft_type", "LORA");
        w.WriteNumber("r", LoraRank);
        w.WriteStartObject("rank_pattern");
        w.WriteEndObject();
        w.WriteNull("revision");
        w.WriteStartArray("target_modules");
        w.WriteStringValue("c_attn");
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
            // PEFT layout: lora_A.weight is (r, in), lora_B.weight is (out, r), also for Conv1D targets.
            tensors.Add(new SafetensorsTensor($"base_model.model.{module}.lora_A.weight", SafetensorsDType.F32,
                new long[] { LoraRank, EmbeddingSize }, Uniform(ref rng, LoraRank * EmbeddingSize, 0.1)));
            tensors.Add(new SafetensorsTensor($"base_model.model.{module}.lora_B.weight", SafetensorsDType.F32,
                new long[] { 3 * EmbeddingSize, LoraRank }, Uniform(ref rng, 3 * EmbeddingSize * LoraRank, 0.1)));
        }
        return SafetensorsWriter.ToBytes(tensors, new Dictionary<string, string> { ["format"] = "pt" });
    }
}
