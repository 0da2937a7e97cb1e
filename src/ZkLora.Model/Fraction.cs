using System.Globalization;
using System.Numerics;

namespace ZkLora.Model;

/// <summary>An exact rational number num/den, always reduced with den &gt; 0 (e.g. a LoRA scaling).</summary>
public sealed record Fraction
{
    /// <summary>Builds num/den reduced to lowest terms with a positive denominator.</summary>
    /// <exception cref="DivideByZeroException"><paramref name="denominator"/> is zero.</exception>
    public Fraction(BigInteger numerator, BigInteger denominator)
    {
        if (denominator.IsZero) throw new DivideByZeroException("A fraction's denominator must not be zero.");
        if (denominator.Sign < 0) { numerator = -numerator; denominator = -denominator; }
        var g = BigInteger.GreatestCommonDivisor(numerator, denominator);
        if (!g.IsZero && !g.IsOne) { numerator /= g; denominator /= g; }
        if (numerator.IsZero) denominator = BigInteger.One;
        Numerator = numerator;
        Denominator = denominator;
    }

    /// <summary>The numerator (sign of the value).</summary>
    public BigInteger Numerator { get; }

    /// <summary>The denominator (always positive).</summary>
    public BigInteger Denominator { get; }

    /// <summary>The nearest double.</summary>
    public double ToDouble() => (double)Numerator / (double)Denominator;

    /// <summary>
    /// Parses a JSON/decimal number text exactly ("8", "16.0", "0.5", "1e-3", "-2.5E+2") into a fraction;
    /// no binary rounding happens on the way.
    /// </summary>
    /// <exception cref="FormatException">The text is not a finite decimal number.</exception>
    public static Fraction ParseDecimal(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string s = text.Trim();
        int i = 0;
        bool negative = false;
        if (i < s.Length && (s[i] == '-' || s[i] == '+')) { negative = s[i] == '-'; i++; }
        var digits = new System.Text.StringBuilder();
        int fractionDigits = 0;
        bool sawDigit = false, sawPoint = false;
        for (; i < s.Length; i++)
        {
            char c = s[i];
            if (c >= '0' && c <= '9') { digits.Append(c); sawDigit = true; if (sawPoint) fractionDigits++; }
            else if (c == '.' && !sawPoint) sawPoint = true;
            else break;
        }
        if (!sawDigit) throw new FormatException($"'{text}' is not a decimal number.");
        long exponent = 0;
        if (i < s.Length)
        {
            if (s[i] != 'e' && s[i] != 'E') throw new FormatException($"'{text}' is not a decimal number.");
            string exp = s[(i + 1)..];
            if (!long.TryParse(exp, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exponent) || Math.Abs(exponent) > 4096)
                throw new FormatException($"'{text}' has an unsupported exponent.");
        }
        var mantissa = BigInteger.Parse(digits.ToString(), CultureInfo.InvariantCulture);
        if (negative) mantissa = -mantissa;
        long scale = exponent - fractionDigits;
        return scale >= 0
            ? new Fraction(mantissa * BigInteger.Pow(10, (int)scale), BigInteger.One)
            : new Fraction(mantissa, BigInteger.Pow(10, (int)-scale));
    }

    /// <inheritdoc />
    public override string ToString() => Denominator.IsOne ? Numerator.ToString(CultureInfo.InvariantCulture) : $"{Numerator}/{Denominator}";
}
