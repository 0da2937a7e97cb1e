using TorchSharp;
using static TorchSharp.torch;

namespace ZkLora.Model;

/// <summary>How a linear module stores its weight matrix.</summary>
public enum WeightLayout
{
    /// <summary>(in, out): Hugging Face's GPT-2 <c>Conv1D</c>; output = x·W + b.</summary>
    InOut,
    /// <summary>(out, in): <c>torch.nn.Linear</c> (e.g. <c>lm_head</c>); output = x·Wᵀ + b.</summary>
    OutIn,
}

/// <summary>Describes one linear module of a model.</summary>
/// <param name="Name">Its Hugging Face name, e.g. <c>transformer.h.0.attn.c_attn</c>.</param>
/// <param name="InFeatures">Input width.</param>
/// <param name="OutFeatures">Output width.</param>
/// <param name="Layout">How its weight is stored.</param>
/// <param name="HasBias">Whether it adds a bias.</param>
public sealed record LinearModuleInfo(string Name, int InFeatures, int OutFeatures, WeightLayout Layout, bool HasBias);

/// <summary>A linear layer of a model, with an optional output hook.</summary>
internal sealed class LinearModule
{
    public LinearModule(string name, Tensor weight, Tensor? bias, WeightLayout layout)
    {
        Name = name;
        Weight = weight;
        Bias = bias;
        Layout = layout;
        InFeatures = checked((int)(layout == WeightLayout.InOut ? weight.shape[0] : weight.shape[1]));
        OutFeatures = checked((int)(layout == WeightLayout.InOut ? weight.shape[1] : weight.shape[0]));
    }

    public string Name { get; }
    public Tensor Weight { get; }
    public Tensor? Bias { get; }
    public WeightLayout Layout { get; }
    public int InFeatures { get; }
    public int OutFeatures { get; }
    public Func<Tensor, Tensor, Tensor>? Callback { get; set; }

    public LinearModuleInfo Info => new(Name, InFeatures, OutFeatures, Layout, Bias is not null);

    // Weights stored narrower than the activations (F16/BF16 checkpoints) are widened for this call
    // only and released right after it, so at most one layer's widened weight exists at a time.
    public Tensor BaseForward(Tensor x)
    {
        if (Weight.dtype == x.dtype && (Bias is null || Bias.dtype == x.dtype)) return Apply(x, Weight, Bias);
        using var w = Weight.to_type(x.dtype);
        using var b = Bias?.to_type(x.dtype);
        return Apply(x, w, b);
    }

    private Tensor Apply(Tensor x, Tensor w, Tensor? b)
    {
        if (Layout == WeightLayout.OutIn) return torch.nn.functional.linear(x, w, b);
        var y = x.matmul(w);
        return b is null ? y : y.add(b);
    }

    public Tensor Forward(Tensor x)
    {
        var y = BaseForward(x);
        var callback = Callback;
        if (callback is null) return y;
        var replaced = callback(x, y) ?? throw new InvalidOperationException($"The callback patched onto '{Name}' returned null.");
        if (!replaced.shape.SequenceEqual(y.shape))
            throw new InvalidOperationException(
                $"The callback patched onto '{Name}' returned shape [{string.Join(", ", replaced.shape)}]; the module's output is [{string.Join(", ", y.shape)}].");
        return replaced.dtype == y.dtype ? replaced : replaced.to_type(y.dtype);
    }
}
