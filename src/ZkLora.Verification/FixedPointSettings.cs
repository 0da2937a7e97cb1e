using System.Globalization;
using System.Numerics;
using FsFixedPoint = ZkLora.Proofs.FixedPoint;

namespace ZkLora.Api;

/// <summary>
/// The fixed-point configuration <c>(scale_bits, value_bits, intermediate_bits)</c> of the exact
/// LoRA arithmetic (docs/design.md §2): values are integers <c>q = round(v · 2^scale_bits)</c> within
/// ±<see cref="ValueBound"/>, and intermediate sums stay within ±<see cref="IntermediateBound"/>.
/// Instances are always valid: <c>0 ≤ scale_bits &lt; value_bits ≤ intermediate_bits ≤ 250</c> and
/// <c>value_bits ≥ 2</c>.
/// </summary>
public sealed record FixedPointSettings
{
    /// <summary>Largest allowed <see cref="IntermediateBits"/>: every bounded quantity then fits the circuit field with room.</summary>
    public const int MaxIntermediateBits = 250;

    /// <summary>Creates a configuration.</summary>
    /// <param name="scaleBits">Fractional bits: the scale is 2^scaleBits.</param>
    /// <param name="valueBits">Bits of a value, sign included: |q| ≤ 2^(valueBits−1) − 1.</param>
    /// <param name="intermediateBits">Bits of an intermediate sum, sign included.</param>
    /// <exception cref="ArgumentOutOfRangeException">The bits violate
    /// <c>0 ≤ scaleBits &lt; valueBits ≤ intermediateBits ≤ 250</c> or <c>valueBits ≥ 2</c>; the message says which.</exception>
    public FixedPointSettings(int scaleBits, int valueBits, int intermediateBits)
    {
        var checkedConfig = FsFixedPoint.validateConfig(new FsFixedPoint.FixedPointConfig(scaleBits, valueBits, intermediateBits));
        if (checkedConfig.IsError)
        {
            // Same order of checks as the contract's validateConfig, so the parameter named is the one the message names.
            string param = scaleBits < 0 ? nameof(scaleBits)
                : valueBits < FsFixedPoint.minValueBits ? nameof(valueBits)
                : scaleBits >= valueBits ? nameof(scaleBits)
                : nameof(intermediateBits);
            throw new ArgumentOutOfRangeException(param, checkedConfig.ErrorValue);
        }
        ScaleBits = scaleBits;
        ValueBits = valueBits;
        IntermediateBits = intermediateBits;
    }

    /// <summary>The default configuration (20, 63, 127).</summary>
    public static FixedPointSettings Default { get; } = FromFSharp(FsFixedPoint.defaultConfig);

    /// <summary>Fractional bits: the scale is 2^<see cref="ScaleBits"/>.</summary>
    public int ScaleBits { get; }

    /// <summary>Bits of a value, sign included.</summary>
    public int ValueBits { get; }

    /// <summary>Bits of an intermediate sum, sign included.</summary>
    public int IntermediateBits { get; }

    /// <summary>2^<see cref="ScaleBits"/>.</summary>
    public BigInteger Scale => FsFixedPoint.scale(ToFSharp());

    /// <summary>2^(<see cref="ValueBits"/>−1) − 1: the largest magnitude of a quantized value.</summary>
    public BigInteger ValueBound => FsFixedPoint.valueBound(ToFSharp());

    /// <summary>2^(<see cref="IntermediateBits"/>−1) − 1: the largest magnitude of an intermediate sum.</summary>
    public BigInteger IntermediateBound => FsFixedPoint.intermediateBound(ToFSharp());

    /// <summary>
    /// Quantizes exactly as the protocol does: the shortest round-trip decimal text of
    /// <paramref name="value"/>, times 2^<see cref="ScaleBits"/>, rounded half away from zero.
    /// </summary>
    /// <param name="value">A finite double.</param>
    /// <returns>The quantized integer, within ±<see cref="ValueBound"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The value is NaN, infinite, or quantizes outside ±<see cref="ValueBound"/>.</exception>
    public BigInteger Quantize(double value)
    {
        var q = FsFixedPoint.quantize(ToFSharp(), value);
        return q.IsOk ? q.ResultValue : throw new ArgumentOutOfRangeException(nameof(value), q.ErrorValue);
    }

    /// <summary>The double nearest to <paramref name="value"/> / 2^<see cref="ScaleBits"/>.</summary>
    /// <param name="value">A quantized value.</param>
    /// <returns>The dequantized value.</returns>
    public double Dequantize(BigInteger value) => FsFixedPoint.dequantize(ToFSharp(), value);

    /// <inheritdoc />
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"({ScaleBits}, {ValueBits}, {IntermediateBits})");

    internal FsFixedPoint.FixedPointConfig ToFSharp() => new(ScaleBits, ValueBits, IntermediateBits);

    /// <summary>Wraps a configuration the contract has already validated.</summary>
    internal static FixedPointSettings FromFSharp(FsFixedPoint.FixedPointConfig config) =>
        new(config.ScaleBits, config.ValueBits, config.IntermediateBits);
}
