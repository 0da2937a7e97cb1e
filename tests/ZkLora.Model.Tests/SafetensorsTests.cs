using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Xunit;

namespace ZkLora.Model.Tests;

public class SafetensorsTests
{
    private static string Sample => TestPaths.Vector("safetensors", "sample.safetensors");

    [Fact]
    public void ReadsTheIndependentlyWrittenSample()
    {
        var file = SafetensorsFile.Open(Sample);
        using var expected = JsonDocument.Parse(File.ReadAllText(TestPaths.Vector("safetensors", "expected.json")));
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal(expected.RootElement.EnumerateObject().Count(), file.Entries.Count);
        foreach (var t in expected.RootElement.EnumerateObject())
        {
            var entry = file.Entry(t.Name);
            Assert.Equal(t.Value.GetProperty("dtype").GetString(), entry.DType.ToString());
            Assert.Equal(t.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()), entry.Shape);
            var want = t.Value.GetProperty("values").EnumerateArray().Select(x => x.GetDouble()).ToArray();
            var got = file.ReadDoubles(t.Name);
            Assert.Equal(want.Length, got.Length);
            for (int i = 0; i < want.Length; i++)
                Assert.True(want[i].Equals(got[i]), $"{t.Name}[{i}]: expected {want[i]:R}, got {got[i]:R}");
        }
        // Narrow dtypes widen to float32 exactly.
        Assert.Equal(new[] { 1.5f, -2.25f, 0.0078125f, 3.3895314e38f }, file.ReadSingles("weight.bf16"));
        Assert.Equal(65504f, file.ReadSingles("weight.f16")[2]);
    }

    [Fact]
    public void WriterRoundTripsAndIsDeterministic()
    {
        var tensors = new[]
        {
            new SafetensorsTensor("b", SafetensorsDType.F32, new long[] { 2, 2 }, new[] { 1.0, -0.5, 0.25, 1e-3 }),
            new SafetensorsTensor("a", SafetensorsDType.F64, new long[] { 3 }, new[] { Math.PI, -Math.E, 1e300 }),
            new SafetensorsTensor("c", SafetensorsDType.F16, new long[] { 2 }, new[] { 0.5, -1024.0 }),
            new SafetensorsTensor("d", SafetensorsDType.BF16, new long[] { 1 }, new[] { -3.0 }),
        };
        var bytes = SafetensorsWriter.ToBytes(tensors, new Dictionary<string, string> { ["format"] = "pt" });
        Assert.Equal(bytes, SafetensorsWriter.ToBytes(tensors.Reverse(), new Dictionary<string, string> { ["format"] = "pt" }));
        Assert.Equal(0, (8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes)) % 8);

        using var dir = new TempDir();
        string path = dir.Combine("x.safetensors");
        File.WriteAllBytes(path, bytes);
        var file = SafetensorsFile.Open(path);
        Assert.Equal(new[] { "a", "b", "c", "d" }, file.Entries.Select(e => e.Name));
        Assert.Equal(new[] { Math.PI, -Math.E, 1e300 }, file.ReadDoubles("a"));
        Assert.Equal(new[] { 1f, -0.5f, 0.25f, 1e-3f }, file.ReadSingles("b"));
        Assert.Equal(new[] { 0.5, -1024.0 }, file.ReadDoubles("c"));
        Assert.Equal(new[] { -3.0 }, file.ReadDoubles("d"));
    }

    [Theory]
    [InlineData(1.0f, (ushort)0x3F80)]
    [InlineData(1.00390625f, (ushort)0x3F80)]    // exactly halfway between 0x3F80 and 0x3F81: ties to even
    [InlineData(1.01171875f, (ushort)0x3F82)]    // halfway between 0x3F81 and 0x3F82: ties to even (up)
    [InlineData(1.0039064f, (ushort)0x3F81)]     // one float32 ulp above halfway: rounds up
    [InlineData(-2.0f, (ushort)0xC000)]
    public void BFloat16RoundsToNearestEven(float value, ushort bits) =>
        Assert.Equal(bits, SafetensorsWriter.ToBFloat16Bits(value));

    private static byte[] Build(string headerJson, int dataBytes, ulong? declaredLength = null)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var result = new byte[8 + header.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(result, declaredLength ?? (ulong)header.Length);
        header.CopyTo(result, 8);
        return result;
    }

    private static ModelFormatException Rejects(byte[] bytes)
    {
        using var dir = new TempDir();
        string path = dir.Combine("bad.safetensors");
        File.WriteAllBytes(path, bytes);
        return Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path));
    }

    [Fact]
    public void RejectsMalformedFiles()
    {
        const string ok = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        using (var dir = new TempDir())
        {
            string path = dir.Combine("ok.safetensors");
            File.WriteAllBytes(path, Build(ok, 8));
            Assert.Equal(2, SafetensorsFile.Open(path).ReadSingles("x").Length);
        }
        Assert.Contains("too short", Rejects(new byte[5]).Message);
        Assert.Contains("runs past the end", Rejects(Build(ok, 8, declaredLength: 1_000_000)).Message);
        Assert.Contains("outside", Rejects(Build(ok, 8, declaredLength: ulong.MaxValue)).Message);
        Assert.Contains("not valid", Rejects(Build("{\"x\":", 0)).Message);
        Assert.Contains("start with", Rejects(Build("[1,2]", 0)).Message);
        Assert.Contains("dtype 'Q4'", Rejects(Build(ok.Replace("F32", "Q4"), 8)).Message);
        Assert.Contains("data_offsets span", Rejects(Build(ok.Replace("F32", "I64"), 8)).Message); // I64 is 8 bytes a value
        Assert.Contains("data_offsets span", Rejects(Build(ok.Replace("[0,8]", "[0,4]"), 4)).Message);
        Assert.Contains("cover 8 bytes but the data section has 12", Rejects(Build(ok, 12)).Message);
        Assert.Contains("gap", Rejects(Build(ok.Replace("[0,8]", "[4,12]"), 12)).Message);
        Assert.Contains("appears twice", Rejects(Build("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8)).Message);
        Assert.Contains("overlaps", Rejects(Build("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8)).Message);
        Assert.Contains("non-negative integer", Rejects(Build(ok.Replace("[2]", "[-2]"), 8)).Message);
        Assert.Contains("impossibly large", Rejects(Build(ok.Replace("[2]", "[4611686018427387904,4]"), 8)).Message);
        Assert.Contains("unknown field", Rejects(Build(ok.Replace("\"shape\"", "\"extra\":1,\"shape\""), 8)).Message);
        Assert.Contains("not a string", Rejects(Build("{\"__metadata__\":{\"a\":1}}", 0)).Message);
        Assert.Throws<FileNotFoundException>(() => SafetensorsFile.Open(Path.Combine(Path.GetTempPath(), "no-such-" + Guid.NewGuid() + ".safetensors")));
    }
}
