using System.CommandLine;
using System.Numerics;
using ZkLora.Api;

namespace ZkLora.Cli;

/// <summary>
/// The <c>--max-*</c> options that widen or narrow the verifier's <see cref="ParameterPolicy"/>
/// (shared by <c>verify</c> and <c>infer</c>). Unset options keep <see cref="ParameterPolicy.Standard"/>.
/// </summary>
internal sealed class ParameterPolicyOptions
{
    private readonly Option<int?> _scaleBits = new("--max-scale-bits")
    { Description = $"Largest fixed-point scale_bits a contributor may use (default {ParameterPolicy.Standard.MaxScaleBits})." };
    private readonly Option<int?> _valueBits = new("--max-value-bits")
    { Description = $"Largest value_bits a contributor may use (default {ParameterPolicy.Standard.MaxValueBits})." };
    private readonly Option<int?> _intermediateBits = new("--max-intermediate-bits")
    { Description = $"Largest intermediate_bits a contributor may use (default {ParameterPolicy.Standard.MaxIntermediateBits}, at most {FixedPointSettings.MaxIntermediateBits})." };
    private readonly Option<int?> _scalingBits = new("--max-scaling-bits")
    { Description = "Largest scaling a contributor may use: |num| and den at most 2^N (default 64)." };

    /// <summary>The options, to add to a command.</summary>
    public IEnumerable<Option> All => [_scaleBits, _valueBits, _intermediateBits, _scalingBits];

    /// <summary>The policy the parsed options describe.</summary>
    /// <exception cref="ArgumentException">A bound is out of range.</exception>
    public ParameterPolicy Read(ParseResult parse)
    {
        var p = ParameterPolicy.Standard;
        if (parse.GetValue(_scaleBits) is { } sb) p = p with { MaxScaleBits = sb };
        if (parse.GetValue(_valueBits) is { } vb) p = p with { MaxValueBits = vb };
        if (parse.GetValue(_intermediateBits) is { } ib) p = p with { MaxIntermediateBits = ib };
        if (parse.GetValue(_scalingBits) is { } bits)
        {
            if (bits is < 0 or > 250) throw new ArgumentException("--max-scaling-bits must be in 0–250.");
            p = p with { MaxScalingNumerator = BigInteger.One << bits, MaxScalingDenominator = BigInteger.One << bits };
        }
        p.Check(FixedPointSettings.Default); // validates the policy's own bounds (ArgumentOutOfRangeException)
        return p;
    }
}
