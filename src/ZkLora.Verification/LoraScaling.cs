using System.Globalization;
using System.Numerics;

namespace ZkLora.Api;

/// <summary>
/// A module's LoRA scaling <c>num/den</c> (alpha/r, or alpha/√r when rational) exactly as the
/// protocol records it: reduced to lowest terms with a positive denominator (0 is 0/1).
/// </summary>
public sealed record LoraScaling
{
    /// <summary>Builds <paramref name="numerator"/>/<paramref name="denominator"/> reduced to lowest terms.</summary>
    /// <param name="numerator">The numerator.</param>
    /// <param name="denominator">The denominator (not zero; a negative one moves the sign to the numerator).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="denominator"/> is zero.</exception>
    public LoraScaling(BigInteger numerator, BigInteger denominator)
    {
        var s = Proofs.FixedPoint.scaling(numerator, denominator);
        if (s.IsError) throw new ArgumentOutOfRangeException(nameof(denominator), s.ErrorValue);
        Numerator = s.ResultValue.Num;
        Denominator = s.ResultValue.Den;
    }

    /// <summary>The numerator (carries the sign).</summary>
    public BigInteger Numerator { get; }

    /// <summary>The denominator (always positive).</summary>
    public BigInteger Denominator { get; }

    /// <summary>The nearest double.</summary>
    /// <returns><see cref="Numerator"/> / <see cref="Denominator"/>.</returns>
    public double ToDouble() => (double)Numerator / (double)Denominator;

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Numerator}/{Denominator}");

    internal Proofs.FixedPoint.Scaling ToFSharp() => new(Numerator, Denominator);

    internal static LoraScaling FromFSharp(Proofs.FixedPoint.Scaling s) => new(s.Num, s.Den);
}
