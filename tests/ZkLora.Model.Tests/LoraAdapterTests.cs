using System.Numerics;
using System.Text.Json;
using Xunit;

namespace ZkLora.Model.Tests;

public class LoraAdapterTests
{
    private static string AdapterDir => TestPaths.Vector("gpt2_tiny", "adapter");
    private static string BaseDir => TestPaths.Vector("gpt2_tiny", "base");

    private static JsonElement Expected()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestPaths.Vector("gpt2_tiny", "expected.json")));
        return doc.RootElement.Clone();
    }

    [Fact]
    public void LoadsPeftLayoutShapesAndExactScaling()
    {
        var adapter = LoraAdapter.Load(AdapterDir);
        Assert.Equal(new[]
        {
            "transformer.h.0.attn.c_attn", "transformer.h.0.attn.c_proj", "transformer.h.0.mlp.c_proj",
            "transformer.h.1.attn.c_attn", "transformer.h.1.attn.c_proj", "transformer.h.1.mlp.c_proj",
        }, adapter.ModuleNames);
        var cAttn = adapter.GetModule("transformer.h.0.attn.c_attn");
        Assert.Equal((2, 8, 24), (cAttn.Rank, cAttn.InFeatures, cAttn.OutFeatures));
        Assert.Equal(2, cAttn.A.Length);
        Assert.All(cAttn.A, row => Assert.Equal(8, row.Length));   // A: rank × in
        Assert.Equal(24, cAttn.B.Length);
        Assert.All(cAttn.B, row => Assert.Equal(2, row.Length));   // B: out × rank
        var mlp = adapter.GetModule("h.1.mlp.c_proj");
        Assert.Equal((2, 32, 8), (mlp.Rank, mlp.InFeatures, mlp.OutFeatures));
        Assert.All(adapter.Modules, m => Assert.Equal(new Fraction(3, 2), m.Scaling));
        Assert.True(cAttn.FanInFanOut);

        // Row-major (r, in) storage: A[j][i] is element j*in + i of lora_A.weight.
        var raw = SafetensorsFile.Open(Path.Combine(AdapterDir, "adapter_model.safetensors"));
        var a = raw.ReadDoubles("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight");
        var b = raw.ReadDoubles("base_model.model.transformer.h.0.attn.c_attn.lora_B.weight");
        Assert.Equal(a[1 * 8 + 5], cAttn.A[1][5]);
        Assert.Equal(b[17 * 2 + 1], cAttn.B[17][1]);
        Assert.Throws<KeyNotFoundException>(() => adapter.GetModule("transformer.h.0.mlp.c_fc"));
    }

    [Theory]
    [InlineData(ModelPrecision.Float32, 1e-5)]
    [InlineData(ModelPrecision.Float64, 1e-11)]
    public void DeltaThroughPatchesMatchesThePythonReference(ModelPrecision precision, double tolerance)
    {
        var expected = Expected();
        var ids = expected.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var want = expected.GetProperty("base_with_adapter").GetProperty("logits").EnumerateArray()
            .Select(r => r.EnumerateArray().Select(x => x.GetDouble()).ToArray()).ToArray();
        var adapter = LoraAdapter.Load(AdapterDir);
        using var model = Gpt2Model.Load(BaseDir, new Gpt2LoadOptions { Precision = precision });
        model.CheckAdapter(adapter);
        foreach (var module in adapter.Modules)
        {
            model.Patch(module.Name, (x, y) =>
            {
                var xs = x.to_type(TorchSharp.torch.ScalarType.Float64).data<double>().ToArray();
                int n = module.InFeatures;
                var delta = Enumerable.Range(0, xs.Length / n).SelectMany(r => module.Delta(xs.AsSpan(r * n, n))).ToArray();
                return y.add(TorchSharp.torch.tensor(delta, y.shape, y.dtype));
            });
        }
        Assert.True(Assertions.MaxAbsDiff(want, model.Logits(ids)) <= tolerance);
        Assertions.Close(expected.GetProperty("base_with_adapter").GetProperty("loss").GetDouble(), model.Loss(ids), tolerance, "loss");
    }

    [Theory]
    [InlineData(ModelPrecision.Float32, 1e-5)]
    [InlineData(ModelPrecision.Float64, 1e-11)]
    public void MergedWeightsMatchThePythonReference(ModelPrecision precision, double tolerance)
    {
        var expected = Expected();
        var ids = expected.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var want = expected.GetProperty("base_with_adapter").GetProperty("logits").EnumerateArray()
            .Select(r => r.EnumerateArray().Select(x => x.GetDouble()).ToArray()).ToArray();
        using var model = Gpt2Model.Load(BaseDir, new Gpt2LoadOptions { Precision = precision });
        using var merged = model.WithMergedAdapter(LoraAdapter.Load(AdapterDir));
        Assert.True(Assertions.MaxAbsDiff(want, merged.Logits(ids)) <= tolerance);
        // The original model is untouched.
        var baseWant = expected.GetProperty("base").GetProperty("logits").EnumerateArray()
            .Select(r => r.EnumerateArray().Select(x => x.GetDouble()).ToArray()).ToArray();
        Assert.True(Assertions.MaxAbsDiff(baseWant, model.Logits(ids)) <= tolerance);
    }

    [Fact]
    public void ScalingTimesBaTimesXIsTheMergedModuleDelta()
    {
        // At the first c_attn both models see the same input, so merged − base output = scaling·B·A·x,
        // which only holds if the Conv1D (in, out) weight received (B·A)ᵀ.
        var adapter = LoraAdapter.Load(AdapterDir);
        var module = adapter.GetModule("transformer.h.0.attn.c_attn");
        using var model = Gpt2Model.Load(BaseDir, new Gpt2LoadOptions { Precision = ModelPrecision.Float64 });
        using var merged = model.WithMergedAdapter(adapter);
        double[]? x = null, yBase = null, yMerged = null;
        model.Patch(module.Name, (xi, y) => { x = xi.data<double>().ToArray(); yBase = y.data<double>().ToArray(); return y; });
        merged.Patch(module.Name, (xi, y) => { yMerged = y.data<double>().ToArray(); return y; });
        int[] ids = { 1, 2, 3, 4 };
        model.Logits(ids);
        merged.Logits(ids);
        for (int t = 0; t < ids.Length; t++)
        {
            var delta = module.Delta(x.AsSpan(t * 8, 8));
            var manual = new double[24];
            for (int k = 0; k < 24; k++)
                for (int j = 0; j < 2; j++)
                    for (int i = 0; i < 8; i++) manual[k] += 1.5 * module.B[k][j] * module.A[j][i] * x![t * 8 + i];
            for (int k = 0; k < 24; k++)
            {
                Assertions.Close(manual[k], delta[k], 1e-12, $"Delta[{t},{k}]");
                Assertions.Close(delta[k], yMerged![t * 24 + k] - yBase![t * 24 + k], 1e-12, $"merged−base[{t},{k}]");
            }
            Assert.Contains(delta, d => Math.Abs(d) > 1e-3);
        }
    }

    private static string WriteAdapter(TempDir dir, string configJson, IEnumerable<SafetensorsTensor> tensors)
    {
        File.WriteAllText(dir.Combine("adapter_config.json"), configJson);
        SafetensorsWriter.Write(dir.Combine("adapter_model.safetensors"), tensors);
        return dir.Path;
    }

    private static IEnumerable<SafetensorsTensor> Pair(string module, int r, int nIn, int nOut, double fill = 0.25) => new[]
    {
        new SafetensorsTensor($"base_model.model.{module}.lora_A.weight", SafetensorsDType.F32, new long[] { r, nIn }, Enumerable.Repeat(fill, r * nIn).ToArray()),
        new SafetensorsTensor($"base_model.model.{module}.lora_B.weight", SafetensorsDType.F32, new long[] { nOut, r }, Enumerable.Repeat(fill, nOut * r).ToArray()),
    };

    [Theory]
    [InlineData("\"r\": 4, \"lora_alpha\": 16", 4, 4, 1)]
    [InlineData("\"r\": 4, \"lora_alpha\": 0.5", 4, 1, 8)]
    [InlineData("\"r\": 4, \"lora_alpha\": 1e1", 4, 5, 2)]
    [InlineData("\"r\": 6, \"lora_alpha\": 32.0", 6, 16, 3)]
    [InlineData("\"r\": 4, \"lora_alpha\": 8, \"use_rslora\": true", 4, 4, 1)]
    [InlineData("\"r\": 4", 4, 2, 1)] // PEFT's default lora_alpha is 8
    [InlineData("\"r\": 8, \"lora_alpha\": 8, \"rank_pattern\": {\"h.0.attn.c_attn\": 2}, \"alpha_pattern\": {\"c_attn\": 3}", 2, 3, 2)]
    public void ScalingIsAlphaOverRankAsAnExactFraction(string fields, int rank, long num, long den)
    {
        using var dir = new TempDir();
        string path = WriteAdapter(dir, "{\"peft_type\": \"LORA\", \"target_modules\": [\"c_attn\"], " + fields + "}",
            Pair("transformer.h.0.attn.c_attn", rank, 8, 24));
        var m = LoraAdapter.Load(path).Modules.Single();
        Assert.Equal(rank, m.Rank);
        Assert.Equal(new Fraction(num, den), m.Scaling);
        Assert.Equal(new BigInteger(num), m.Scaling.Numerator);
        Assert.Equal(new BigInteger(den), m.Scaling.Denominator);
    }

    [Fact]
    public void RejectsBrokenOrUnsupportedAdapters()
    {
        const string config = "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"c_attn\"]}";
        const string module = "transformer.h.0.attn.c_attn";
        using (var dir = new TempDir())
            Assert.Contains("lora_B.weight missing", Assert.Throws<ModelFormatException>(() =>
                LoraAdapter.Load(WriteAdapter(dir, config, Pair(module, 2, 8, 24).Take(1)))).Message);
        using (var dir = new TempDir())
            Assert.Contains("says r = 2", Assert.Throws<ModelFormatException>(() =>
                LoraAdapter.Load(WriteAdapter(dir, config, Pair(module, 3, 8, 24)))).Message);
        using (var dir = new TempDir())
        {
            var bad = Pair(module, 2, 8, 24).ToArray();
            bad[1] = bad[1] with { Shape = new long[] { 2, 24 }, Values = new double[48] }; // (r, out) instead of (out, r)
            Assert.Contains("expected [out, 2]", Assert.Throws<ModelFormatException>(() => LoraAdapter.Load(WriteAdapter(dir, config, bad))).Message);
        }
        using (var dir = new TempDir())
            Assert.Contains("non-finite", Assert.Throws<ModelFormatException>(() =>
                LoraAdapter.Load(WriteAdapter(dir, config, Pair(module, 2, 8, 24, double.PositiveInfinity)))).Message);
        using (var dir = new TempDir())
            Assert.Contains("target_modules", Assert.Throws<ModelFormatException>(() =>
                LoraAdapter.Load(WriteAdapter(dir, config, Pair("transformer.h.0.mlp.c_fc", 2, 8, 32)))).Message);
        using (var dir = new TempDir())
            Assert.Throws<NotSupportedException>(() => LoraAdapter.Load(WriteAdapter(dir, config,
                Pair(module, 2, 8, 24).Append(new SafetensorsTensor($"base_model.model.{module}.lora_magnitude_vector", SafetensorsDType.F32, new long[] { 24 }, new double[24])))));
        using (var dir = new TempDir())
            Assert.Throws<NotSupportedException>(() => LoraAdapter.Load(WriteAdapter(dir, config.Replace("}", ", \"use_dora\": true}"), Pair(module, 2, 8, 24))));
        using (var dir = new TempDir())
            Assert.Contains("irrational", Assert.Throws<NotSupportedException>(() =>
                LoraAdapter.Load(WriteAdapter(dir, config.Replace("}", ", \"use_rslora\": true}"), Pair(module, 2, 8, 24)))).Message);
        using (var dir = new TempDir())
            Assert.Throws<NotSupportedException>(() => LoraAdapter.Load(WriteAdapter(dir, config.Replace("LORA", "IA3"), Pair(module, 2, 8, 24))));
        using (var dir = new TempDir())
            Assert.Contains("'r'", Assert.Throws<ModelFormatException>(() => LoraAdapter.Load(WriteAdapter(dir, config.Replace("\"r\": 2", "\"r\": 0"), Pair(module, 2, 8, 24)))).Message);
        using (var dir = new TempDir())
            Assert.Throws<ModelNotFoundException>(() => LoraAdapter.Load(dir.Path));

        // Shapes that do not fit the base model.
        using (var dir = new TempDir())
        {
            var adapter = LoraAdapter.Load(WriteAdapter(dir, config, Pair(module, 2, 16, 48)));
            using var model = Gpt2Model.Load(BaseDir);
            Assert.Contains("8→24 in the model but 16→48", Assert.Throws<ModelFormatException>(() => model.CheckAdapter(adapter)).Message);
            Assert.Throws<ModelFormatException>(() => model.WithMergedAdapter(adapter));
        }
    }

    [Theory]
    [InlineData("8", 8, 1)]
    [InlineData("16.0", 16, 1)]
    [InlineData("0.5", 1, 2)]
    [InlineData("-2.50e+2", -250, 1)]
    [InlineData("1E-3", 1, 1000)]
    [InlineData("0.1", 1, 10)]
    public void DecimalTextParsesExactly(string text, long num, long den) =>
        Assert.Equal(new Fraction(num, den), Fraction.ParseDecimal(text));

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("1.2.3")]
    [InlineData("1e")]
    [InlineData("NaN")]
    public void DecimalTextRejectsNonNumbers(string text) =>
        Assert.Throws<FormatException>(() => Fraction.ParseDecimal(text));
}
