using System.Globalization;
using System.Text.Json;
using Xunit;

namespace ZkLora.Model.Tests;

public class SplitMix64Tests
{
    [Fact]
    public void MatchesTheIndependentReference()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestPaths.Vector("splitmix64.json")));
        foreach (var c in doc.RootElement.EnumerateArray())
        {
            var rng = new SplitMix64(ulong.Parse(c.GetProperty("seed").GetString()!, CultureInfo.InvariantCulture));
            foreach (var o in c.GetProperty("outputs").EnumerateArray())
                Assert.Equal(ulong.Parse(o.GetString()!, CultureInfo.InvariantCulture), rng.Next());
        }
    }

    [Fact]
    public void DoublesStayInRange()
    {
        var rng = new SplitMix64(42);
        for (int i = 0; i < 10_000; i++)
        {
            double d = rng.NextDouble();
            Assert.InRange(d, 0.0, Math.BitDecrement(1.0));
            Assert.InRange(rng.NextSymmetric(0.25), -0.25, 0.25);
        }
    }
}
