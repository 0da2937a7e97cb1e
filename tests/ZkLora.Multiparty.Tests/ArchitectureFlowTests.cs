using System.Numerics;
using System.Text.Json;
using ZkLora.Api;
using ZkLora.Api.Multiparty;
using ZkLora.Model;
using ZkLora.Proofs;
using Xunit;

namespace ZkLora.Multiparty.Tests;

/// <summary>
/// serve → infer (KV-cached generation) → end_inference → verify on a tiny random checkpoint of every
/// Llama-family architecture, over loopback, with the adapter on a module of that architecture.
/// </summary>
public class ArchitectureFlowTests
{
    /// <summary>A tiny random Hugging Face checkpoint (config.json + model.safetensors) and a PEFT adapter on <paramref name="target"/>.</summary>
    internal static (string Model, string Adapter) Write(TempDir dir, string arch, string target)
    {
        const int hidden = 8, heads = 2, kvHeads = 1, headDim = 4, inter = 12, vocab = 19, layers = 2;
        bool fused = arch == "phi3";
        string modelDir = dir.Combine(arch, "model");
        string adapterDir = dir.Combine(arch, "adapter");
        Directory.CreateDirectory(modelDir);
        Directory.CreateDirectory(adapterDir);
        File.WriteAllText(Path.Combine(modelDir, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["model_type"] = arch, ["vocab_size"] = vocab, ["hidden_size"] = hidden, ["intermediate_size"] = inter, ["num_hidden_layers"] = layers,
            ["num_attention_heads"] = heads, ["num_key_value_heads"] = fused ? heads : kvHeads, ["head_dim"] = headDim, ["max_position_embeddings"] = 32,
            ["rms_norm_eps"] = 1e-5, ["rope_theta"] = 10000.0, ["tie_word_embeddings"] = arch != "phi3", ["sliding_window"] = arch == "mistral" ? 4 : null,
            ["bos_token_id"] = 1, ["eos_token_id"] = 2,
        }));
        int kv = (fused ? heads : kvHeads) * headDim, q = heads * headDim;
        var shapes = new List<(string, long[])> { ("model.embed_tokens.weight", new long[] { vocab, hidden }), ("model.norm.weight", new long[] { hidden }) };
        if (arch == "phi3") shapes.Add(("lm_head.weight", new long[] { vocab, hidden }));
        for (int l = 0; l < layers; l++)
        {
            string p = $"model.layers.{l}.";
            shapes.Add((p + "input_layernorm.weight", new long[] { hidden }));
            shapes.Add((p + "post_attention_layernorm.weight", new long[] { hidden }));
            shapes.Add((p + "self_attn.o_proj.weight", new long[] { hidden, q }));
            shapes.Add((p + "mlp.down_proj.weight", new long[] { hidden, inter }));
            if (fused)
            {
                shapes.Add((p + "self_attn.qkv_proj.weight", new long[] { q + 2 * kv, hidden }));
                shapes.Add((p + "mlp.gate_up_proj.weight", new long[] { 2 * inter, hidden }));
                continue;
            }
            shapes.Add((p + "self_attn.q_proj.weight", new long[] { q, hidden }));
            shapes.Add((p + "self_attn.k_proj.weight", new long[] { kv, hidden }));
            shapes.Add((p + "self_attn.v_proj.weight", new long[] { kv, hidden }));
            shapes.Add((p + "mlp.gate_proj.weight", new long[] { inter, hidden }));
            shapes.Add((p + "mlp.up_proj.weight", new long[] { inter, hidden }));
            if (arch == "qwen2")
            {
                shapes.Add((p + "self_attn.q_proj.bias", new long[] { q }));
                shapes.Add((p + "self_attn.k_proj.bias", new long[] { kv }));
                shapes.Add((p + "self_attn.v_proj.bias", new long[] { kv }));
            }
        }
        var rng = new Random(arch.Length * 7919 + target.Length);
        double[] Values(long n, bool gain) => Enumerable.Range(0, (int)n).Select(_ => (double)(float)((gain ? 1 : 0) + (rng.NextDouble() - 0.5))).ToArray();
        SafetensorsWriter.Write(Path.Combine(modelDir, "model.safetensors"),
            shapes.Select(s => new SafetensorsTensor(s.Item1, SafetensorsDType.BF16, s.Item2, Values(s.Item2.Aggregate(1L, (a, b) => a * b), s.Item1.EndsWith("norm.weight")))));

        var shape = shapes.Single(s => s.Item1 == target + ".weight").Item2;
        const int rank = 2;
        SafetensorsWriter.Write(Path.Combine(adapterDir, "adapter_model.safetensors"), new[]
        {
            new SafetensorsTensor($"base_model.model.{target}.lora_A.weight", SafetensorsDType.F32, new long[] { rank, shape[1] }, Values(rank * shape[1], false)),
            new SafetensorsTensor($"base_model.model.{target}.lora_B.weight", SafetensorsDType.F32, new long[] { shape[0], rank }, Values(shape[0] * rank, false)),
        });
        string shortName = target[(target.LastIndexOf('.') + 1)..];
        File.WriteAllText(Path.Combine(adapterDir, "adapter_config.json"),
            $$"""{"peft_type": "LORA", "r": {{rank}}, "lora_alpha": 4, "target_modules": ["{{shortName}}"], "layers_to_transform": [1], "fan_in_fan_out": false}""");
        return (modelDir, adapterDir);
    }

    /// <summary>The client's fixed-point pipeline computed locally (quantize, exact integer delta, dequantize, add).</summary>
    private static void PatchLocally(CausalLanguageModel model, LoraAdapter adapter)
    {
        var cfg = FixedPoint.defaultConfig;
        foreach (var m in adapter.Modules)
        {
            BigInteger[][] Q(double[][] w) => w.Select(r => r.Select(v => FixedPoint.quantize(cfg, v).ResultValue).ToArray()).ToArray();
            var a = Q(m.A);
            var b = Q(m.B);
            var s = FixedPoint.scaling(m.Scaling.Numerator, m.Scaling.Denominator).ResultValue;
            model.Patch(m.Name, (input, baseOutput) =>
            {
                var delta = FixedPoint.deltaRows(cfg, a, b, Q(TensorRows.ToRows(input)), s.Num, s.Den).ResultValue;
                var values = delta.Select(r => r.Select(v => FixedPoint.dequantize(cfg, v)).ToArray()).ToArray();
                return baseOutput.add(TensorRows.FromRows(values, baseOutput.shape, baseOutput.dtype));
            });
        }
    }

    [Theory(Timeout = 300000)]
    [InlineData("llama", "model.layers.1.self_attn.v_proj")]
    [InlineData("mistral", "model.layers.1.mlp.down_proj")]
    [InlineData("qwen2", "model.layers.1.self_attn.q_proj")]
    [InlineData("phi3", "model.layers.1.self_attn.qkv_proj")]
    public async Task Generation_is_served_proved_and_verified(string arch, string target)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(280));
        using var dir = new TempDir();
        var (modelDir, adapterDir) = Write(dir, arch, target);
        var adapter = LoraAdapter.Load(adapterDir);
        Assert.Equal(new[] { target }, adapter.ModuleNames);
        await using var server = await RunningServer.StartAsync(adapter, outDir: dir.Combine(arch, "contributor"));
        string pinned = dir.Combine(arch, "pinned.json");
        server.Server.WriteManifest(pinned);

        int[] prompt = { 1, 7, 4, 11 };
        var options = new GenerationOptions { MaxNewTokens = 3, StopAtEos = false };
        IReadOnlyList<int> expected;
        using (var local = CausalLanguageModel.Load(modelDir))
        {
            PatchLocally(local, adapter);
            expected = local.Generate(prompt, options);
        }

        await using var client = BaseModelClient.Load(modelDir, [server.Endpoint], CombineMode.AddDelta, "gen-" + arch);
        await client.InitAndPatchAsync(cts.Token);
        Assert.Equal(target, Assert.Single(client.ModuleOwners).Key);
        var streamed = new List<int>();
        var got = await client.GenerateAsync(prompt, options, streamed.Add, cts.Token);
        Assert.Equal(expected, got);
        Assert.Equal(got, streamed);

        // The prompt is one call of 4 rows, then each further token is one call of one row.
        var entries = client.GetTranscript().Entries;
        Assert.Equal(new long[] { 4, 1, 1 }, entries.Select(e => e.InputShape[^2]).ToArray());
        Assert.All(entries, e => Assert.Equal(target, e.ModuleName));
        string transcript = dir.Combine(arch, "transcript.json");
        client.WriteTranscript(transcript);

        var outcome = Assert.Single(await client.EndInferenceAsync(cts.Token));
        Assert.Null(outcome.Error);
        // The default projection backend proves the module's three calls with one proof.
        Assert.Equal(1, outcome.Response!.ProofsWritten);
        Assert.Equal(1, ProofVerification.BatchVerifyProofs(server.Server.ProofDirectory, transcript, pinned).ProofCount);
    }

    [Fact(Timeout = 240000)]
    public async Task Logits_and_token_losses_go_through_the_contributor_under_the_lock()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(200));
        using var dir = new TempDir();
        var (modelDir, adapterDir) = Write(dir, "llama", "model.layers.1.mlp.gate_proj");
        var adapter = LoraAdapter.Load(adapterDir);
        await using var server = await RunningServer.StartAsync(adapter);
        int[] ids = { 1, 3, 5, 7, 9 };
        double[][] wantLogits;
        double[] wantLosses;
        using (var local = CausalLanguageModel.Load(modelDir))
        {
            PatchLocally(local, adapter);
            wantLogits = local.Logits(ids);
            wantLosses = local.TokenLosses(ids);
        }
        using var model = CausalLanguageModel.Load(modelDir);
        await using var client = new BaseModelClient(model, [server.Endpoint], CombineMode.AddDelta, "logits-1");
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.LogitsAsync(ids));
        await client.InitAndPatchAsync(cts.Token);
        var logitsTask = client.LogitsAsync(ids, cts.Token);
        var lossesTask = client.TokenLossesAsync(ids, cts.Token); // waits for the lock
        Assert.Equal(wantLogits, await logitsTask);
        Assert.Equal(wantLosses, await lossesTask);
        Assert.Equal(wantLosses.Average(), await client.LossAsync(ids, cts.Token), 12);
        Assert.Equal(3, client.GetTranscript().Entries.Count);

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.TokenLossesAsync(ids, cancelled.Token));
        Assert.Equal(3, client.GetTranscript().Entries.Count);
    }
}
