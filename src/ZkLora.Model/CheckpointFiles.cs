using System.Text.Json;

namespace ZkLora.Model;

/// <summary>The safetensors files of a Hugging Face model folder: one <c>model.safetensors</c> or shards listed in <c>model.safetensors.index.json</c>.</summary>
internal static class CheckpointFiles
{
    /// <summary>Maps every tensor key of the checkpoint to the file holding it (headers only are read).</summary>
    public static Dictionary<string, SafetensorsFile> Open(string dir)
    {
        var byKey = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        string single = Path.Combine(dir, "model.safetensors");
        string index = Path.Combine(dir, "model.safetensors.index.json");
        if (File.Exists(single))
        {
            var f = SafetensorsFile.Open(single);
            foreach (var n in f.Names) byKey[n] = f;
            return byKey;
        }
        if (File.Exists(index))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(index));
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new ModelFormatException($"{index}: no weight_map object.");
            var shards = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (var p in map.EnumerateObject())
            {
                string shard = p.Value.GetString() ?? throw new ModelFormatException($"{index}: weight_map['{p.Name}'] is not a file name.");
                if (shard != Path.GetFileName(shard)) throw new ModelFormatException($"{index}: shard '{shard}' is not a plain file name.");
                if (!shards.TryGetValue(shard, out var f)) shards[shard] = f = SafetensorsFile.Open(Path.Combine(dir, shard));
                if (!f.Contains(p.Name)) throw new ModelFormatException($"{index}: '{p.Name}' is mapped to {shard}, which does not contain it.");
                byKey[p.Name] = f;
            }
            return byKey;
        }
        if (File.Exists(Path.Combine(dir, "pytorch_model.bin")))
            throw new ModelFormatException($"{dir} has pytorch_model.bin (a pickle) but no model.safetensors; only safetensors weights are read. Convert them (e.g. save_pretrained(..., safe_serialization=True)).");
        throw new ModelNotFoundException($"{dir} has no model.safetensors or model.safetensors.index.json.");
    }

    public static void CheckFinite<T>(ReadOnlySpan<T> values, string file, string key) where T : System.Numerics.IFloatingPointIeee754<T>
    {
        for (int i = 0; i < values.Length; i++)
            if (!T.IsFinite(values[i])) throw new ModelFormatException($"{file}: '{key}' contains a non-finite value at element {i}.");
    }
}
