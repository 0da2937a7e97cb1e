using System.Numerics;
using FsPolicy = ZkLora.Proofs.ParameterPolicy;

namespace ZkLora.Api;

/// <summary>
/// The verifier's bounds on the parameters a contributor chooses: its fixed-point configuration
/// and each module's LoRA scaling <c>num/den</c>. The verifier refuses anything outside them
/// before it reads a proof (<see cref="ProofVerificationFailure.OutsidePolicy"/>), and
/// <c>ZkLora.Api.Multiparty.BaseModelClient</c> (package ZkLora.Api) refuses a contributor that announces them before it
/// sends any activation. Every soundness argument of the proofs is an argument about bounded
/// integers; keeping a contributor's choices far from the field's size keeps those arguments far
/// from their edges. Widen it only deliberately; the circuit's own limits apply on top of it.
/// </summary>
public sealed record ParameterPolicy
{
    /// <summary>
    /// The standard policy: <c>scale_bits ≤ 32</c>, <c>value_bits ≤ 64</c>,
    /// <c>intermediate_bits ≤ 128</c>, <c>|num| ≤ 2^64</c>, <c>den ≤ 2^64</c>. It admits the
    /// default configuration (20, 63, 127) and every scaling a PEFT adapter produces.
    /// </summary>
    public static ParameterPolicy Standard { get; } = FromFSharp(FsPolicy.standard);

    /// <summary>Largest accepted <c>scale_bits</c>.</summary>
    public int MaxScaleBits { get; init; } = FsPolicy.standard.MaxScaleBits;

    /// <summary>Largest accepted <c>value_bits</c>.</summary>
    public int MaxValueBits { get; init; } = FsPolicy.standard.MaxValueBits;

    /// <summary>Largest accepted <c>intermediate_bits</c> (at most <see cref="FixedPointSettings.MaxIntermediateBits"/>).</summary>
    public int MaxIntermediateBits { get; init; } = FsPolicy.standard.MaxIntermediateBits;

    /// <summary>Largest accepted magnitude of the scaling numerator.</summary>
    public BigInteger MaxScalingNumerator { get; init; } = FsPolicy.standard.MaxScalingNumerator;

    /// <summary>Largest accepted scaling denominator (always ≥ 1).</summary>
    public BigInteger MaxScalingDenominator { get; init; } = FsPolicy.standard.MaxScalingDenominator;

    /// <summary>Checks a contributor's fixed-point configuration against the policy.</summary>
    /// <param name="settings">The configuration.</param>
    /// <returns><see langword="null"/> when accepted, else why not.</returns>
    public string? Check(FixedPointSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var r = FsPolicy.checkConfig(ToFSharp(), settings.ToFSharp());
        return r.IsOk ? null : r.ErrorValue;
    }

    /// <summary>Checks a contributor's fixed-point configuration and scaling against the policy.</summary>
    /// <param name="settings">The configuration.</param>
    /// <param name="scalingNumerator">The scaling numerator.</param>
    /// <param name="scalingDenominator">The scaling denominator (positive, reduced).</param>
    /// <returns><see langword="null"/> when accepted, else why not.</returns>
    public string? Check(FixedPointSettings settings, BigInteger scalingNumerator, BigInteger scalingDenominator)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var r = FsPolicy.check(ToFSharp(), settings.ToFSharp(), new Proofs.FixedPoint.Scaling(scalingNumerator, scalingDenominator));
        return r.IsOk ? null : r.ErrorValue;
    }

    /// <summary>The F# policy, validated.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A bound is itself out of range (for example a negative bit count or
    /// <see cref="MaxIntermediateBits"/> above <see cref="FixedPointSettings.MaxIntermediateBits"/>).</exception>
    internal FsPolicy.ParameterPolicy ToFSharp()
    {
        var p = new FsPolicy.ParameterPolicy(MaxScaleBits, MaxValueBits, MaxIntermediateBits, MaxScalingNumerator, MaxScalingDenominator);
        var v = FsPolicy.validate(p);
        // No parameter name: the bound at fault is named in the message (the policy is one object).
        return v.IsOk ? v.ResultValue : throw new ArgumentOutOfRangeException(paramName: null, message: v.ErrorValue);
    }

    private static ParameterPolicy FromFSharp(FsPolicy.ParameterPolicy p) => new()
    {
        MaxScaleBits = p.MaxScaleBits,
        MaxValueBits = p.MaxValueBits,
        MaxIntermediateBits = p.MaxIntermediateBits,
        MaxScalingNumerator = p.MaxScalingNumerator,
        MaxScalingDenominator = p.MaxScalingDenominator,
    };
}
