using TorchSharp;
using Xunit;

namespace ZkLora.Model.Tests;

public class TensorRowsTests
{
    [Fact]
    public void RowsRoundTripThroughTensors()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.arange(24, dtype: torch.ScalarType.Float32).reshape(2, 3, 4).mul(0.5f);
        var rows = TensorRows.ToRows(t);
        Assert.Equal(6, rows.Length);
        Assert.Equal(new[] { 6.0, 6.5, 7.0, 7.5 }, rows[3]);
        var back = TensorRows.FromRows(rows, new long[] { 2, 3, 4 }, torch.ScalarType.Float32);
        Assert.Equal(t.shape, back.shape);
        Assert.Equal(torch.ScalarType.Float32, back.dtype);
        Assert.Equal(t.data<float>().ToArray(), back.data<float>().ToArray());
    }

    [Fact]
    public void RejectsMismatchedRows()
    {
        Assert.Throws<ArgumentException>(() => TensorRows.FromRows(new[] { new double[] { 1, 2 } }, new long[] { 2, 2 }, torch.ScalarType.Float32));
        Assert.Throws<ArgumentException>(() => TensorRows.FromRows(new[] { new double[] { 1, 2, 3 } }, new long[] { 1, 2 }, torch.ScalarType.Float32));
        Assert.Throws<ArgumentException>(() => TensorRows.FromRows(new[] { new[] { 1.0, double.NaN } }, new long[] { 1, 2 }, torch.ScalarType.Float32));
        using var scope = torch.NewDisposeScope();
        Assert.Throws<ArgumentException>(() => TensorRows.ToRows(torch.tensor(new long[] { 1, 2 })));
    }
}
