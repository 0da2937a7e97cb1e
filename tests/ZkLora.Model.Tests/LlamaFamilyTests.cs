using System.Globalization;
using TorchSharp;
using Xunit;

namespace ZkLora.Model.Tests;

/// <summary>The Llama-family models against the plain-array <see cref="ReferenceLlama"/>.</summary>
public class LlamaFamilyTests
{
    private static readonly int[] Ids = { 1, 5, 9, 3, 3, 17, 0, 22, 8, 14, 2, 6 };

    internal static ReferenceLlama Make(string arch, ulong seed = 7, Func<double, double>? round = null)
    {
        var r = arch switch
        {
            // Llama 3 shape: GQA (4 query heads on 2 kv heads), llama3 rope scaling, tied embeddings.
            "llama3" => new ReferenceLlama { ModelType = "llama", Vocab = 23, Hidden = 16, Inter = 24, Layers = 2, Heads = 4, KvHeads = 2, HeadDim = 4, MaxPos = 64, Tied = true,
                Theta = 500000, RopeType = "llama3", RopeFactor = 8, LowFreq = 1, HighFreq = 4, OriginalMax = 16, Eps = 1e-5, W = new() },
            // Llama 2 shape: multi-head, untied, with linear rope scaling and the attention/MLP bias options.
            "llama2" => new ReferenceLlama { ModelType = "llama", Vocab = 23, Hidden = 12, Inter = 20, Layers = 2, Heads = 3, KvHeads = 3, HeadDim = 4, MaxPos = 32,
                RopeType = "linear", RopeFactor = 2, AttentionBias = true, MlpBias = true, W = new() },
            "mistral" => new ReferenceLlama { ModelType = "mistral", Vocab = 23, Hidden = 16, Inter = 20, Layers = 2, Heads = 4, KvHeads = 1, HeadDim = 6, MaxPos = 32, Window = 5, W = new() },
            "qwen2" => new ReferenceLlama { ModelType = "qwen2", Vocab = 23, Hidden = 16, Inter = 24, Layers = 2, Heads = 4, KvHeads = 2, HeadDim = 4, MaxPos = 32, Tied = true, Theta = 1000000, W = new() },
            "phi3" => new ReferenceLlama { ModelType = "phi3", Vocab = 23, Hidden = 12, Inter = 16, Layers = 2, Heads = 3, KvHeads = 3, HeadDim = 4, MaxPos = 32, Window = 7, Eps = 1e-5, W = new() },
            _ => throw new ArgumentException(arch),
        };
        r.Randomize(seed, round ?? ReferenceLlama.F32);
        return r;
    }

    [Theory]
    [InlineData("llama3")]
    [InlineData("llama2")]
    [InlineData("mistral")]
    [InlineData("qwen2")]
    [InlineData("phi3")]
    public void LogitsAndLossMatchThePlainReference(string arch)
    {
        var reference = Make(arch);
        using var dir = new TempDir();
        reference.WriteFolder(dir.Path, SafetensorsDType.F32);
        var want = reference.Logits(Ids);
        using (var model = CausalLanguageModel.Load(dir.Path))
        {
            Assert.IsType<LlamaFamilyModel>(model);
            Assert.Equal(reference.ModelType, model.ModelType);
            Assert.Equal(reference.Shapes().Sum(s => s.Shape.Aggregate(1L, (a, b) => a * b)), model.ParameterCount);
            double diff = Assertions.MaxAbsDiff(want, model.Logits(Ids));
            Assert.True(diff <= 2e-5, $"max |Δlogit| = {diff:E3}");
            Assertions.Close(ReferenceLoss(want, Ids), model.Loss(Ids), 2e-5, "loss");
        }
        using var model64 = CausalLanguageModel.Load(dir.Path, new Gpt2LoadOptions { Precision = ModelPrecision.Float64 });
        double diff64 = Assertions.MaxAbsDiff(want, model64.Logits(Ids));
        Assert.True(diff64 <= 1e-10, $"max |Δlogit| = {diff64:E3}");
        Assertions.Close(ReferenceLoss(want, Ids), model64.Loss(Ids), 1e-10, "loss");
        var perToken = model64.TokenLosses(Ids);
        Assert.Equal(Ids.Length - 1, perToken.Length);
        Assertions.Close(ReferenceLoss(want, Ids), perToken.Average(), 1e-12, "mean of per-token losses");
    }

    [Fact]
    public void SlidingWindowMatters()
    {
        // The same weights with and without mistral's window give different logits beyond the window.
        var reference = Make("mistral");
        var full = Make("mistral");
        full.Window = null;
        Assert.True(Assertions.MaxAbsDiff(reference.Logits(Ids), full.Logits(Ids)) > 1e-3);
    }

    [Theory]
    [InlineData(SafetensorsDType.BF16)]
    [InlineData(SafetensorsDType.F16)]
    public void NarrowCheckpointsStayNarrowAndMatch(SafetensorsDType dtype)
    {
        var reference = Make("llama3", 11, dtype == SafetensorsDType.BF16 ? ReferenceLlama.BF16 : ReferenceLlama.F16);
        using var dir = new TempDir();
        reference.WriteFolder(dir.Path, dtype, shards: 3);
        using var model = (LlamaFamilyModel)CausalLanguageModel.Load(dir.Path);
        Assert.Equal(dtype == SafetensorsDType.BF16 ? "BFloat16" : "Float16", model.WeightDType);
        double diff = Assertions.MaxAbsDiff(reference.Logits(Ids), model.Logits(Ids));
        Assert.True(diff <= 2e-5, $"max |Δlogit| = {diff:E3}");
    }

    [Fact]
    public void ShardedF32AndSkippedBuffers()
    {
        var reference = Make("qwen2");
        using var dir = new TempDir();
        // Older checkpoints carry rotary inv_freq buffers (any dtype); they are skipped unread.
        var extra = new[] { new SafetensorsTensor("model.layers.0.self_attn.rotary_emb.inv_freq", SafetensorsDType.F32, new long[] { 2 }, new[] { 1.0, 0.01 }) };
        reference.WriteFolder(dir.Path, SafetensorsDType.F32, shards: 2, extraTensors: extra);
        using var model = CausalLanguageModel.Load(dir.Path);
        Assert.True(Assertions.MaxAbsDiff(reference.Logits(Ids), model.Logits(Ids)) <= 2e-5);
    }

    [Theory]
    [InlineData("llama3", new[] { "q_proj", "v_proj" })]
    [InlineData("llama2", new[] { "o_proj", "down_proj", "lm_head" })]
    [InlineData("mistral", new[] { "k_proj", "gate_proj", "up_proj" })]
    [InlineData("qwen2", new[] { "q_proj", "v_proj" })]
    [InlineData("phi3", new[] { "qkv_proj", "gate_up_proj" })]
    public void AdapterDeltasThroughPatchesMatchTheReference(string arch, string[] targets)
    {
        var reference = Make(arch);
        using var dir = new TempDir();
        reference.WriteFolder(dir.Path, SafetensorsDType.F32);
        var modules = reference.Shapes().Select(s => s.Name).Where(n => n.EndsWith(".weight") && targets.Any(t => n.EndsWith("." + t + ".weight") || n == t + ".weight"))
            .Select(n => n[..^".weight".Length]).ToList();
        Assert.NotEmpty(modules);
        var shapes = reference.Shapes().ToDictionary(s => s.Name, s => s.Shape);
        var lora = PeftAdapter.Write(dir.Combine("adapter"), modules.Select(m => (m, (int)shapes[m + ".weight"][1], (int)shapes[m + ".weight"][0])).ToList(),
            rank: 4, alpha: 8, seed: 3, targetModules: targets);
        var adapter = LoraAdapter.Load(dir.Combine("adapter"));
        Assert.Equal(modules.OrderBy(m => m, StringComparer.Ordinal), adapter.ModuleNames.OrderBy(m => m, StringComparer.Ordinal));

        reference.Hook = (name, t, x, y) => lora.TryGetValue(name, out var ab) ? PeftAdapter.Add(y, ab.A, ab.B, 2.0, x) : y;
        var want = reference.Logits(Ids);
        reference.Hook = null;
        Assert.True(Assertions.MaxAbsDiff(want, reference.Logits(Ids)) > 1e-3, "the adapter changes the logits");

        using var model = CausalLanguageModel.Load(dir.Path, new Gpt2LoadOptions { Precision = ModelPrecision.Float64 });
        model.CheckAdapter(adapter);
        foreach (var module in adapter.Modules)
            model.Patch(module.Name, (x, y) =>
            {
                var xs = x.to_type(torch.ScalarType.Float64).data<double>().ToArray();
                int n = module.InFeatures;
                var delta = Enumerable.Range(0, xs.Length / n).SelectMany(r => module.Delta(xs.AsSpan(r * n, n))).ToArray();
                return y.add(torch.tensor(delta, y.shape, y.dtype));
            });
        double diff = Assertions.MaxAbsDiff(want, model.Logits(Ids));
        Assert.True(diff <= 1e-10, $"max |Δlogit| = {diff:E3}");
        Assertions.Close(ReferenceLoss(want, Ids), model.Loss(Ids), 1e-10, "loss");
    }

    [Theory]
    [InlineData("llama3")]
    [InlineData("phi3")]
    public void GreedyGenerationWithTheCacheFollowsTheReferenceArgMax(string arch)
    {
        var reference = Make(arch);
        using var dir = new TempDir();
        reference.WriteFolder(dir.Path, SafetensorsDType.F32);
        using var model = CausalLanguageModel.Load(dir.Path, new Gpt2LoadOptions { Precision = ModelPrecision.Float64 });
        Assert.True(model.HasKeyValueCache);
        int[] prompt = { 1, 5, 9, 3 };
        var seen = new List<int>();
        var got = model.Generate(prompt, new GenerationOptions { MaxNewTokens = 9, StopAtEos = false }, seen.Add);
        Assert.Equal(got, seen);
        var sequence = prompt.ToList();
        for (int i = 0; i < 9; i++)
        {
            var last = reference.Logits(sequence)[^1];
            int best = Array.IndexOf(last, last.Max());
            Assert.Equal(best, got[i]);
            sequence.Add(best);
        }

        // Every new token runs each module on one row.
        var rows = new List<long>();
        model.Patch(model.LinearModuleNames[0], (x, y) => { rows.Add(x.shape[1]); return y; });
        model.Generate(prompt, new GenerationOptions { MaxNewTokens = 3, StopAtEos = false });
        Assert.Equal(new long[] { 4, 1, 1 }, rows);
    }

    [Fact]
    public void SamplingIsSeededAndStopsAtEos()
    {
        var reference = Make("qwen2");
        using var dir = new TempDir();
        reference.WriteFolder(dir.Path, SafetensorsDType.F32);
        using var model = CausalLanguageModel.Load(dir.Path);
        var options = new GenerationOptions { MaxNewTokens = 12, Temperature = 1.5, TopP = 0.9, Seed = 42, StopAtEos = false };
        var a = model.Generate(new[] { 3, 4 }, options);
        var b = model.Generate(new[] { 3, 4 }, options);
        Assert.Equal(a, b);
        Assert.Equal(12, a.Count);
        var c = model.Generate(new[] { 3, 4 }, options with { Seed = 43 });
        Assert.NotEqual(a, c);
        // Stopping at EOS (id 2) gives exactly the unstopped sequence up to and including its first EOS.
        int early = 0;
        for (ulong seed = 1; seed <= 6; seed++)
        {
            var stop = model.Generate(new[] { 3, 4 }, new GenerationOptions { MaxNewTokens = 200, Temperature = 3, Seed = seed });
            var noStop = model.Generate(new[] { 3, 4 }, new GenerationOptions { MaxNewTokens = 200, Temperature = 3, Seed = seed, StopAtEos = false });
            Assert.Equal(30, noStop.Count); // the 32 positions run out
            int firstEos = noStop.ToList().IndexOf(2);
            Assert.Equal(firstEos < 0 ? noStop : noStop.Take(firstEos + 1), stop);
            if (firstEos >= 0 && firstEos < 29) early++;
        }
        Assert.True(early > 0);
        Assert.Throws<ArgumentException>(() => model.Generate(new[] { 3 }, new GenerationOptions { TopP = 0 }));
        Assert.Throws<ArgumentException>(() => model.Generate(Array.Empty<int>(), new GenerationOptions()));
    }

    [Fact]
    public void GenerationStopsAtAnyListedEosId()
    {
        // Llama 3 instruct configs list several eos_token_id values; the run stops at whichever comes first.
        var reference = Make("llama3");
        using var dir = new TempDir();
        reference.WriteFolder(dir.Path, SafetensorsDType.F32);
        using var model = CausalLanguageModel.Load(dir.Path);
        var free = model.Generate(new[] { 1, 5 }, new GenerationOptions { MaxNewTokens = 12, StopAtEos = false });
        int second = free[3];
        File.WriteAllText(dir.Combine("config.json"), File.ReadAllText(dir.Combine("config.json")).Replace("\"eos_token_id\": 2", $"\"eos_token_id\": [{(second == 0 ? 1 : 0) + 30}, {second}]"));
        using var listed = Assert.IsType<LlamaFamilyModel>(CausalLanguageModel.Load(dir.Path));
        Assert.Equal(second, listed.Config.EosTokenIds[1]);
        var stopped = listed.Generate(new[] { 1, 5 }, new GenerationOptions { MaxNewTokens = 12 });
        Assert.Equal(free.Take(free.ToList().IndexOf(second) + 1), stopped);
    }

    [Theory]
    [InlineData("\"model_type\": \"llama\"", "\"model_type\": \"falcon\"", "model_type 'falcon'")]
    [InlineData("\"rope_scaling\": null", "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}", "rope_scaling type 'yarn'")]
    [InlineData("\"hidden_act\": \"silu\"", "\"hidden_act\": \"gelu\"", "hidden_act 'gelu'")]
    [InlineData("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3", "not a multiple")]
    [InlineData("\"rope_scaling\": null", "\"rope_scaling\": null, \"partial_rotary_factor\": 0.5", "partial_rotary_factor")]
    public void UnsupportedConfigsAreRefusedByName(string find, string replace, string message)
    {
        var reference = Make("llama3");
        reference.RopeType = null;
        using var dir = new TempDir();
        reference.WriteFolder(dir.Path, SafetensorsDType.F32);
        string path = dir.Combine("config.json");
        string text = File.ReadAllText(path);
        Assert.Contains(find, text);
        File.WriteAllText(path, text.Replace(find, replace));
        var e = Assert.Throws<ModelFormatException>(() => CausalLanguageModel.Load(dir.Path));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Qwen2SlidingWindowIsRefused()
    {
        var reference = Make("qwen2");
        using var dir = new TempDir();
        reference.WriteFolder(dir.Path, SafetensorsDType.F32, extraConfig: ", \"use_sliding_window\": true");
        Assert.Contains("use_sliding_window", Assert.Throws<ModelFormatException>(() => CausalLanguageModel.Load(dir.Path)).Message);
    }

    [Fact]
    public void MissingUnexpectedAndMisshapenWeightsAreRefused()
    {
        var reference = Make("mistral");
        using var dir = new TempDir();
        reference.WriteFolder(dir.Path, SafetensorsDType.F32, extraTensors: new[] { new SafetensorsTensor("model.layers.0.mlp.extra.weight", SafetensorsDType.F32, new long[] { 1 }, new[] { 0.0 }) });
        Assert.Contains("model.layers.0.mlp.extra.weight", Assert.Throws<ModelFormatException>(() => CausalLanguageModel.Load(dir.Path)).Message);

        reference.W.Remove("model.layers.1.mlp.up_proj.weight");
        var shapes = reference.Shapes().Where(s => s.Name != "model.layers.1.mlp.up_proj.weight").ToList();
        SafetensorsWriter.Write(dir.Combine("model.safetensors"), shapes.Select(s => new SafetensorsTensor(s.Name, SafetensorsDType.F32, s.Shape, reference.W[s.Name])));
        Assert.Contains("model.layers.1.mlp.up_proj.weight", Assert.Throws<ModelFormatException>(() => CausalLanguageModel.Load(dir.Path)).Message);

        File.WriteAllText(dir.Combine("config.json"), File.ReadAllText(dir.Combine("config.json")).Replace("\"intermediate_size\": 20", "\"intermediate_size\": 21"));
        Assert.Contains("expected [21, 16]", Assert.Throws<ModelFormatException>(() => CausalLanguageModel.Load(dir.Path)).Message);
    }

    [Fact]
    public void NonFiniteAndIntegerWeightsAreRefused()
    {
        var reference = Make("llama3");
        using var dir = new TempDir();
        reference.W["model.norm.weight"][3] = double.NaN;
        reference.WriteFolder(dir.Path, SafetensorsDType.BF16);
        Assert.Contains("non-finite", Assert.Throws<ModelFormatException>(() => CausalLanguageModel.Load(dir.Path)).Message);
    }

    [Fact]
    public void ModuleNamesArePyTorchPaths()
    {
        var reference = Make("phi3");
        using var dir = new TempDir();
        reference.WriteFolder(dir.Path, SafetensorsDType.F32);
        using var model = CausalLanguageModel.Load(dir.Path);
        Assert.Equal(new[]
        {
            "model.layers.0.self_attn.qkv_proj", "model.layers.0.self_attn.o_proj", "model.layers.0.mlp.gate_up_proj", "model.layers.0.mlp.down_proj",
            "model.layers.1.self_attn.qkv_proj", "model.layers.1.self_attn.o_proj", "model.layers.1.mlp.gate_up_proj", "model.layers.1.mlp.down_proj", "lm_head",
        }, model.LinearModuleNames);
        var info = model.GetLinearModule("model.layers.1.self_attn.qkv_proj");
        Assert.Equal((12, 36, WeightLayout.OutIn), (info.InFeatures, info.OutFeatures, info.Layout));
        Assert.Contains("Did you mean", Assert.Throws<ArgumentException>(() => model.GetLinearModule("model.layers.1.self_attn.qkv_prj")).Message);
    }

    [Fact]
    public void PeftTargetingRulesOnLlamaModuleNames()
    {
        var reference = Make("llama3");
        var shapes = reference.Shapes().ToDictionary(s => s.Name, s => s.Shape);
        (string, int, int) M(string name) => (name, (int)shapes[name + ".weight"][1], (int)shapes[name + ".weight"][0]);
        using var dir = new TempDir();
        var both = new[] { M("model.layers.0.self_attn.q_proj"), M("model.layers.1.self_attn.q_proj"), M("model.layers.1.self_attn.v_proj") };

        // layers_to_transform: a layer-0 module in the weights is not a target.
        PeftAdapter.Write(dir.Combine("a"), both, 4, 8, 1, new[] { "q_proj", "v_proj" }, ", \"layers_to_transform\": [1], \"layers_pattern\": \"layers\"");
        var e = Assert.Throws<ModelFormatException>(() => LoraAdapter.Load(dir.Combine("a")));
        Assert.Contains("model.layers.0.self_attn.q_proj", e.Message);
        Assert.Contains("layers_to_transform", e.Message);
        PeftAdapter.Write(dir.Combine("b"), both.Skip(1).ToList(), 4, 8, 1, new[] { "q_proj", "v_proj" }, ", \"layers_to_transform\": 1");
        Assert.Equal(2, LoraAdapter.Load(dir.Combine("b")).Modules.Count);

        // A regex string is a full match on the module path.
        PeftAdapter.Write(dir.Combine("c"), both, 4, 8, 1, Array.Empty<string>());
        File.WriteAllText(dir.Combine("c", "adapter_config.json"), File.ReadAllText(dir.Combine("c", "adapter_config.json"))
            .Replace("\"target_modules\": []", "\"target_modules\": \"model\\\\.layers\\\\.\\\\d+\\\\.self_attn\\\\.q_proj\""));
        Assert.Contains("v_proj", Assert.Throws<ModelFormatException>(() => LoraAdapter.Load(dir.Combine("c"))).Message);

        // rank_pattern / alpha_pattern give per-module r and alpha; rsLoRA needs a square rank.
        PeftAdapter.Write(dir.Combine("d"), both, 4, 8, 1, new[] { "q_proj", "v_proj" }, ", \"alpha_pattern\": {\"v_proj\": 3}, \"use_rslora\": true");
        var d = LoraAdapter.Load(dir.Combine("d"));
        Assert.Equal(new Fraction(4, 1), d.GetModule("model.layers.0.self_attn.q_proj").Scaling);   // 8/√4
        Assert.Equal(new Fraction(3, 2), d.GetModule("model.layers.1.self_attn.v_proj").Scaling);   // 3/√4
        PeftAdapter.Write(dir.Combine("f"), both, 2, 8, 1, new[] { "q_proj", "v_proj" }, ", \"use_rslora\": true");
        Assert.Contains("irrational", Assert.Throws<NotSupportedException>(() => LoraAdapter.Load(dir.Combine("f"))).Message);
    }

    internal static double ReferenceLoss(double[][] logits, IReadOnlyList<int> ids)
    {
        double total = 0;
        for (int t = 0; t + 1 < ids.Count; t++)
        {
            double max = logits[t].Max();
            double lse = max + Math.Log(logits[t].Sum(v => Math.Exp(v - max)));
            total += lse - logits[t][ids[t + 1]];
        }
        return total / (ids.Count - 1);
    }
}

/// <summary>Writes PEFT adapter folders (adapter_config.json + adapter_model.safetensors) for tests.</summary>
internal static class PeftAdapter
{
    public static Dictionary<string, (double[][] A, double[][] B)> Write(string dir, IReadOnlyList<(string Module, int In, int Out)> modules, int rank, int alpha, ulong seed,
        string[] targetModules, string extraConfig = "")
    {
        Directory.CreateDirectory(dir);
        var rng = new SplitMix64(seed);
        var result = new Dictionary<string, (double[][], double[][])>();
        var tensors = new List<SafetensorsTensor>();
        foreach (var (module, nIn, nOut) in modules)
        {
            var a = Enumerable.Range(0, rank).Select(_ => Enumerable.Range(0, nIn).Select(_ => (double)(float)rng.NextSymmetric(0.5)).ToArray()).ToArray();
            var b = Enumerable.Range(0, nOut).Select(_ => Enumerable.Range(0, rank).Select(_ => (double)(float)rng.NextSymmetric(0.5)).ToArray()).ToArray();
            result[module] = (a, b);
            tensors.Add(new SafetensorsTensor($"base_model.model.{module}.lora_A.weight", SafetensorsDType.F32, new long[] { rank, nIn }, a.SelectMany(r => r).ToArray()));
            tensors.Add(new SafetensorsTensor($"base_model.model.{module}.lora_B.weight", SafetensorsDType.F32, new long[] { nOut, rank }, b.SelectMany(r => r).ToArray()));
        }
        SafetensorsWriter.Write(Path.Combine(dir, "adapter_model.safetensors"), tensors);
        File.WriteAllText(Path.Combine(dir, "adapter_config.json"),
            $$"""{"peft_type": "LORA", "r": {{rank}}, "lora_alpha": {{alpha}}, "target_modules": [{{string.Join(", ", targetModules.Select(t => "\"" + t + "\""))}}], "fan_in_fan_out": false, "bias": "none"{{extraConfig}}}""");
        return result;
    }

    /// <summary>y + scaling·B·(A·x).</summary>
    public static double[] Add(double[] y, double[][] a, double[][] b, double scaling, double[] x)
    {
        var h = a.Select(row => row.Select((w, i) => w * x[i]).Sum()).ToArray();
        return y.Select((v, o) => v + scaling * b[o].Select((w, j) => w * h[j]).Sum()).ToArray();
    }
}
