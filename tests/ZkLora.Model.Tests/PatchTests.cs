using TorchSharp;
using Xunit;

namespace ZkLora.Model.Tests;

public class PatchTests
{
    private static (ReferenceGpt2 Reference, TempDir Dir) TinyModel()
    {
        var reference = ReferenceGpt2.Random(77, vocab: 11, positions: 8, embd: 8, heads: 2, layers: 2, inner: 16);
        var dir = new TempDir();
        reference.WriteFolder(dir.Path);
        return (reference, dir);
    }

    private static readonly int[] Ids = { 3, 1, 4, 1, 5, 9 };

    [Fact]
    public void ModulesAreAddressableByHuggingFaceName()
    {
        var (_, dir) = TinyModel();
        using var _d = dir;
        using var model = Gpt2Model.Load(dir.Path);
        Assert.Equal(new[]
        {
            "transformer.h.0.attn.c_attn", "transformer.h.0.attn.c_proj", "transformer.h.0.mlp.c_fc", "transformer.h.0.mlp.c_proj",
            "transformer.h.1.attn.c_attn", "transformer.h.1.attn.c_proj", "transformer.h.1.mlp.c_fc", "transformer.h.1.mlp.c_proj",
            "lm_head",
        }, model.LinearModuleNames);
        Assert.Equal(new LinearModuleInfo("transformer.h.1.attn.c_attn", 8, 24, WeightLayout.InOut, true), model.GetLinearModule("transformer.h.1.attn.c_attn"));
        Assert.Equal(new LinearModuleInfo("transformer.h.0.mlp.c_proj", 16, 8, WeightLayout.InOut, true), model.GetLinearModule("h.0.mlp.c_proj"));
        Assert.Equal(new LinearModuleInfo("lm_head", 8, 11, WeightLayout.OutIn, false), model.GetLinearModule("lm_head"));
    }

    [Fact]
    public void CallbackSeesTheModuleInputAndBaseOutput()
    {
        var (reference, dir) = TinyModel();
        using var _d = dir;
        using var model = Gpt2Model.Load(dir.Path, new Gpt2LoadOptions { Precision = ModelPrecision.Float64 });
        const string name = "transformer.h.1.attn.c_attn";
        double[]? seenX = null, seenY = null;
        long[]? xShape = null, yShape = null;
        model.Patch(name, (x, y) =>
        {
            seenX = x.data<double>().ToArray();
            seenY = y.data<double>().ToArray();
            xShape = x.shape;
            yShape = y.shape;
            return y;
        });
        var wantX = new double[Ids.Length][];
        var wantY = new double[Ids.Length][];
        reference.Hook = (n, t, x, y) =>
        {
            if (n == name) { wantX[t] = x; wantY[t] = y; }
            return y;
        };
        reference.Logits(Ids);
        model.Logits(Ids);
        Assert.Equal(new long[] { 1, Ids.Length, 8 }, xShape);
        Assert.Equal(new long[] { 1, Ids.Length, 24 }, yShape);
        for (int t = 0; t < Ids.Length; t++)
        {
            for (int i = 0; i < 8; i++) Assertions.Close(wantX[t][i], seenX![t * 8 + i], 1e-12, $"x[{t},{i}]");
            for (int j = 0; j < 24; j++) Assertions.Close(wantY[t][j], seenY![t * 24 + j], 1e-12, $"y[{t},{j}]");
        }
    }

    [Fact]
    public void ReplacedOutputFlowsThroughTheRestOfTheModel()
    {
        var (reference, dir) = TinyModel();
        using var _d = dir;
        using var model = Gpt2Model.Load(dir.Path, new Gpt2LoadOptions { Precision = ModelPrecision.Float64 });
        double baseLoss = model.Loss(Ids);
        Assertions.Close(ReferenceGpt2.Loss(reference.Logits(Ids), Ids), baseLoss, 1e-11, "unpatched loss");

        // Identity: bit-for-bit the same logits.
        model.Patch("transformer.h.0.attn.c_attn", (x, y) => y);
        Assert.Equal(baseLoss, model.Loss(Ids));
        Assert.True(model.Unpatch("transformer.h.0.attn.c_attn"));

        // A replaced output changes the loss exactly as the reference predicts.
        model.Patch("h.0.mlp.c_fc", (x, y) => y.add(x.sum(-1, keepdim: true).mul(0.25)));
        reference.Hook = (n, t, x, y) => n == "transformer.h.0.mlp.c_fc" ? y.Select(v => v + 0.25 * x.Sum()).ToArray() : y;
        double patched = model.Loss(Ids);
        Assert.NotEqual(baseLoss, patched);
        Assertions.Close(ReferenceGpt2.Loss(reference.Logits(Ids), Ids), patched, 1e-11, "patched loss");
        Assert.Equal(new[] { "transformer.h.0.mlp.c_fc" }, model.PatchedModuleNames);

        model.UnpatchAll();
        Assert.Empty(model.PatchedModuleNames);
        Assert.Equal(baseLoss, model.Loss(Ids));
    }

    [Fact]
    public void LmHeadCanBePatched()
    {
        var (_, dir) = TinyModel();
        using var _d = dir;
        using var model = Gpt2Model.Load(dir.Path, new Gpt2LoadOptions { Precision = ModelPrecision.Float64 });
        model.Patch("lm_head", (x, y) => torch.zeros_like(y));
        Assertions.Close(Math.Log(11), model.Loss(Ids), 1e-12, "uniform logits give log(vocab)");
    }

    [Fact]
    public void MisuseGivesClearErrors()
    {
        var (_, dir) = TinyModel();
        using var _d = dir;
        using var model = Gpt2Model.Load(dir.Path);
        var e = Assert.Throws<ArgumentException>(() => model.Patch("transformer.h.0.attn.c_atn", (x, y) => y));
        Assert.Contains("Did you mean: transformer.h.0.attn.c_attn", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.Patch("h.7.mlp.c_fc", (x, y) => y));
        Assert.Contains("transformer.h.{0..1}", e.Message);
        Assert.Throws<ArgumentException>(() => model.Unpatch("nonsense"));

        model.Patch("transformer.h.1.mlp.c_proj", (x, y) => y);
        Assert.Throws<InvalidOperationException>(() => model.Patch("h.1.mlp.c_proj", (x, y) => y));
        model.UnpatchAll();

        model.Patch("transformer.h.1.mlp.c_proj", (x, y) => y.narrow(-1, 0, 4));
        var shapeError = Assert.Throws<InvalidOperationException>(() => model.Loss(Ids));
        Assert.Contains("returned shape [1, 6, 4]", shapeError.Message);
    }
}
