using System.Numerics;
using Xunit;
using FsFixedPoint = ZkLora.Proofs.FixedPoint;

namespace ZkLora.Api.Tests;

public class FixedPointSettingsTests
{
    [Fact]
    public void Default_is_20_63_127_and_settings_compare_by_value()
    {
        var d = FixedPointSettings.Default;
        Assert.Equal((20, 63, 127), (d.ScaleBits, d.ValueBits, d.IntermediateBits));
        Assert.Equal(new FixedPointSettings(20, 63, 127), d);
        Assert.Equal(new FixedPointSettings(20, 63, 127).GetHashCode(), d.GetHashCode());
        Assert.NotEqual(new FixedPointSettings(16, 63, 127), d);
        Assert.Equal("(20, 63, 127)", d.ToString());
        Assert.Equal(BigInteger.One << 20, d.Scale);
        Assert.Equal((BigInteger.One << 62) - 1, d.ValueBound);
        Assert.Equal((BigInteger.One << 126) - 1, d.IntermediateBound);
    }

    /// <summary>
    /// Construction accepts exactly the configurations the contract's validateConfig accepts, and a
    /// rejection names the parameter that the contract's message names.
    /// </summary>
    [Fact]
    public void Construction_accepts_exactly_the_valid_configurations_and_names_the_bad_parameter()
    {
        int[] interesting = [-1, 0, 1, 2, 3, 5, 62, 63, 64, 127, 249, 250, 251];
        int checkedCount = 0;
        foreach (int s in interesting)
        foreach (int v in interesting)
        foreach (int i in interesting)
        {
            var contract = FsFixedPoint.validateConfig(new FsFixedPoint.FixedPointConfig(s, v, i));
            if (contract.IsOk)
            {
                var ok = new FixedPointSettings(s, v, i);
                Assert.Equal((s, v, i), (ok.ScaleBits, ok.ValueBits, ok.IntermediateBits));
                continue;
            }
            checkedCount++;
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => new FixedPointSettings(s, v, i));
            Assert.StartsWith(contract.ErrorValue, e.Message);
            string field = contract.ErrorValue["fixed-point config: ".Length..].Split(' ')[0];
            string expectedParam = field switch
            {
                "scale_bits" => "scaleBits",
                "value_bits" => "valueBits",
                "intermediate_bits" => "intermediateBits",
                _ => throw new InvalidOperationException(contract.ErrorValue),
            };
            Assert.Equal(expectedParam, e.ParamName);
        }
        Assert.True(checkedCount > 1000);
    }

    [Fact]
    public void Quantize_and_dequantize_follow_the_contract()
    {
        var cfg = new FixedPointSettings(8, 16, 40);
        foreach (double v in new[] { 0.0, -0.0, 1.0, -1.5, 0.001953125, 1e-9, 127.99, -127.99, 0.1, 3.14159 })
        {
            var q = cfg.Quantize(v);
            Assert.Equal(FsFixedPoint.quantize(cfg.ToFSharp(), v).ResultValue, q);
            Assert.Equal(FsFixedPoint.dequantize(cfg.ToFSharp(), q), cfg.Dequantize(q));
        }
        Assert.Equal(new BigInteger(384), cfg.Quantize(1.5));
        Assert.Equal(1.5, cfg.Dequantize(384));
        foreach (double bad in new[] { double.NaN, double.PositiveInfinity, 128.0, -1e6 })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => cfg.Quantize(bad));
            Assert.Equal("value", e.ParamName);
        }
    }
}
