// Llama-3.2-1B-shaped checkpoint benchmark (issue 14, item 9).
//   make <dir>  writes a random BF16 checkpoint of Llama 3.2 1B's shape (16 layers, hidden 2048,
//               32 heads, 8 kv heads, intermediate 8192, vocab 128256, tied embeddings, llama3 rope
//               scaling; ~2.5 GB, streamed, never held in memory) and a rank-16 PEFT adapter on every
//               q_proj and v_proj, under <dir>/model and <dir>/adapter.
//   run <dir>   loads the model (time, resident memory), runs a 64-token forward pass without and
//               with the adapter applied through the client's fixed-point pipeline (quantize the
//               input, exact integer delta, dequantize, add; no network), and prints the number of
//               LoRA calls, the times and the peak resident memory.
// Proving one call is measured with bench/ZkLora.Bench's `lora` mode on the same shapes.
//   make-gpt2 <dir>  writes a random F32 checkpoint of distilgpt2's shape (6 layers, n_embd 768, 12 heads,
//               1024 positions, vocab 50257) with the demo's byte-level BPE tokenizer files, and a rank-8
//               PEFT adapter (alpha 16) on every attn.c_attn (768×8×2304), for the issue-13 session
//               benchmark bench/distilgpt2-session.sh (serve + infer + verify with the real CLI).
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text;
using ZkLora.Model;
using ZkLora.Proofs;

const int Layers = 16, Hidden = 2048, Heads = 32, KvHeads = 8, HeadDim = 64, Inter = 8192, Vocab = 128256, Rank = 16;

if (args.Length != 2 || args[0] is not ("make" or "run" or "make-gpt2"))
{
    Console.Error.WriteLine("usage: dotnet run -c Release --project bench/ZkLora.ModelBench -- make <dir> | run <dir> | make-gpt2 <dir>");
    return 2;
}
string root = Path.GetFullPath(args[1]);
string modelDir = Path.Combine(root, "model"), adapterDir = Path.Combine(root, "adapter");
Console.WriteLine($"machine: {Environment.OSVersion}, {Environment.ProcessorCount} cores, .NET {Environment.Version}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; load average {File.ReadAllText("/proc/loadavg").Trim()}");

if (args[0] == "make-gpt2")
{
    const int G2Layers = 6, G2Embd = 768, G2Heads = 12, G2Positions = 1024, G2Vocab = 50257, G2Rank = 8, G2Alpha = 16;
    var sw = Stopwatch.StartNew();
    // The tokenizer files of the built-in demo (byte-level BPE; every id is below G2Vocab).
    var demo = DemoModel.Create(Path.Combine(root, "demo-tokenizer"));
    Directory.CreateDirectory(modelDir);
    Directory.CreateDirectory(adapterDir);
    foreach (var f in new[] { "vocab.json", "merges.txt" })
        File.Copy(Path.Combine(demo.ModelDirectory, f), Path.Combine(modelDir, f), overwrite: true);
    int eot = DemoModel.VocabSize - 1;
    File.WriteAllText(Path.Combine(modelDir, "tokenizer_config.json"),
        $$"""{"add_prefix_space": false, "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "model_max_length": {{G2Positions}}, "tokenizer_class": "GPT2Tokenizer"}""");
    File.WriteAllText(Path.Combine(modelDir, "config.json"),
        $$"""
        {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "bos_token_id": {{eot}}, "eos_token_id": {{eot}},
         "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": {{G2Positions}}, "n_embd": {{G2Embd}}, "n_head": {{G2Heads}},
         "n_inner": null, "n_layer": {{G2Layers}}, "n_positions": {{G2Positions}}, "tie_word_embeddings": true, "torch_dtype": "float32", "vocab_size": {{G2Vocab}}}
        """);
    var rng = new Random(82);
    double[] U(long count, double amplitude, double offset = 0)
    {
        var v = new double[count];
        for (long i = 0; i < count; i++) v[i] = (float)(offset + (rng.NextDouble() * 2 - 1) * amplitude);
        return v;
    }
    var weights = new List<SafetensorsTensor>();
    void Add(string name, long[] shape, double amplitude, double offset = 0) =>
        weights.Add(new SafetensorsTensor("transformer." + name, SafetensorsDType.F32, shape, U(shape.Aggregate(1L, (a, b) => a * b), amplitude, offset)));
    int c = G2Embd, inner = 4 * G2Embd;
    Add("wte.weight", new long[] { G2Vocab, c }, 0.1);
    Add("wpe.weight", new long[] { G2Positions, c }, 0.02);
    for (int l = 0; l < G2Layers; l++)
    {
        string p = $"h.{l}.";
        Add(p + "ln_1.weight", new long[] { c }, 0.1, 1.0);
        Add(p + "ln_1.bias", new long[] { c }, 0.02);
        Add(p + "attn.c_attn.weight", new long[] { c, 3 * c }, 0.5 * Math.Sqrt(3.0 / c));
        Add(p + "attn.c_attn.bias", new long[] { 3 * c }, 0.02);
        Add(p + "attn.c_proj.weight", new long[] { c, c }, 0.5 * Math.Sqrt(3.0 / c));
        Add(p + "attn.c_proj.bias", new long[] { c }, 0.02);
        Add(p + "ln_2.weight", new long[] { c }, 0.1, 1.0);
        Add(p + "ln_2.bias", new long[] { c }, 0.02);
        Add(p + "mlp.c_fc.weight", new long[] { c, inner }, 0.5 * Math.Sqrt(3.0 / c));
        Add(p + "mlp.c_fc.bias", new long[] { inner }, 0.02);
        Add(p + "mlp.c_proj.weight", new long[] { inner, c }, 0.5 * Math.Sqrt(3.0 / inner));
        Add(p + "mlp.c_proj.bias", new long[] { c }, 0.02);
    }
    Add("ln_f.weight", new long[] { c }, 0.1, 1.0);
    Add("ln_f.bias", new long[] { c }, 0.02);
    SafetensorsWriter.Write(Path.Combine(modelDir, "model.safetensors"), weights);
    weights.Clear();
    var lora = new List<SafetensorsTensor>();
    for (int l = 0; l < G2Layers; l++)
    {
        // PEFT layout: lora_A.weight (r, in), lora_B.weight (out, r), also for Conv1D targets.
        string name = $"base_model.model.transformer.h.{l}.attn.c_attn";
        lora.Add(new SafetensorsTensor(name + ".lora_A.weight", SafetensorsDType.F32, new long[] { G2Rank, c }, U(G2Rank * c, 0.04)));
        lora.Add(new SafetensorsTensor(name + ".lora_B.weight", SafetensorsDType.F32, new long[] { 3 * c, G2Rank }, U(3 * c * G2Rank, 0.04)));
    }
    SafetensorsWriter.Write(Path.Combine(adapterDir, "adapter_model.safetensors"), lora);
    File.WriteAllText(Path.Combine(adapterDir, "adapter_config.json"),
        $$"""{"peft_type": "LORA", "r": {{G2Rank}}, "lora_alpha": {{G2Alpha}}, "target_modules": ["c_attn"], "fan_in_fan_out": true, "bias": "none", "base_model_name_or_path": "distilgpt2-shaped"}""");
    Console.WriteLine($"written {new FileInfo(Path.Combine(modelDir, "model.safetensors")).Length / 1e9:F2} GB in {sw.Elapsed.TotalSeconds:F1} s to {root}");
    return 0;
}

if (args[0] == "make")
{
    Directory.CreateDirectory(modelDir);
    Directory.CreateDirectory(adapterDir);
    var sw = Stopwatch.StartNew();
    File.WriteAllText(Path.Combine(modelDir, "config.json"), $$"""
        {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": {{Vocab}}, "hidden_size": {{Hidden}}, "intermediate_size": {{Inter}},
         "num_hidden_layers": {{Layers}}, "num_attention_heads": {{Heads}}, "num_key_value_heads": {{KvHeads}}, "head_dim": {{HeadDim}},
         "max_position_embeddings": 131072, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
         "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0, "original_max_position_embeddings": 8192, "rope_type": "llama3"},
         "tie_word_embeddings": true, "hidden_act": "silu", "attention_bias": false, "mlp_bias": false,
         "bos_token_id": 128000, "eos_token_id": 128001, "torch_dtype": "bfloat16"}
        """);
    var shapes = new List<(string Name, long[] Shape, bool Gain)> { ("model.embed_tokens.weight", new long[] { Vocab, Hidden }, false) };
    for (int l = 0; l < Layers; l++)
    {
        string p = $"model.layers.{l}.";
        shapes.Add((p + "input_layernorm.weight", new long[] { Hidden }, true));
        shapes.Add((p + "self_attn.q_proj.weight", new long[] { Heads * HeadDim, Hidden }, false));
        shapes.Add((p + "self_attn.k_proj.weight", new long[] { KvHeads * HeadDim, Hidden }, false));
        shapes.Add((p + "self_attn.v_proj.weight", new long[] { KvHeads * HeadDim, Hidden }, false));
        shapes.Add((p + "self_attn.o_proj.weight", new long[] { Hidden, Heads * HeadDim }, false));
        shapes.Add((p + "post_attention_layernorm.weight", new long[] { Hidden }, true));
        shapes.Add((p + "mlp.gate_proj.weight", new long[] { Inter, Hidden }, false));
        shapes.Add((p + "mlp.up_proj.weight", new long[] { Inter, Hidden }, false));
        shapes.Add((p + "mlp.down_proj.weight", new long[] { Hidden, Inter }, false));
    }
    shapes.Add(("model.norm.weight", new long[] { Hidden }, true));
    var header = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
    long offset = 0;
    foreach (var (name, shape, _) in shapes)
    {
        long bytes = 2 * shape.Aggregate(1L, (a, b) => a * b);
        header.Append($",\"{name}\":{{\"dtype\":\"BF16\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{offset},{offset + bytes}]}}");
        offset += bytes;
    }
    header.Append('}');
    while ((8 + header.Length) % 8 != 0) header.Append(' ');
    using (var f = new FileStream(Path.Combine(modelDir, "model.safetensors"), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
    {
        var len = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
        f.Write(len);
        f.Write(Encoding.ASCII.GetBytes(header.ToString()));
        ulong state = 0x5EED;
        var buffer = new byte[1 << 20];
        foreach (var (name, shape, gain) in shapes)
        {
            long count = shape.Aggregate(1L, (a, b) => a * b);
            // Uniform in ±√(3/fan_in)·0.5 keeps activations of order 1 through 16 layers.
            float amplitude = gain ? 0 : (float)(0.5 * Math.Sqrt(3.0 / shape[^1]));
            if (name == "model.embed_tokens.weight") amplitude = 0.5f;
            for (long done = 0; done < count;)
            {
                int n = (int)Math.Min(buffer.Length / 2, count - done);
                for (int i = 0; i < n; i++)
                {
                    state += 0x9E3779B97F4A7C15UL;
                    ulong z = state;
                    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
                    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
                    z ^= z >> 31;
                    float v = gain ? 1f : (float)(((z >> 11) * (1.0 / (1UL << 53)) * 2 - 1) * amplitude);
                    BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(2 * i), SafetensorsWriter.ToBFloat16Bits(v));
                }
                f.Write(buffer, 0, 2 * n);
                done += n;
            }
        }
    }
    var rng = new Random(16);
    var tensors = new List<SafetensorsTensor>();
    for (int l = 0; l < Layers; l++)
        foreach (var (module, outF) in new[] { ("q_proj", Heads * HeadDim), ("v_proj", KvHeads * HeadDim) })
        {
            string name = $"base_model.model.model.layers.{l}.self_attn.{module}";
            tensors.Add(new SafetensorsTensor(name + ".lora_A.weight", SafetensorsDType.F32, new long[] { Rank, Hidden },
                Enumerable.Range(0, Rank * Hidden).Select(_ => (double)(float)((rng.NextDouble() - 0.5) * 0.04)).ToArray()));
            tensors.Add(new SafetensorsTensor(name + ".lora_B.weight", SafetensorsDType.F32, new long[] { outF, Rank },
                Enumerable.Range(0, outF * Rank).Select(_ => (double)(float)((rng.NextDouble() - 0.5) * 0.04)).ToArray()));
        }
    SafetensorsWriter.Write(Path.Combine(adapterDir, "adapter_model.safetensors"), tensors);
    File.WriteAllText(Path.Combine(adapterDir, "adapter_config.json"),
        $$"""{"peft_type": "LORA", "r": {{Rank}}, "lora_alpha": 32, "target_modules": ["q_proj", "v_proj"], "fan_in_fan_out": false, "bias": "none"}""");
    Console.WriteLine($"written {new FileInfo(Path.Combine(modelDir, "model.safetensors")).Length / 1e9:F2} GB in {sw.Elapsed.TotalSeconds:F1} s to {root}");
    return 0;
}

static double Rss() => double.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:")).Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
static double Peak() => double.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:")).Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;

TorchRuntime.EnsureLoaded();
Console.WriteLine($"before load: rss {Rss():F0} MiB");
var watch = Stopwatch.StartNew();
using var model = CausalLanguageModel.Load(modelDir);
double loadS = watch.Elapsed.TotalSeconds;
Console.WriteLine($"load: {loadS:F2} s, {model.ParameterCount / 1e9:F3} B parameters stored as {((LlamaFamilyModel)model).WeightDType}, rss {Rss():F0} MiB, peak {Peak():F0} MiB");
var ids = Enumerable.Range(0, 64).Select(i => (int)((i * 7919L + 128000) % Vocab)).ToArray();
watch.Restart();
double plainLoss = model.Loss(ids);
double warmup = watch.Elapsed.TotalSeconds;
watch.Restart();
plainLoss = model.Loss(ids);
double forwardS = watch.Elapsed.TotalSeconds;
Console.WriteLine($"forward, 64 tokens, no adapter: first {warmup:F2} s, second {forwardS:F2} s, loss {plainLoss:F4}, peak {Peak():F0} MiB");

var adapter = LoraAdapter.Load(adapterDir);
model.CheckAdapter(adapter);
var cfg = FixedPoint.defaultConfig;
int calls = 0;
double callSeconds = 0;
foreach (var m in adapter.Modules)
{
    BigInteger[][] Q(double[][] w) => w.Select(r => r.Select(v => FixedPoint.quantize(cfg, v).ResultValue).ToArray()).ToArray();
    var a = Q(m.A);
    var b = Q(m.B);
    var s = FixedPoint.scaling(m.Scaling.Numerator, m.Scaling.Denominator).ResultValue;
    model.Patch(m.Name, (input, baseOutput) =>
    {
        var t0 = Stopwatch.GetTimestamp();
        calls++;
        var delta = FixedPoint.deltaRows(cfg, a, b, Q(TensorRows.ToRows(input)), s.Num, s.Den).ResultValue;
        var values = delta.Select(r => r.Select(v => FixedPoint.dequantize(cfg, v)).ToArray()).ToArray();
        var result = baseOutput.add(TensorRows.FromRows(values, baseOutput.shape, baseOutput.dtype));
        callSeconds += Stopwatch.GetElapsedTime(t0).TotalSeconds;
        return result;
    });
}
watch.Restart();
double loraLoss = model.Loss(ids);
double loraS = watch.Elapsed.TotalSeconds;
Console.WriteLine($"forward, 64 tokens, adapter on {adapter.Modules.Count} modules: {loraS:F2} s ({callSeconds:F2} s in the fixed-point LoRA calls), {calls} LoRA calls, loss {loraLoss:F4}, peak {Peak():F0} MiB");
int before = calls;
watch.Restart();
var generated = model.Generate(ids, new GenerationOptions { MaxNewTokens = 4, StopAtEos = false });
Console.WriteLine($"generate 4 tokens after the 64-token prompt (KV cache): {watch.Elapsed.TotalSeconds:F2} s, {calls - before} LoRA calls ({adapter.Modules.Count} with 64 rows, then {adapter.Modules.Count} per token with 1 row)");
Console.WriteLine($"load_s={loadS:F2} forward_s={forwardS:F2} forward_lora_s={loraS:F2} lora_calls={before} peak_mib={Peak():F0}");
return 0;
