using System.Security.Cryptography;
using Xunit;

namespace ZkLora.Model.Tests;

public class DemoModelTests
{
    private static Dictionary<string, string> Hashes(string root) =>
        Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    [Fact]
    public void WritesTheSameBytesEveryTime()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        DemoModel.Create(a.Path);
        DemoModel.Create(b.Path);
        var ha = Hashes(a.Path);
        Assert.Equal(new[]
        {
            "adapter/adapter_config.json", "adapter/adapter_model.safetensors",
            "model/config.json", "model/merges.txt", "model/model.safetensors", "model/tokenizer_config.json", "model/vocab.json",
        }, ha.Keys.OrderBy(k => k, StringComparer.Ordinal));
        Assert.Equal(ha, Hashes(b.Path));
        DemoModel.Create(a.Path); // same content again: allowed without overwrite
        Assert.Equal(ha, Hashes(a.Path));
    }

    [Fact]
    public void RefusesToClobberDifferentFiles()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.Combine("model"));
        File.WriteAllText(dir.Combine("model", "config.json"), "{}");
        Assert.Throws<IOException>(() => DemoModel.Create(dir.Path));
        DemoModel.Create(dir.Path, overwrite: true);
        Assert.Contains("gpt2", File.ReadAllText(dir.Combine("model", "config.json")));
    }

    [Fact]
    public void RoundTripsThroughTheStandardFiles()
    {
        using var dir = new TempDir();
        var paths = DemoModel.Create(dir.Path);
        using var model = Gpt2Model.Load(paths.ModelDirectory);
        var c = model.Config;
        Assert.Equal((2, 32, 4, 64, 128, 281), (c.NLayer, c.NEmbd, c.NHead, c.NPositions, c.NInner, c.VocabSize));
        Assert.Equal(Gpt2Activation.GeluTanh, c.Activation);
        Assert.NotNull(model.Tokenizer);

        var ids = model.Tokenizer!.Encode(DemoModel.SampleText);
        Assert.InRange(ids.Count, 2, DemoModel.Positions);
        double loss = model.Loss(DemoModel.SampleText);
        Assert.True(double.IsFinite(loss) && loss > 0, $"loss {loss}");
        Assert.Equal(loss, model.Loss(ids));
        using (var again = Gpt2Model.Load(paths.ModelDirectory)) Assert.Equal(loss, again.Loss(DemoModel.SampleText));

        var adapter = LoraAdapter.Load(paths.AdapterDirectory);
        Assert.Equal(DemoModel.AdapterModules, adapter.ModuleNames);
        Assert.Equal(new[] { "transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn" }, adapter.ModuleNames);
        Assert.All(adapter.Modules, m =>
        {
            Assert.Equal((4, 32, 96), (m.Rank, m.InFeatures, m.OutFeatures));
            Assert.Equal(new Fraction(2, 1), m.Scaling);
            Assert.True(m.FanInFanOut);
            Assert.Contains(m.B.SelectMany(r => r), v => v != 0);
            Assert.All(m.A.SelectMany(r => r).Concat(m.B.SelectMany(r => r)), v => Assert.InRange(Math.Abs(v), 0, 0.1));
        });
        model.CheckAdapter(adapter);

        // The adapter's deltas are nonzero and move the loss; merged and patched agree.
        using var merged = model.WithMergedAdapter(adapter);
        double mergedLoss = merged.Loss(ids);
        Assert.NotEqual(loss, mergedLoss);
        foreach (var m in adapter.Modules)
            model.Patch(m.Name, (x, y) =>
            {
                var xs = x.to_type(TorchSharp.torch.ScalarType.Float64).data<double>().ToArray();
                var delta = Enumerable.Range(0, xs.Length / 32).SelectMany(r => m.Delta(xs.AsSpan(r * 32, 32))).ToArray();
                return y.add(TorchSharp.torch.tensor(delta, y.shape, TorchSharp.torch.ScalarType.Float64).to_type(y.dtype));
            });
        Assertions.Close(mergedLoss, model.Loss(ids), 1e-5, "patched vs merged loss");
    }

    [Fact]
    public void WeightsStaySmallForFixedPoint()
    {
        using var dir = new TempDir();
        var paths = DemoModel.Create(dir.Path);
        var file = SafetensorsFile.Open(Path.Combine(paths.ModelDirectory, "model.safetensors"));
        Assert.Equal("pt", file.Metadata["format"]);
        foreach (var e in file.Entries)
        {
            Assert.Equal(SafetensorsDType.F32, e.DType);
            Assert.StartsWith("transformer.", e.Name);
            Assert.All(file.ReadDoubles(e.Name), v => Assert.InRange(Math.Abs(v), 0, 1.1));
        }
    }
}

public class LlamaDemoModelTests
{
    [Fact]
    public void WritesTheSameBytesAndLoadsAsABf16LlamaWithItsTokenizerAndAdapter()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        var pa = LlamaDemoModel.Create(a.Path);
        var pb = LlamaDemoModel.Create(b.Path);
        foreach (var f in Directory.GetFiles(pa.ModelDirectory).Concat(Directory.GetFiles(pa.AdapterDirectory)))
        {
            string other = f.Replace(a.Path, b.Path);
            Assert.Equal(File.ReadAllBytes(f), File.ReadAllBytes(other));
        }
        File.WriteAllText(Path.Combine(pa.ModelDirectory, "config.json"), "{}");
        Assert.Throws<IOException>(() => LlamaDemoModel.Create(a.Path));
        LlamaDemoModel.Create(a.Path, overwrite: true);
        Assert.Equal(File.ReadAllBytes(Path.Combine(pb.ModelDirectory, "config.json")), File.ReadAllBytes(Path.Combine(pa.ModelDirectory, "config.json")));
        using var model = Assert.IsType<LlamaFamilyModel>(CausalLanguageModel.Load(pa.ModelDirectory));
        Assert.Equal("BFloat16", model.WeightDType);
        Assert.Equal(LlamaDemoModel.VocabSize, model.VocabSize);
        var ids = model.Encode(DemoModel.SampleText);
        Assert.Equal(LlamaDemoModel.VocabSize - 2, ids[0]); // <|begin_of_text|>
        Assert.Equal(DemoModel.SampleText, model.TextTokenizer!.Decode(ids));
        Assert.True(double.IsFinite(model.Loss(ids)));
        var adapter = LoraAdapter.Load(pa.AdapterDirectory);
        Assert.Equal(LlamaDemoModel.AdapterModules, adapter.ModuleNames);
        model.CheckAdapter(adapter);
    }
}
