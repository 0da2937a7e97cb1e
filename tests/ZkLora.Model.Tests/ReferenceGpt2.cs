namespace ZkLora.Model.Tests;

/// <summary>
/// A deliberately plain GPT-2 forward pass on double arrays (loops only, no TorchSharp), used as the
/// test-side reference for the TorchSharp model. Weights use GPT2Model names without "transformer.".
/// </summary>
internal sealed class ReferenceGpt2
{
    public required int Vocab, Positions, Embd, Heads, Layers, Inner;
    public double Eps = 1e-5;
    public bool InverseLayerScale;
    public bool Tied = true;
    public bool ExactGelu;
    public required Dictionary<string, double[]> W;

    public IEnumerable<(string Name, long[] Shape)> Shapes()
    {
        yield return ("wte.weight", new long[] { Vocab, Embd });
        yield return ("wpe.weight", new long[] { Positions, Embd });
        for (int l = 0; l < Layers; l++)
        {
            string p = $"h.{l}.";
            yield return (p + "ln_1.weight", new long[] { Embd });
            yield return (p + "ln_1.bias", new long[] { Embd });
            yield return (p + "attn.c_attn.weight", new long[] { Embd, 3 * Embd });
            yield return (p + "attn.c_attn.bias", new long[] { 3 * Embd });
            yield return (p + "attn.c_proj.weight", new long[] { Embd, Embd });
            yield return (p + "attn.c_proj.bias", new long[] { Embd });
            yield return (p + "ln_2.weight", new long[] { Embd });
            yield return (p + "ln_2.bias", new long[] { Embd });
            yield return (p + "mlp.c_fc.weight", new long[] { Embd, Inner });
            yield return (p + "mlp.c_fc.bias", new long[] { Inner });
            yield return (p + "mlp.c_proj.weight", new long[] { Inner, Embd });
            yield return (p + "mlp.c_proj.bias", new long[] { Embd });
        }
        yield return ("ln_f.weight", new long[] { Embd });
        yield return ("ln_f.bias", new long[] { Embd });
        if (!Tied) yield return ("lm_head.weight", new long[] { Vocab, Embd });
    }

    /// <summary>A model with random float32-exact weights drawn from a seeded generator.</summary>
    public static ReferenceGpt2 Random(ulong seed, int vocab, int positions, int embd, int heads, int layers, int inner, bool tied = true)
    {
        var m = new ReferenceGpt2 { Vocab = vocab, Positions = positions, Embd = embd, Heads = heads, Layers = layers, Inner = inner, Tied = tied, W = new() };
        var rng = new SplitMix64(seed);
        foreach (var (name, shape) in m.Shapes())
        {
            long n = shape.Aggregate(1L, (a, b) => a * b);
            bool gain = name.EndsWith("ln_1.weight") || name.EndsWith("ln_2.weight") || name.EndsWith("ln_f.weight");
            m.W[name] = Enumerable.Range(0, (int)n).Select(_ => (double)(float)((gain ? 1.0 : 0.0) + rng.NextSymmetric(0.4))).ToArray();
        }
        return m;
    }

    /// <summary>Writes the weights as a Hugging Face model folder (config.json + model.safetensors).</summary>
    public void WriteFolder(string dir, string prefix = "transformer.", SafetensorsDType dtype = SafetensorsDType.F32)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"),
            $$"""
            {"model_type": "gpt2", "vocab_size": {{Vocab}}, "n_positions": {{Positions}}, "n_embd": {{Embd}}, "n_head": {{Heads}},
             "n_layer": {{Layers}}, "n_inner": {{Inner}}, "layer_norm_epsilon": {{Eps.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}},
             "activation_function": "{{(ExactGelu ? "gelu" : "gelu_new")}}", "scale_attn_by_inverse_layer_idx": {{(InverseLayerScale ? "true" : "false")}},
             "tie_word_embeddings": {{(Tied ? "true" : "false")}}}
            """);
        SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"),
            Shapes().Select(s => new SafetensorsTensor(s.Name == "lm_head.weight" ? s.Name : prefix + s.Name, dtype, s.Shape, W[s.Name])));
    }

    /// <summary>A module-output hook: (module name, token index, input, output) → replacement output.</summary>
    public Func<string, int, double[], double[], double[]>? Hook;

    private double[] Linear(string name, double[] x, int nIn, int nOut)
    {
        var w = W[name + ".weight"];
        var b = W[name + ".bias"];
        var y = new double[nOut];
        for (int j = 0; j < nOut; j++)
        {
            double s = b[j];
            for (int i = 0; i < nIn; i++) s += x[i] * w[i * nOut + j];
            y[j] = s;
        }
        return y;
    }

    private double[] LayerNorm(double[] x, string name)
    {
        var g = W[name + ".weight"];
        var b = W[name + ".bias"];
        double mean = x.Average();
        double variance = x.Select(v => (v - mean) * (v - mean)).Average();
        double inv = 1.0 / Math.Sqrt(variance + Eps);
        return x.Select((v, i) => (v - mean) * inv * g[i] + b[i]).ToArray();
    }

    private double Gelu(double x) => ExactGelu
        ? 0.5 * x * (1 + Erf(x / Math.Sqrt(2)))
        : 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));

    // Abramowitz–Stegun 7.1.26 is too coarse; use a series/continued-fraction erf accurate to ~1e-15.
    private static double Erf(double x)
    {
        double ax = Math.Abs(x);
        double r;
        if (ax < 2.5)
        {
            double term = ax, sum = ax;
            for (int n = 1; n < 200; n++)
            {
                term *= -ax * ax / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-18) break;
            }
            r = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            double f = 0;
            for (int n = 60; n >= 1; n--) f = n / 2.0 / (ax + f);
            r = 1 - Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / (ax + f);
        }
        return x < 0 ? -r : r;
    }

    public double[][] Logits(IReadOnlyList<int> ids)
    {
        int T = ids.Count, C = Embd, D = Embd / Heads;
        var h = new double[T][];
        for (int t = 0; t < T; t++)
            h[t] = Enumerable.Range(0, C).Select(k => W["wte.weight"][ids[t] * C + k] + W["wpe.weight"][t * C + k]).ToArray();
        for (int l = 0; l < Layers; l++)
        {
            string p = $"h.{l}.";
            var qkv = new double[T][];
            for (int t = 0; t < T; t++) qkv[t] = Apply(p + "attn.c_attn", t, LayerNorm(h[t], p + "ln_1"), C, 3 * C);
            var att = new double[T][];
            for (int t = 0; t < T; t++) att[t] = new double[C];
            double scale = 1 / Math.Sqrt(D) / (InverseLayerScale ? l + 1 : 1);
            for (int hd = 0; hd < Heads; hd++)
                for (int t = 0; t < T; t++)
                {
                    var scores = new double[t + 1];
                    for (int s = 0; s <= t; s++)
                    {
                        double dot = 0;
                        for (int k = 0; k < D; k++) dot += qkv[t][hd * D + k] * qkv[s][C + hd * D + k];
                        scores[s] = dot * scale;
                    }
                    double max = scores.Max();
                    var e = scores.Select(v => Math.Exp(v - max)).ToArray();
                    double z = e.Sum();
                    for (int s = 0; s <= t; s++)
                        for (int k = 0; k < D; k++) att[t][hd * D + k] += e[s] / z * qkv[s][2 * C + hd * D + k];
                }
            for (int t = 0; t < T; t++)
            {
                var proj = Apply(p + "attn.c_proj", t, att[t], C, C);
                for (int k = 0; k < C; k++) h[t][k] += proj[k];
                var fc = Apply(p + "mlp.c_fc", t, LayerNorm(h[t], p + "ln_2"), C, Inner).Select(Gelu).ToArray();
                var mp = Apply(p + "mlp.c_proj", t, fc, Inner, C);
                for (int k = 0; k < C; k++) h[t][k] += mp[k];
            }
        }
        var head = Tied ? W["wte.weight"] : W["lm_head.weight"];
        var logits = new double[T][];
        for (int t = 0; t < T; t++)
        {
            var f = LayerNorm(h[t], "ln_f");
            logits[t] = new double[Vocab];
            for (int v = 0; v < Vocab; v++)
            {
                double s = 0;
                for (int k = 0; k < C; k++) s += f[k] * head[v * C + k];
                logits[t][v] = s;
            }
        }
        return logits;
    }

    private double[] Apply(string name, int t, double[] x, int nIn, int nOut)
    {
        var y = Linear(name, x, nIn, nOut);
        return Hook is null ? y : Hook("transformer." + name, t, x, y);
    }

    public static double Loss(double[][] logits, IReadOnlyList<int> ids)
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
