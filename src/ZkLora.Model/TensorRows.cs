using static TorchSharp.torch;

namespace ZkLora.Model;

/// <summary>
/// Converts between module activations (tensors of shape (…, width)) and plain rows of doubles, the
/// form in which activations and deltas leave the model (e.g. to a LoRA contributor).
/// </summary>
public static class TensorRows
{
    /// <summary>Flattens every leading dimension: (…, width) → rows × width, values widened exactly to double.</summary>
    /// <exception cref="ArgumentException">The tensor is not floating point or has no dimensions.</exception>
    public static double[][] ToRows(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.dim() < 1) throw new ArgumentException("A scalar has no rows.", nameof(tensor));
        if (!is_floating_point(tensor)) throw new ArgumentException($"Expected a floating-point tensor, got {tensor.dtype}.", nameof(tensor));
        long width = tensor.shape[^1];
        using var asDouble = tensor.to_type(ScalarType.Float64).contiguous();
        var flat = asDouble.data<double>().ToArray();
        int rows = width == 0 ? 0 : checked((int)(flat.LongLength / width));
        var result = new double[rows][];
        for (int r = 0; r < rows; r++) result[r] = flat.AsSpan(checked((int)(r * width)), (int)width).ToArray();
        return result;
    }

    /// <summary>Builds a tensor of <paramref name="shape"/> and <paramref name="dtype"/> from rows (the inverse of <see cref="ToRows"/>).</summary>
    /// <exception cref="ArgumentException">The rows do not fill the shape exactly, or a value is not finite.</exception>
    public static Tensor FromRows(IReadOnlyList<double[]> rows, long[] shape, ScalarType dtype)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length < 1) throw new ArgumentException("The shape needs at least one dimension.", nameof(shape));
        long width = shape[^1];
        long count = shape.Aggregate(1L, (a, b) => checked(a * b));
        if (width == 0 ? rows.Count != 0 : rows.Count != count / width)
            throw new ArgumentException($"{rows.Count} rows do not fill shape [{string.Join(", ", shape)}].", nameof(rows));
        var flat = new double[count];
        for (int r = 0; r < rows.Count; r++)
        {
            var row = rows[r] ?? throw new ArgumentException($"Row {r} is null.", nameof(rows));
            if (row.Length != width) throw new ArgumentException($"Row {r} has {row.Length} values; the shape needs {width}.", nameof(rows));
            for (int i = 0; i < row.Length; i++)
                if (!double.IsFinite(row[i])) throw new ArgumentException($"Row {r} holds a non-finite value at {i}.", nameof(rows));
            row.CopyTo(flat, r * width);
        }
        TorchRuntime.EnsureLoaded();
        using var t = tensor(flat, shape, ScalarType.Float64);
        return t.to_type(dtype);
    }
}
