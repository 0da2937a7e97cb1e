using System.Text.Json;
using TorchSharp;
using Xunit;

namespace ZkLora.Model.Tests;

public class Gpt2ForwardTests
{
    private static JsonElement Expected()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestPaths.Vector("gpt2_tiny", "expected.json")));
        return doc.RootElement.Clone();
    }

    private static int[] Ids(JsonElement e) => e.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();

    private static double[][] Matrix(JsonElement e) =>
        e.EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetDouble()).ToArray()).ToArray();

    [Theory]
    [InlineData("base", ModelPrecision.Float32, 1e-5)]
    [InlineData("base", ModelPrecision.Float64, 1e-11)]
    [InlineData("base_f16", ModelPrecision.Float32, 1e-5)]
    [InlineData("base_f16", ModelPrecision.Float64, 1e-11)]
    public void MatchesThePythonReference(string variant, ModelPrecision precision, double tolerance)
    {
        var expected = Expected();
        var ids = Ids(expected);
        using var model = Gpt2Model.Load(TestPaths.Vector("gpt2_tiny", variant), new Gpt2LoadOptions { Precision = precision });
        var want = Matrix(expected.GetProperty(variant).GetProperty("logits"));
        var got = model.Logits(ids);
        Assert.True(Assertions.MaxAbsDiff(want, got) <= tolerance, $"max |Δlogit| = {Assertions.MaxAbsDiff(want, got):E3}");
        Assertions.Close(expected.GetProperty(variant).GetProperty("loss").GetDouble(), model.Loss(ids), tolerance, "loss");
    }

    [Theory]
    [InlineData(false, false, "transformer.", SafetensorsDType.F32)]
    [InlineData(true, false, "", SafetensorsDType.F32)]
    [InlineData(false, true, "transformer.", SafetensorsDType.F64)]
    public void MatchesThePlainDoubleReimplementation(bool inverseLayerScale, bool untied, string prefix, SafetensorsDType dtype)
    {
        var reference = ReferenceGpt2.Random(1234, vocab: 17, positions: 12, embd: 12, heads: 3, layers: 3, inner: 20, tied: !untied);
        reference.InverseLayerScale = inverseLayerScale;
        using var dir = new TempDir();
        reference.WriteFolder(dir.Path, prefix, dtype);
        int[] ids = { 0, 16, 3, 3, 7, 1, 12, 5, 9, 2, 11 };
        var want = reference.Logits(ids);
        using var model = Gpt2Model.Load(dir.Path);
        Assert.Equal(reference.Shapes().Sum(s => s.Shape.Aggregate(1L, (a, b) => a * b)), model.ParameterCount);
        Assert.True(Assertions.MaxAbsDiff(want, model.Logits(ids)) <= 1e-5);
        Assertions.Close(ReferenceGpt2.Loss(want, ids), model.Loss(ids), 1e-5, "loss");
        using var model64 = Gpt2Model.Load(dir.Path, new Gpt2LoadOptions { Precision = ModelPrecision.Float64 });
        Assert.True(Assertions.MaxAbsDiff(want, model64.Logits(ids)) <= 1e-11);
    }

    [Fact]
    public void ExactGeluActivation()
    {
        var reference = ReferenceGpt2.Random(99, vocab: 9, positions: 6, embd: 8, heads: 2, layers: 1, inner: 16);
        reference.ExactGelu = true;
        using var dir = new TempDir();
        reference.WriteFolder(dir.Path);
        int[] ids = { 1, 2, 3, 4, 5, 6 };
        using var model = Gpt2Model.Load(dir.Path, new Gpt2LoadOptions { Precision = ModelPrecision.Float64 });
        Assert.True(Assertions.MaxAbsDiff(reference.Logits(ids), model.Logits(ids)) <= 1e-11);
    }

    [Fact]
    public void BatchedForwardEqualsPerSequence()
    {
        var reference = ReferenceGpt2.Random(5, vocab: 13, positions: 8, embd: 8, heads: 2, layers: 2, inner: 16);
        using var dir = new TempDir();
        reference.WriteFolder(dir.Path);
        using var model = Gpt2Model.Load(dir.Path, new Gpt2LoadOptions { Precision = ModelPrecision.Float64 });
        long[][] rows = { new long[] { 1, 2, 3, 4, 5 }, new long[] { 12, 0, 7, 7, 3 } };
        using var scope = torch.NewDisposeScope();
        var logits = model.Forward(torch.tensor(rows.SelectMany(r => r).ToArray(), new long[] { 2, 5 }));
        Assert.Equal(new long[] { 2, 5, 13 }, logits.shape);
        for (int b = 0; b < 2; b++)
        {
            var want = reference.Logits(rows[b].Select(i => (int)i).ToArray());
            var got = logits[b].data<double>().ToArray();
            for (int t = 0; t < 5; t++)
                for (int v = 0; v < 13; v++) Assertions.Close(want[t][v], got[t * 13 + v], 1e-11, $"[{b},{t},{v}]");
        }
    }

    [Fact]
    public void LossIsMeanCrossEntropyOfShiftedLabels()
    {
        // Two tokens: the loss is exactly −log softmax(logits[0])[ids[1]].
        using var model = Gpt2Model.Load(TestPaths.Vector("gpt2_tiny", "base"), new Gpt2LoadOptions { Precision = ModelPrecision.Float64 });
        int[] ids = { 4, 7 };
        var l0 = model.Logits(ids)[0];
        double max = l0.Max();
        double expected = max + Math.Log(l0.Sum(v => Math.Exp(v - max))) - l0[7];
        Assertions.Close(expected, model.Loss(ids), 1e-12, "two-token loss");
    }

    [Fact]
    public void RejectsBadInput()
    {
        using var model = Gpt2Model.Load(TestPaths.Vector("gpt2_tiny", "base"));
        Assert.Throws<ArgumentException>(() => model.Loss(new[] { 1 }));
        Assert.Throws<ArgumentException>(() => model.Logits(Array.Empty<int>()));
        Assert.Throws<ArgumentException>(() => model.Logits(new[] { 1, 11 }));       // vocab is 11
        Assert.Throws<ArgumentException>(() => model.Logits(new[] { -1, 2 }));
        Assert.Throws<ArgumentException>(() => model.Logits(Enumerable.Repeat(1, 9).ToArray())); // 8 positions
        Assert.Throws<InvalidOperationException>(() => model.Loss("no tokenizer in this folder"));
        using var scope = torch.NewDisposeScope();
        Assert.Throws<ArgumentException>(() => model.Forward(torch.tensor(new float[] { 1, 2 })));
    }

    [Fact]
    public void RejectsInconsistentCheckpoints()
    {
        var reference = ReferenceGpt2.Random(3, vocab: 9, positions: 6, embd: 8, heads: 2, layers: 1, inner: 16);
        using var dir = new TempDir();
        reference.WriteFolder(dir.Path);
        string config = File.ReadAllText(dir.Combine("config.json"));

        File.WriteAllText(dir.Combine("config.json"), config.Replace("\"n_layer\": 1", "\"n_layer\": 2"));
        Assert.Contains("h.1.ln_1.weight", Assert.Throws<ModelFormatException>(() => Gpt2Model.Load(dir.Path)).Message);

        File.WriteAllText(dir.Combine("config.json"), config.Replace("\"n_embd\": 8", "\"n_embd\": 9"));
        Assert.Contains("not divisible", Assert.Throws<ModelFormatException>(() => Gpt2Model.Load(dir.Path)).Message);

        File.WriteAllText(dir.Combine("config.json"), config.Replace("\"vocab_size\": 9", "\"vocab_size\": 10"));
        Assert.Contains("expected [10, 8]", Assert.Throws<ModelFormatException>(() => Gpt2Model.Load(dir.Path)).Message);

        File.WriteAllText(dir.Combine("config.json"), config.Replace("\"gpt2\"", "\"llama\""));
        Assert.Contains("model_type", Assert.Throws<ModelFormatException>(() => Gpt2Model.Load(dir.Path)).Message);

        File.WriteAllText(dir.Combine("config.json"), config.Replace("gelu_new", "swish"));
        Assert.Contains("activation_function", Assert.Throws<ModelFormatException>(() => Gpt2Model.Load(dir.Path)).Message);

        File.WriteAllText(dir.Combine("config.json"), config);
        reference.W["h.0.mlp.c_fc.bias"][3] = double.NaN;
        reference.WriteFolder(dir.Path);
        Assert.Contains("non-finite", Assert.Throws<ModelFormatException>(() => Gpt2Model.Load(dir.Path)).Message);

        reference.W["h.0.mlp.c_fc.bias"][3] = 0;
        var tensors = reference.Shapes().Select(s => new SafetensorsTensor("transformer." + s.Name, SafetensorsDType.F32, s.Shape, reference.W[s.Name]))
            .Append(new SafetensorsTensor("transformer.h.0.mlp.extra", SafetensorsDType.F32, new long[] { 1 }, new[] { 1.0 }));
        SafetensorsWriter.Write(dir.Combine("model.safetensors"), tensors);
        Assert.Contains("unexpected weights", Assert.Throws<ModelFormatException>(() => Gpt2Model.Load(dir.Path)).Message);

        File.Delete(dir.Combine("model.safetensors"));
        Assert.Throws<ModelNotFoundException>(() => Gpt2Model.Load(dir.Path));
        File.WriteAllBytes(dir.Combine("pytorch_model.bin"), new byte[] { 1 });
        Assert.Contains("safetensors", Assert.Throws<ModelFormatException>(() => Gpt2Model.Load(dir.Path)).Message);
    }
}

public class Gpt2GenerationTests
{
    [Fact]
    public void GreedyGenerationWithTheCacheFollowsTheReferenceArgMax()
    {
        var reference = ReferenceGpt2.Random(77, vocab: 13, positions: 12, embd: 8, heads: 2, layers: 2, inner: 16);
        using var dir = new TempDir();
        reference.WriteFolder(dir.Path);
        using var model = Gpt2Model.Load(dir.Path, new Gpt2LoadOptions { Precision = ModelPrecision.Float64 });
        Assert.True(model.HasKeyValueCache);
        int[] prompt = { 3, 1, 4 };
        var got = model.Generate(prompt, new GenerationOptions { MaxNewTokens = 20, StopAtEos = false });
        Assert.Equal(9, got.Count); // the 12 positions run out
        var sequence = prompt.ToList();
        foreach (int token in got)
        {
            var last = reference.Logits(sequence)[^1];
            Assert.Equal(Array.IndexOf(last, last.Max()), token);
            sequence.Add(token);
        }
        var rows = new List<long>();
        model.Patch("h.1.mlp.c_fc", (x, y) => { rows.Add(x.shape[1]); return y; });
        model.Generate(prompt, new GenerationOptions { MaxNewTokens = 3, StopAtEos = false });
        Assert.Equal(new long[] { 3, 1, 1 }, rows);
    }
}
