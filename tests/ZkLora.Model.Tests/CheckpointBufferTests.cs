using System.Buffers.Binary;
using System.Text;
using Xunit;

namespace ZkLora.Model.Tests;

/// <summary>Buffers a model does not use are skipped before their dtype matters.</summary>
public class CheckpointBufferTests
{
    /// <summary>Writes a safetensors file by hand (the project's writer only writes float tensors).</summary>
    internal static void WriteRaw(string path, IReadOnlyList<(string Name, string DType, long[] Shape, byte[] Data)> tensors)
    {
        var header = new StringBuilder("{");
        long offset = 0;
        foreach (var (name, dtype, shape, data) in tensors)
        {
            if (header.Length > 1) header.Append(',');
            header.Append($"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{offset},{offset + data.Length}]}}");
            offset += data.Length;
        }
        header.Append('}');
        while ((8 + header.Length) % 8 != 0) header.Append(' ');
        using var f = File.Create(path);
        var len = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
        f.Write(len);
        f.Write(Encoding.UTF8.GetBytes(header.ToString()));
        foreach (var t in tensors) f.Write(t.Data);
    }

    private static byte[] F32Bytes(double[] values)
    {
        var b = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(4 * i), (float)values[i]);
        return b;
    }

    [Fact]
    public void OldGpt2CheckpointWithU8MaskBuffersLoads()
    {
        // Checkpoints saved by older transformers carry h.N.attn.bias (the causal mask, U8 or BOOL) and
        // h.N.attn.masked_bias; they are not weights and are never read.
        var reference = ReferenceGpt2.Random(5, vocab: 9, positions: 6, embd: 8, heads: 2, layers: 2, inner: 16);
        using var dir = new TempDir();
        reference.WriteFolder(dir.Path);
        var tensors = reference.Shapes().Select(s => ("transformer." + s.Name, "F32", s.Shape, F32Bytes(reference.W[s.Name]))).ToList();
        var mask = new byte[36];
        for (int i = 0; i < 6; i++) for (int j = 0; j <= i; j++) mask[i * 6 + j] = 1;
        tensors.Add(("transformer.h.0.attn.bias", "U8", new long[] { 1, 1, 6, 6 }, mask));
        tensors.Add(("transformer.h.1.attn.bias", "BOOL", new long[] { 1, 1, 6, 6 }, mask));
        tensors.Add(("transformer.h.1.attn.masked_bias", "F32", Array.Empty<long>(), F32Bytes(new[] { -1e4 })));
        WriteRaw(dir.Combine("model.safetensors"), tensors);

        var file = SafetensorsFile.Open(dir.Combine("model.safetensors"));
        Assert.Equal(SafetensorsDType.U8, file.Entry("transformer.h.0.attn.bias").DType);
        Assert.Contains("only F16, BF16, F32 and F64", Assert.Throws<ModelFormatException>(() => file.ReadSingles("transformer.h.0.attn.bias")).Message);

        int[] ids = { 1, 2, 3, 8, 0 };
        using var model = CausalLanguageModel.Load(dir.Path);
        Assert.IsType<Gpt2Model>(model);
        Assert.True(Assertions.MaxAbsDiff(reference.Logits(ids), model.Logits(ids)) <= 1e-5);
    }

    [Fact]
    public void AnIntegerTensorWhereAWeightBelongsIsRefused()
    {
        var reference = LlamaFamilyTests.Make("qwen2");
        using var dir = new TempDir();
        reference.WriteFolder(dir.Path, SafetensorsDType.F32);
        var tensors = reference.Shapes().Select(s => s.Name == "model.norm.weight"
            ? (s.Name, "I32", s.Shape, new byte[4 * 16])
            : (s.Name, "F32", s.Shape, F32Bytes(reference.W[s.Name]))).ToList();
        WriteRaw(dir.Combine("model.safetensors"), tensors);
        var e = Assert.Throws<ModelFormatException>(() => CausalLanguageModel.Load(dir.Path));
        Assert.Contains("model.norm.weight", e.Message);
        Assert.Contains("I32", e.Message);
    }
}
