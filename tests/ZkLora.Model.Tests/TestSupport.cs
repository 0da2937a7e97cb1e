using System.Reflection;

namespace ZkLora.Model.Tests;

internal static class TestPaths
{
    public static string Vectors => Path.Combine(AppContext.BaseDirectory, "vectors");

    public static string Vector(params string[] parts) => Path.Combine(new[] { Vectors }.Concat(parts).ToArray());

    /// <summary>The unpatched libLibTorchSharp.so in the NuGet cache (recorded at build time).</summary>
    public static string TorchSharpNativeSource =>
        typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "TorchSharpNativeSource").Value!;

    /// <summary>The copy of libLibTorchSharp.so in this test's output folder.</summary>
    public static string TorchSharpNativeOutput =>
        Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
}

internal static class Assertions
{
    public static void Close(double expected, double actual, double tolerance, string what)
    {
        if (!(Math.Abs(expected - actual) <= tolerance))
            throw new Xunit.Sdk.XunitException($"{what}: expected {expected:R}, got {actual:R} (|diff| {Math.Abs(expected - actual):E3} > {tolerance:E1}).");
    }

    public static double MaxAbsDiff(double[][] a, double[][] b)
    {
        Xunit.Assert.Equal(a.Length, b.Length);
        double max = 0;
        for (int i = 0; i < a.Length; i++)
        {
            Xunit.Assert.Equal(a[i].Length, b[i].Length);
            for (int j = 0; j < a[i].Length; j++) max = Math.Max(max, Math.Abs(a[i][j] - b[i][j]));
        }
        return max;
    }
}
