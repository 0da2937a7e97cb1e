using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace ZkLora.Model;

/// <summary>Element types this reader accepts from a safetensors file.</summary>
public enum SafetensorsDType
{
    /// <summary>IEEE 754 binary16.</summary>
    F16,
    /// <summary>bfloat16 (the upper half of a binary32).</summary>
    BF16,
    /// <summary>IEEE 754 binary32.</summary>
    F32,
    /// <summary>IEEE 754 binary64.</summary>
    F64,
    /// <summary>Boolean (one byte); accepted in a header, never read as weights.</summary>
    BOOL,
    /// <summary>Unsigned 8-bit integer (e.g. old GPT-2 mask buffers); accepted in a header, never read as weights.</summary>
    U8,
    /// <summary>Signed 8-bit integer; accepted in a header, never read as weights.</summary>
    I8,
    /// <summary>Signed 16-bit integer; accepted in a header, never read as weights.</summary>
    I16,
    /// <summary>Unsigned 16-bit integer; accepted in a header, never read as weights.</summary>
    U16,
    /// <summary>Signed 32-bit integer; accepted in a header, never read as weights.</summary>
    I32,
    /// <summary>Unsigned 32-bit integer; accepted in a header, never read as weights.</summary>
    U32,
    /// <summary>Signed 64-bit integer; accepted in a header, never read as weights.</summary>
    I64,
    /// <summary>Unsigned 64-bit integer; accepted in a header, never read as weights.</summary>
    U64,
    /// <summary>8-bit float E4M3; accepted in a header, never read as weights.</summary>
    F8_E4M3,
    /// <summary>8-bit float E5M2; accepted in a header, never read as weights.</summary>
    F8_E5M2,
}

/// <summary>One tensor's entry in a safetensors header.</summary>
/// <param name="Name">The tensor's key.</param>
/// <param name="DType">Its element type.</param>
/// <param name="Shape">Its shape (empty for a scalar).</param>
/// <param name="Begin">Start of its bytes, relative to the data section.</param>
/// <param name="End">End (exclusive) of its bytes, relative to the data section.</param>
public sealed record SafetensorsEntry(string Name, SafetensorsDType DType, long[] Shape, long Begin, long End)
{
    /// <summary>Number of elements (product of the shape).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, d) => checked(a * d));
}

/// <summary>
/// A strict reader for the safetensors format: an 8-byte little-endian header length N, N bytes of
/// UTF-8 JSON mapping names to <c>{dtype, shape, data_offsets}</c> (plus optional string-valued
/// <c>__metadata__</c>), then the data section. Every offset is bounds-checked and the tensors must
/// tile the data section exactly (no gaps, no overlaps), as the format's specification requires.
/// </summary>
public sealed class SafetensorsFile
{
    /// <summary>Largest accepted header (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly Dictionary<string, SafetensorsEntry> _entries;

    private SafetensorsFile(string path, long dataStart, Dictionary<string, SafetensorsEntry> entries, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        DataStart = dataStart;
        _entries = entries;
        Metadata = metadata;
    }

    /// <summary>The file this header was read from.</summary>
    public string Path { get; }

    /// <summary>Absolute file offset of the data section.</summary>
    public long DataStart { get; }

    /// <summary>The <c>__metadata__</c> map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>All tensor entries, in data-offset order.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries => _entries.Values.OrderBy(e => e.Begin).ThenBy(e => e.Name, StringComparer.Ordinal).ToList();

    /// <summary>Tensor names.</summary>
    public IEnumerable<string> Names => _entries.Keys;

    /// <summary>Whether a tensor of that name exists.</summary>
    public bool Contains(string name) => _entries.ContainsKey(name);

    /// <summary>The entry of a tensor; <see cref="ModelFormatException"/> if absent.</summary>
    public SafetensorsEntry Entry(string name) =>
        _entries.TryGetValue(name, out var e) ? e : throw new ModelFormatException($"{Path}: no tensor named '{name}'.");

    /// <summary>Reads and validates the header of a safetensors file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ModelFormatException">The header is malformed.</exception>
    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file not found: {path}", path);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long fileLength = fs.Length;
        if (fileLength < 8) throw new ModelFormatException($"{path}: {fileLength} bytes is too short for a safetensors file.");
        Span<byte> lenBytes = stackalloc byte[8];
        fs.ReadExactly(lenBytes);
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (headerLen < 2 || headerLen > MaxHeaderBytes)
            throw new ModelFormatException($"{path}: header length {headerLen} is outside 2..{MaxHeaderBytes}.");
        if ((long)headerLen > fileLength - 8)
            throw new ModelFormatException($"{path}: header length {headerLen} runs past the end of the {fileLength}-byte file.");
        var header = new byte[headerLen];
        fs.ReadExactly(header);
        long dataStart = 8 + (long)headerLen;
        return Parse(path, header, dataStart, fileLength - dataStart);
    }

    private static SafetensorsFile Parse(string path, byte[] header, long dataStart, long dataLength)
    {
        if (header[0] != (byte)'{') throw new ModelFormatException($"{path}: the header does not start with '{{'.");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{path}: the header is not valid JSON: {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException($"{path}: the header is not valid UTF-8 JSON: {e.Message}", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"{path}: the header is not a JSON object.");
            var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            bool sawMetadata = false;
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (sawMetadata) throw new ModelFormatException($"{path}: '__metadata__' appears twice.");
                    sawMetadata = true;
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"{path}: '__metadata__' is not an object.");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String) throw new ModelFormatException($"{path}: metadata '{m.Name}' is not a string.");
                        if (!metadata.TryAdd(m.Name, m.Value.GetString()!)) throw new ModelFormatException($"{path}: metadata key '{m.Name}' appears twice.");
                    }
                    continue;
                }
                if (entries.ContainsKey(prop.Name)) throw new ModelFormatException($"{path}: tensor '{prop.Name}' appears twice.");
                entries[prop.Name] = ParseEntry(path, prop);
            }

            // The tensors must tile [0, dataLength) exactly.
            long cursor = 0;
            foreach (var e in entries.Values.OrderBy(e => e.Begin).ThenBy(e => e.End))
            {
                if (e.Begin != cursor)
                    throw new ModelFormatException(e.Begin < cursor
                        ? $"{path}: tensor '{e.Name}' overlaps the previous tensor (starts at {e.Begin}, previous ends at {cursor})."
                        : $"{path}: gap in the data section before tensor '{e.Name}' (bytes {cursor}..{e.Begin}).");
                cursor = e.End;
            }
            if (cursor != dataLength)
                throw new ModelFormatException($"{path}: the tensors cover {cursor} bytes but the data section has {dataLength}.");
            return new SafetensorsFile(path, dataStart, entries, metadata);
        }
    }

    private static SafetensorsEntry ParseEntry(string path, JsonProperty prop)
    {
        string name = prop.Name;
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"{path}: entry '{name}' is not an object.");
        string? dtypeText = null;
        long[]? shape = null;
        long[]? offsets = null;
        foreach (var f in v.EnumerateObject())
        {
            switch (f.Name)
            {
                case "dtype":
                    if (dtypeText != null || f.Value.ValueKind != JsonValueKind.String) throw new ModelFormatException($"{path}: '{name}'.dtype is missing, repeated or not a string.");
                    dtypeText = f.Value.GetString();
                    break;
                case "shape":
                    if (shape != null) throw new ModelFormatException($"{path}: '{name}'.shape appears twice.");
                    shape = ReadLongArray(path, name, "shape", f.Value);
                    break;
                case "data_offsets":
                    if (offsets != null) throw new ModelFormatException($"{path}: '{name}'.data_offsets appears twice.");
                    offsets = ReadLongArray(path, name, "data_offsets", f.Value);
                    break;
                default:
                    throw new ModelFormatException($"{path}: '{name}' has unknown field '{f.Name}'.");
            }
        }
        if (dtypeText == null || shape == null || offsets == null)
            throw new ModelFormatException($"{path}: '{name}' needs dtype, shape and data_offsets.");
        var dtype = dtypeText switch
        {
            "F16" => SafetensorsDType.F16,
            "BF16" => SafetensorsDType.BF16,
            "F32" => SafetensorsDType.F32,
            "F64" => SafetensorsDType.F64,
            "BOOL" => SafetensorsDType.BOOL,
            "U8" => SafetensorsDType.U8,
            "I8" => SafetensorsDType.I8,
            "I16" => SafetensorsDType.I16,
            "U16" => SafetensorsDType.U16,
            "I32" => SafetensorsDType.I32,
            "U32" => SafetensorsDType.U32,
            "I64" => SafetensorsDType.I64,
            "U64" => SafetensorsDType.U64,
            "F8_E4M3" => SafetensorsDType.F8_E4M3,
            "F8_E5M2" => SafetensorsDType.F8_E5M2,
            _ => throw new ModelFormatException($"{path}: '{name}' has dtype '{dtypeText}', which is not a safetensors dtype this reader knows."),
        };
        if (offsets.Length != 2 || offsets[1] < offsets[0])
            throw new ModelFormatException($"{path}: '{name}'.data_offsets must be [begin, end] with begin <= end.");
        long count;
        try
        {
            count = shape.Aggregate(1L, (a, d) => checked(a * d));
            long bytes = checked(count * ElementSize(dtype));
            if (bytes != offsets[1] - offsets[0])
                throw new ModelFormatException($"{path}: '{name}' has shape [{string.Join(", ", shape)}] of {dtypeText} = {bytes} bytes, but data_offsets span {offsets[1] - offsets[0]}.");
        }
        catch (OverflowException)
        {
            throw new ModelFormatException($"{path}: '{name}' has an impossibly large shape.");
        }
        return new SafetensorsEntry(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] ReadLongArray(string path, string name, string field, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Array) throw new ModelFormatException($"{path}: '{name}'.{field} is not an array.");
        var result = new long[e.GetArrayLength()];
        int i = 0;
        foreach (var x in e.EnumerateArray())
        {
            if (x.ValueKind != JsonValueKind.Number || !x.TryGetInt64(out long value) || value < 0)
                throw new ModelFormatException($"{path}: '{name}'.{field} holds '{x.GetRawText()}', not a non-negative integer.");
            result[i++] = value;
        }
        return result;
    }

    /// <summary>Bytes per element of a dtype.</summary>
    public static int ElementSize(SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.BOOL or SafetensorsDType.U8 or SafetensorsDType.I8 or SafetensorsDType.F8_E4M3 or SafetensorsDType.F8_E5M2 => 1,
        SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.I16 or SafetensorsDType.U16 => 2,
        SafetensorsDType.F32 or SafetensorsDType.I32 or SafetensorsDType.U32 => 4,
        SafetensorsDType.F64 or SafetensorsDType.I64 or SafetensorsDType.U64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>Reads a tensor's raw bytes.</summary>
    public byte[] ReadBytes(string name)
    {
        var e = Entry(name);
        long length = e.End - e.Begin;
        if (length > Array.MaxLength) throw new ModelFormatException($"{Path}: tensor '{name}' ({length} bytes) is too large to read into one array.");
        var buffer = new byte[length];
        using var handle = File.OpenHandle(Path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long fileLength = RandomAccess.GetLength(handle);
        if (DataStart + e.End > fileLength) throw new ModelFormatException($"{Path}: the file shrank while it was being read.");
        int read = 0;
        while (read < buffer.Length)
        {
            int n = RandomAccess.Read(handle, buffer.AsSpan(read), DataStart + e.Begin + read);
            if (n == 0) throw new ModelFormatException($"{Path}: unexpected end of file in tensor '{name}'.");
            read += n;
        }
        return buffer;
    }

    /// <summary>Whether a dtype is one of the floating-point types weights are read from (F16, BF16, F32, F64).</summary>
    public static bool IsWeightType(SafetensorsDType dtype) =>
        dtype is SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.F32 or SafetensorsDType.F64;

    /// <summary>Reads a tensor as float32 values (F16/BF16 widen exactly; F64 rounds to nearest).</summary>
    /// <exception cref="ModelFormatException">The tensor is not F16, BF16, F32 or F64.</exception>
    public float[] ReadSingles(string name)
    {
        var e = Entry(name);
        if (!IsWeightType(e.DType)) throw new ModelFormatException($"{Path}: tensor '{name}' is {e.DType}; only F16, BF16, F32 and F64 tensors are read as weights.");
        var bytes = ReadBytes(name);
        var result = new float[e.ElementCount];
        switch (e.DType)
        {
            case SafetensorsDType.F32:
                for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(4 * i));
                break;
            case SafetensorsDType.F16:
                for (int i = 0; i < result.Length; i++) result[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.AsSpan(2 * i));
                break;
            case SafetensorsDType.BF16:
                for (int i = 0; i < result.Length; i++) result[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(2 * i)) << 16);
                break;
            case SafetensorsDType.F64:
                for (int i = 0; i < result.Length; i++) result[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(8 * i));
                break;
        }
        return result;
    }

    /// <summary>Reads a tensor as float64 values (every supported dtype widens exactly).</summary>
    public double[] ReadDoubles(string name)
    {
        var e = Entry(name);
        if (e.DType != SafetensorsDType.F64) return Array.ConvertAll(ReadSingles(name), f => (double)f);
        var bytes = ReadBytes(name);
        var result = new double[e.ElementCount];
        for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(8 * i));
        return result;
    }
}

/// <summary>A tensor to write with <see cref="SafetensorsWriter"/>.</summary>
/// <param name="Name">The tensor's key.</param>
/// <param name="DType">Element type to store (values are rounded to nearest-even where narrower).</param>
/// <param name="Shape">Its shape.</param>
/// <param name="Values">Row-major values; length must equal the product of the shape.</param>
public sealed record SafetensorsTensor(string Name, SafetensorsDType DType, long[] Shape, double[] Values);

/// <summary>
/// Writes safetensors files deterministically: tensors in name order, the header's keys in a fixed
/// order, the header padded with spaces to a multiple of 8 bytes. Same input, same bytes.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>Serializes tensors (and optional string metadata) to safetensors bytes.</summary>
    public static byte[] ToBytes(IEnumerable<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in list)
        {
            if (!SafetensorsFile.IsWeightType(t.DType)) throw new ArgumentException($"Tensor '{t.Name}': only F16, BF16, F32 and F64 can be written.", nameof(tensors));
            if (t.Name == "__metadata__" || !names.Add(t.Name)) throw new ArgumentException($"Tensor name '{t.Name}' is reserved or repeated.", nameof(tensors));
            long count = t.Shape.Aggregate(1L, (a, d) => d < 0 ? throw new ArgumentException($"Tensor '{t.Name}' has a negative dimension.", nameof(tensors)) : checked(a * d));
            if (count != t.Values.Length) throw new ArgumentException($"Tensor '{t.Name}' has {t.Values.Length} values for shape [{string.Join(", ", t.Shape)}].", nameof(tensors));
        }

        using var headerStream = new MemoryStream();
        using (var w = new Utf8JsonWriter(headerStream))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var kv in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(kv.Key, kv.Value);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in list)
            {
                long bytes = t.Values.LongLength * SafetensorsFile.ElementSize(t.DType);
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", t.DType.ToString());
                w.WriteStartArray("shape");
                foreach (var d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }
            w.WriteEndObject();
        }
        var header = headerStream.ToArray().ToList();
        while ((8 + header.Count) % 8 != 0) header.Add((byte)' ');

        using var output = new MemoryStream();
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Count);
        output.Write(len);
        output.Write(header.ToArray());
        var scratch = new byte[8];
        foreach (var t in list)
        {
            foreach (double v in t.Values)
            {
                switch (t.DType)
                {
                    case SafetensorsDType.F64:
                        BinaryPrimitives.WriteDoubleLittleEndian(scratch, v);
                        output.Write(scratch, 0, 8);
                        break;
                    case SafetensorsDType.F32:
                        BinaryPrimitives.WriteSingleLittleEndian(scratch, (float)v);
                        output.Write(scratch, 0, 4);
                        break;
                    case SafetensorsDType.F16:
                        BinaryPrimitives.WriteHalfLittleEndian(scratch, (Half)v);
                        output.Write(scratch, 0, 2);
                        break;
                    case SafetensorsDType.BF16:
                        BinaryPrimitives.WriteUInt16LittleEndian(scratch, ToBFloat16Bits((float)v));
                        output.Write(scratch, 0, 2);
                        break;
                }
            }
        }
        return output.ToArray();
    }

    /// <summary>Writes a safetensors file (see <see cref="ToBytes"/>).</summary>
    public static void Write(string path, IEnumerable<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        File.WriteAllBytes(path, ToBytes(tensors, metadata));

    /// <summary>Rounds a float32 to bfloat16 (nearest, ties to even; NaN stays NaN).</summary>
    public static ushort ToBFloat16Bits(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }
}
