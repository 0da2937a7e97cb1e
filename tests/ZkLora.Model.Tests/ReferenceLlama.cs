using System.Globalization;

namespace ZkLora.Model.Tests;

/// <summary>
/// A deliberately plain forward pass of the Llama-style decoders (Hugging Face LlamaForCausalLM,
/// MistralForCausalLM, Qwen2ForCausalLM, Phi3ForCausalLM) on double arrays, written from the published
/// architecture (the transformers modeling files' equations) without TorchSharp and without any code
/// of src/: token-by-token loops, per-head attention, explicit rotary pairs.
/// Weights are keyed by their Hugging Face checkpoint names.
/// </summary>
internal sealed class ReferenceLlama
{
    public required string ModelType;
    public required int Vocab, Hidden, Inter, Layers, Heads, KvHeads, HeadDim, MaxPos;
    public double Eps = 1e-6;
    public double Theta = 10000;
    public bool Tied;
    public int? Window;
    public bool AttentionBias, MlpBias;         // llama options
    public string? RopeType;                    // null, "linear" or "llama3"
    public double RopeFactor = 1, LowFreq = 1, HighFreq = 4;
    public int OriginalMax = 8192;
    public required Dictionary<string, double[]> W;

    private bool Fused => ModelType == "phi3";
    private bool QkvBias => ModelType == "qwen2" || (ModelType == "llama" && AttentionBias);
    private bool OBias => ModelType == "llama" && AttentionBias;
    private bool MBias => ModelType == "llama" && MlpBias;

    public IEnumerable<(string Name, long[] Shape)> Shapes()
    {
        long q = Heads * HeadDim, kv = KvHeads * HeadDim;
        yield return ("model.embed_tokens.weight", new long[] { Vocab, Hidden });
        for (int l = 0; l < Layers; l++)
        {
            string p = $"model.layers.{l}.";
            yield return (p + "input_layernorm.weight", new long[] { Hidden });
            if (Fused) yield return (p + "self_attn.qkv_proj.weight", new long[] { q + 2 * kv, Hidden });
            else
            {
                yield return (p + "self_attn.q_proj.weight", new long[] { q, Hidden });
                yield return (p + "self_attn.k_proj.weight", new long[] { kv, Hidden });
                yield return (p + "self_attn.v_proj.weight", new long[] { kv, Hidden });
                if (QkvBias)
                {
                    yield return (p + "self_attn.q_proj.bias", new long[] { q });
                    yield return (p + "self_attn.k_proj.bias", new long[] { kv });
                    yield return (p + "self_attn.v_proj.bias", new long[] { kv });
                }
            }
            yield return (p + "self_attn.o_proj.weight", new long[] { Hidden, q });
            if (OBias) yield return (p + "self_attn.o_proj.bias", new long[] { Hidden });
            yield return (p + "post_attention_layernorm.weight", new long[] { Hidden });
            if (Fused) yield return (p + "mlp.gate_up_proj.weight", new long[] { 2 * Inter, Hidden });
            else
            {
                yield return (p + "mlp.gate_proj.weight", new long[] { Inter, Hidden });
                yield return (p + "mlp.up_proj.weight", new long[] { Inter, Hidden });
                if (MBias)
                {
                    yield return (p + "mlp.gate_proj.bias", new long[] { Inter });
                    yield return (p + "mlp.up_proj.bias", new long[] { Inter });
                }
            }
            yield return (p + "mlp.down_proj.weight", new long[] { Hidden, Inter });
            if (MBias) yield return (p + "mlp.down_proj.bias", new long[] { Hidden });
        }
        yield return ("model.norm.weight", new long[] { Hidden });
        if (!Tied) yield return ("lm_head.weight", new long[] { Vocab, Hidden });
    }

    /// <summary>Random weights; <paramref name="round"/> maps each value to what the checkpoint dtype stores.</summary>
    public void Randomize(ulong seed, Func<double, double> round)
    {
        var rng = new SplitMix64(seed);
        W = new Dictionary<string, double[]>();
        foreach (var (name, shape) in Shapes())
        {
            long n = shape.Aggregate(1L, (a, b) => a * b);
            bool gain = name.EndsWith("norm.weight");
            W[name] = Enumerable.Range(0, (int)n).Select(_ => round((gain ? 1.0 : 0.0) + rng.NextSymmetric(0.5))).ToArray();
        }
    }

    public static double F32(double v) => (float)v;
    public static double BF16(double v)
    {
        // Round to nearest even on the upper 16 bits of the binary32 (values here are finite).
        uint bits = BitConverter.SingleToUInt32Bits((float)v);
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000;
        return BitConverter.UInt32BitsToSingle(bits);
    }
    public static double F16(double v) => (double)(Half)v;

    public string ConfigJson(string extra = "")
    {
        string D(double x) => x.ToString("R", CultureInfo.InvariantCulture);
        string rope = RopeType switch
        {
            null => "null",
            "linear" => $$"""{"rope_type": "linear", "factor": {{D(RopeFactor)}}}""",
            _ => $$"""{"rope_type": "llama3", "factor": {{D(RopeFactor)}}, "low_freq_factor": {{D(LowFreq)}}, "high_freq_factor": {{D(HighFreq)}}, "original_max_position_embeddings": {{OriginalMax}}}""",
        };
        string window = Window is int w ? w.ToString(CultureInfo.InvariantCulture) : "null";
        return $$"""
            {"model_type": "{{ModelType}}", "vocab_size": {{Vocab}}, "hidden_size": {{Hidden}}, "intermediate_size": {{Inter}},
             "num_hidden_layers": {{Layers}}, "num_attention_heads": {{Heads}}, "num_key_value_heads": {{KvHeads}}, "head_dim": {{HeadDim}},
             "max_position_embeddings": {{MaxPos}}, "rms_norm_eps": {{D(Eps)}}, "rope_theta": {{D(Theta)}}, "rope_scaling": {{rope}},
             "tie_word_embeddings": {{(Tied ? "true" : "false")}}, "hidden_act": "silu", "sliding_window": {{window}},
             "attention_bias": {{(AttentionBias ? "true" : "false")}}, "mlp_bias": {{(MlpBias ? "true" : "false")}},
             "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16"{{extra}}}
            """;
    }

    /// <summary>Writes config.json and the weights (one file, or <paramref name="shards"/> files with an index).</summary>
    public void WriteFolder(string dir, SafetensorsDType dtype, int shards = 1, IEnumerable<SafetensorsTensor>? extraTensors = null, string extraConfig = "")
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), ConfigJson(extraConfig));
        var tensors = Shapes().Select(s => new SafetensorsTensor(s.Name, dtype, s.Shape, W[s.Name])).Concat(extraTensors ?? Array.Empty<SafetensorsTensor>()).ToList();
        if (shards == 1)
        {
            SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), tensors);
            return;
        }
        var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int s = 0; s < shards; s++)
        {
            string file = $"model-{s + 1:D5}-of-{shards:D5}.safetensors";
            var part = tensors.Where((_, i) => i % shards == s).ToList();
            SafetensorsWriter.Write(Path.Combine(dir, file), part);
            foreach (var t in part) map[t.Name] = file;
        }
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"),
            System.Text.Json.JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = map }));
    }

    /// <summary>A module-output hook: (module name, token index, input, output) → replacement output.</summary>
    public Func<string, int, double[], double[], double[]>? Hook;

    // nn.Linear: y = W x + b with W stored (out, in).
    private double[] Linear(string module, int t, double[] x, int nOut)
    {
        var w = W[module + ".weight"];
        W.TryGetValue(module + ".bias", out var b);
        int nIn = x.Length;
        var y = new double[nOut];
        for (int o = 0; o < nOut; o++)
        {
            double s = b?[o] ?? 0;
            for (int i = 0; i < nIn; i++) s += w[o * nIn + i] * x[i];
            y[o] = s;
        }
        return Hook is null ? y : Hook(module, t, x, y);
    }

    private double[] RmsNorm(double[] x, string name)
    {
        var g = W[name];
        double ms = 0;
        foreach (var v in x) ms += v * v;
        ms /= x.Length;
        double r = 1 / Math.Sqrt(ms + Eps);
        var y = new double[x.Length];
        for (int i = 0; i < x.Length; i++) y[i] = g[i] * (x[i] * r);
        return y;
    }

    /// <summary>inv_freq as transformers' _compute_default / _compute_linear / _compute_llama3 parameters define it.</summary>
    public double[] InvFreq()
    {
        int half = HeadDim / 2;
        var inv = new double[half];
        for (int i = 0; i < half; i++) inv[i] = 1.0 / Math.Pow(Theta, (2.0 * i) / HeadDim);
        if (RopeType == "linear") return inv.Select(f => f / RopeFactor).ToArray();
        if (RopeType != "llama3") return inv;
        double lowWavelen = OriginalMax / LowFreq, highWavelen = OriginalMax / HighFreq;
        var result = new double[half];
        for (int i = 0; i < half; i++)
        {
            double wavelen = 2 * Math.PI / inv[i];
            double scaled = wavelen > lowWavelen ? inv[i] / RopeFactor : inv[i];          // torch.where(wavelen > low, inv/factor, inv)
            double smooth = (OriginalMax / wavelen - LowFreq) / (HighFreq - LowFreq);
            double smoothed = (1 - smooth) * scaled / RopeFactor + smooth * scaled;
            bool medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
            result[i] = medium ? smoothed : scaled;
        }
        return result;
    }

    // apply_rotary_pos_emb with rotate_half: pair (i, i + d/2) is rotated by angle pos·inv[i].
    private void Rope(double[] v, int offset, int pos, double[] inv)
    {
        int half = HeadDim / 2;
        for (int i = 0; i < half; i++)
        {
            double angle = pos * inv[i];
            double c = Math.Cos(angle), s = Math.Sin(angle);
            double a = v[offset + i], b = v[offset + i + half];
            v[offset + i] = a * c - b * s;
            v[offset + i + half] = b * c + a * s;
        }
    }

    private static double Silu(double x) => x / (1 + Math.Exp(-x));

    public double[][] Logits(IReadOnlyList<int> ids)
    {
        int T = ids.Count, D = HeadDim, qW = Heads * D, kvW = KvHeads * D, group = Heads / KvHeads;
        var inv = InvFreq();
        var h = new double[T][];
        for (int t = 0; t < T; t++) h[t] = W["model.embed_tokens.weight"].AsSpan(ids[t] * Hidden, Hidden).ToArray();
        for (int l = 0; l < Layers; l++)
        {
            string p = $"model.layers.{l}.";
            var q = new double[T][];
            var k = new double[T][];
            var v = new double[T][];
            for (int t = 0; t < T; t++)
            {
                var x = RmsNorm(h[t], p + "input_layernorm.weight");
                if (Fused)
                {
                    var qkv = Linear(p + "self_attn.qkv_proj", t, x, qW + 2 * kvW);
                    q[t] = qkv[..qW];
                    k[t] = qkv[qW..(qW + kvW)];
                    v[t] = qkv[(qW + kvW)..];
                }
                else
                {
                    q[t] = Linear(p + "self_attn.q_proj", t, x, qW);
                    k[t] = Linear(p + "self_attn.k_proj", t, x, kvW);
                    v[t] = Linear(p + "self_attn.v_proj", t, x, kvW);
                }
                for (int hd = 0; hd < Heads; hd++) Rope(q[t], hd * D, t, inv);
                for (int hd = 0; hd < KvHeads; hd++) Rope(k[t], hd * D, t, inv);
            }
            for (int t = 0; t < T; t++)
            {
                var o = new double[qW];
                for (int hd = 0; hd < Heads; hd++)
                {
                    int kvh = hd / group; // repeat_kv: query head hd reads key/value head hd / n_rep
                    int first = Window is int w ? Math.Max(0, t - w + 1) : 0;
                    var scores = new double[t + 1];
                    double max = double.NegativeInfinity;
                    for (int s = first; s <= t; s++)
                    {
                        double dot = 0;
                        for (int i = 0; i < D; i++) dot += q[t][hd * D + i] * k[s][kvh * D + i];
                        scores[s] = dot / Math.Sqrt(D);
                        max = Math.Max(max, scores[s]);
                    }
                    double z = 0;
                    for (int s = first; s <= t; s++) z += Math.Exp(scores[s] - max);
                    for (int s = first; s <= t; s++)
                    {
                        double a = Math.Exp(scores[s] - max) / z;
                        for (int i = 0; i < D; i++) o[hd * D + i] += a * v[s][kvh * D + i];
                    }
                }
                var attnOut = Linear(p + "self_attn.o_proj", t, o, Hidden);
                for (int i = 0; i < Hidden; i++) h[t][i] += attnOut[i];
                var x = RmsNorm(h[t], p + "post_attention_layernorm.weight");
                double[] act = new double[Inter];
                if (Fused)
                {
                    var gu = Linear(p + "mlp.gate_up_proj", t, x, 2 * Inter);
                    for (int i = 0; i < Inter; i++) act[i] = gu[Inter + i] * Silu(gu[i]); // chunk(2): gate first, up second
                }
                else
                {
                    var g = Linear(p + "mlp.gate_proj", t, x, Inter);
                    var u = Linear(p + "mlp.up_proj", t, x, Inter);
                    for (int i = 0; i < Inter; i++) act[i] = Silu(g[i]) * u[i];
                }
                var down = Linear(p + "mlp.down_proj", t, act, Hidden);
                for (int i = 0; i < Hidden; i++) h[t][i] += down[i];
            }
        }
        var head = Tied ? W["model.embed_tokens.weight"] : W["lm_head.weight"];
        var logits = new double[T][];
        for (int t = 0; t < T; t++)
        {
            var f = RmsNorm(h[t], "model.norm.weight");
            logits[t] = new double[Vocab];
            for (int vv = 0; vv < Vocab; vv++)
            {
                double s = 0;
                for (int i = 0; i < Hidden; i++) s += head[vv * Hidden + i] * f[i];
                logits[t][vv] = s;
            }
            if (Hook is not null) logits[t] = Hook("lm_head", t, f, logits[t]);
        }
        return logits;
    }
}
