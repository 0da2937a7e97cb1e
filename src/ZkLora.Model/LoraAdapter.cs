using System.Numerics;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ZkLora.Model;

/// <summary>
/// One LoRA injection point of a PEFT adapter. PEFT stores <c>lora_A.weight</c> as (rank, in) and
/// <c>lora_B.weight</c> as (out, rank) for every target layer — they are <c>nn.Linear(in, r)</c> and
/// <c>nn.Linear(r, out)</c> whatever the base layer's layout — and adds
/// <c>scaling · B·(A·x)</c> to the base output. <c>fan_in_fan_out</c> only transposes the merged
/// weight delta for layers that store (in, out), such as GPT-2's Conv1D.
/// </summary>
public sealed class LoraModule
{
    internal LoraModule(string name, double[][] a, double[][] b, Fraction scaling, bool fanInFanOut)
    {
        Name = name;
        A = a;
        B = b;
        Scaling = scaling;
        FanInFanOut = fanInFanOut;
    }

    /// <summary>Full module name as in the base model, e.g. <c>transformer.h.0.attn.c_attn</c>.</summary>
    public string Name { get; }

    /// <summary>The down projection, rank × in (PEFT's <c>lora_A.weight</c>), exact float32 values.</summary>
    public double[][] A { get; }

    /// <summary>The up projection, out × rank (PEFT's <c>lora_B.weight</c>), exact float32 values.</summary>
    public double[][] B { get; }

    /// <summary>The exact scaling (lora_alpha / r, reduced; alpha / √r for rsLoRA with a square rank).</summary>
    public Fraction Scaling { get; }

    /// <summary>The adapter config's <c>fan_in_fan_out</c> (true for GPT-2 Conv1D targets).</summary>
    public bool FanInFanOut { get; }

    /// <summary>The LoRA rank.</summary>
    public int Rank => A.Length;

    /// <summary>Input width.</summary>
    public int InFeatures => A[0].Length;

    /// <summary>Output width.</summary>
    public int OutFeatures => B.Length;

    /// <summary>The LoRA delta for one input row in double precision: scaling · B·(A·x).</summary>
    public double[] Delta(ReadOnlySpan<double> x)
    {
        if (x.Length != InFeatures) throw new ArgumentException($"'{Name}' takes {InFeatures} inputs, got {x.Length}.", nameof(x));
        var h = new double[Rank];
        for (int j = 0; j < Rank; j++)
        {
            double s = 0;
            var row = A[j];
            for (int i = 0; i < row.Length; i++) s += row[i] * x[i];
            h[j] = s;
        }
        double scale = Scaling.ToDouble();
        var delta = new double[OutFeatures];
        for (int k = 0; k < OutFeatures; k++)
        {
            double s = 0;
            var row = B[k];
            for (int j = 0; j < Rank; j++) s += row[j] * h[j];
            delta[k] = scale * s;
        }
        return delta;
    }
}

/// <summary>
/// A PEFT LoRA adapter folder: <c>adapter_config.json</c> and <c>adapter_model.safetensors</c> with
/// keys <c>base_model.model.{module}.lora_A.weight</c> / <c>.lora_B.weight</c>.
/// </summary>
public sealed class LoraAdapter
{
    private readonly Dictionary<string, LoraModule> _byName;

    private LoraAdapter(string directory, LoraAdapterConfig config, List<LoraModule> modules)
    {
        Directory = directory;
        Config = config;
        Modules = modules;
        _byName = modules.ToDictionary(m => m.Name, StringComparer.Ordinal);
    }

    /// <summary>The adapter folder.</summary>
    public string Directory { get; }

    /// <summary>The parsed <c>adapter_config.json</c>.</summary>
    public LoraAdapterConfig Config { get; }

    /// <summary>The injection points, in model order (layer by layer).</summary>
    public IReadOnlyList<LoraModule> Modules { get; }

    /// <summary>Names of the injection points, in model order.</summary>
    public IReadOnlyList<string> ModuleNames => Modules.Select(m => m.Name).ToList();

    /// <summary>The module of that name; <see cref="KeyNotFoundException"/> listing the known ones if absent.</summary>
    public LoraModule GetModule(string name) =>
        _byName.TryGetValue(name, out var m) ? m
        : _byName.TryGetValue("transformer." + name, out m) ? m
        : throw new KeyNotFoundException($"The adapter has no module '{name}'. Its modules: {string.Join(", ", ModuleNames)}.");

    /// <summary>Whether the adapter has a module of that name.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name) || _byName.ContainsKey("transformer." + name);

    /// <summary>
    /// Loads an adapter from a folder, or from the Hugging Face cache by repository id (see <see cref="HuggingFaceCache"/>).
    /// </summary>
    /// <exception cref="ModelNotFoundException">The folder or cached repository does not exist.</exception>
    /// <exception cref="ModelFormatException">The files are malformed or inconsistent.</exception>
    /// <exception cref="NotSupportedException">The adapter uses a PEFT feature outside plain LoRA (DoRA, LoRA bias, irrational rsLoRA scaling, ...).</exception>
    /// <param name="pathOrRepoId">The adapter folder, or a Hugging Face repository id in the local cache.</param>
    /// <param name="revision">Revision for a cache lookup.</param>
    /// <param name="hubDirectory">Hub cache folder; default <see cref="HuggingFaceCache.HubDirectory"/>.</param>
    public static LoraAdapter Load(string pathOrRepoId, string revision = "main", string? hubDirectory = null)
    {
        string dir = HuggingFaceCache.Resolve(pathOrRepoId, revision, hubDirectory);
        string configPath = Path.Combine(dir, "adapter_config.json");
        if (!File.Exists(configPath)) throw new ModelNotFoundException($"{dir} has no adapter_config.json; it is not a PEFT adapter folder.");
        var config = LoraAdapterConfig.Load(configPath);

        string weightsPath = Path.Combine(dir, "adapter_model.safetensors");
        if (!File.Exists(weightsPath))
        {
            throw File.Exists(Path.Combine(dir, "adapter_model.bin"))
                ? new ModelFormatException($"{dir} has adapter_model.bin (a pickle) but no adapter_model.safetensors; only safetensors is read. Convert it (e.g. save_pretrained(..., safe_serialization=True)).")
                : new ModelNotFoundException($"{dir} has no adapter_model.safetensors.");
        }
        var file = SafetensorsFile.Open(weightsPath);

        var pairs = new Dictionary<string, (string? A, string? B)>(StringComparer.Ordinal);
        var foreign = new List<string>();
        foreach (var key in file.Names)
        {
            string rest = key.StartsWith("base_model.model.", StringComparison.Ordinal) ? key["base_model.model.".Length..] : key;
            bool isA = rest.EndsWith(".lora_A.weight", StringComparison.Ordinal);
            bool isB = rest.EndsWith(".lora_B.weight", StringComparison.Ordinal);
            if (!isA && !isB) { foreign.Add(key); continue; }
            string module = rest[..^".lora_A.weight".Length];
            if (module.StartsWith("h.", StringComparison.Ordinal)) module = "transformer." + module; // adapter trained on GPT2Model
            pairs.TryGetValue(module, out var p);
            pairs[module] = isA ? (key, p.B) : (p.A, key);
        }
        if (foreign.Count > 0)
        {
            throw new NotSupportedException($"{weightsPath} holds tensors other than lora_A/lora_B weights ({string.Join(", ", foreign.Take(5))}{(foreign.Count > 5 ? ", ..." : "")}); " +
                "DoRA, LoRA biases, embedding LoRA and modules_to_save are not supported.");
        }
        if (pairs.Count == 0) throw new ModelFormatException($"{weightsPath} holds no LoRA weights.");

        var modules = new List<LoraModule>();
        foreach (var (name, keys) in pairs.OrderBy(kv => kv.Key, NaturalNameComparer.Instance))
        {
            if (keys.A is null || keys.B is null)
                throw new ModelFormatException($"{weightsPath}: module '{name}' has lora_{(keys.A is null ? "A" : "B")}.weight missing.");
            var ea = file.Entry(keys.A);
            var eb = file.Entry(keys.B);
            if (ea.Shape.Length != 2 || eb.Shape.Length != 2)
                throw new ModelFormatException($"{weightsPath}: '{name}' lora_A/lora_B must be matrices.");
            long rank = ea.Shape[0], inF = ea.Shape[1], outF = eb.Shape[0];
            if (eb.Shape[1] != rank)
                throw new ModelFormatException($"{weightsPath}: '{name}' lora_A is [{rank}, {inF}] (rank × in) but lora_B is [{eb.Shape[0]}, {eb.Shape[1]}]; expected [out, {rank}].");
            if (rank <= 0 || inF <= 0 || outF <= 0) throw new ModelFormatException($"{weightsPath}: '{name}' has an empty dimension.");
            int expectedRank = config.RankFor(name);
            if (rank != expectedRank)
                throw new ModelFormatException($"{weightsPath}: '{name}' has rank {rank} but adapter_config.json says r = {expectedRank}.");
            if (!config.Targets(name))
                throw new ModelFormatException($"{weightsPath}: '{name}' is not among adapter_config.json's target_modules{(config.LayersToTransform is null ? "" : " and layers_to_transform")}.");
            var a = ToMatrix(file.ReadDoubles(keys.A), (int)rank, (int)inF, weightsPath, keys.A);
            var b = ToMatrix(file.ReadDoubles(keys.B), (int)outF, (int)rank, weightsPath, keys.B);
            modules.Add(new LoraModule(name, a, b, config.ScalingFor(name, (int)rank), config.FanInFanOut));
        }
        return new LoraAdapter(dir, config, modules);
    }

    private static double[][] ToMatrix(double[] flat, int rows, int cols, string file, string key)
    {
        var m = new double[rows][];
        for (int r = 0; r < rows; r++)
        {
            m[r] = new double[cols];
            Array.Copy(flat, (long)r * cols, m[r], 0, cols);
            foreach (var v in m[r])
                if (!double.IsFinite(v)) throw new ModelFormatException($"{file}: '{key}' contains a non-finite value ({v}).");
        }
        return m;
    }
}

/// <summary>The parts of a PEFT <c>adapter_config.json</c> that determine a LoRA adapter's arithmetic.</summary>
public sealed class LoraAdapterConfig
{
    private readonly List<KeyValuePair<string, int>> _rankPattern;
    private readonly List<KeyValuePair<string, Fraction>> _alphaPattern;

    private LoraAdapterConfig(int r, Fraction alpha, IReadOnlyList<string>? targetList, string? targetRegex, bool fanInFanOut, bool useRslora,
        List<KeyValuePair<string, int>> rankPattern, List<KeyValuePair<string, Fraction>> alphaPattern, string? baseModel,
        IReadOnlyList<int>? layersToTransform, IReadOnlyList<string>? layersPattern)
    {
        R = r;
        LoraAlpha = alpha;
        TargetModules = targetList;
        TargetModulesRegex = targetRegex;
        FanInFanOut = fanInFanOut;
        UseRslora = useRslora;
        _rankPattern = rankPattern;
        _alphaPattern = alphaPattern;
        BaseModelNameOrPath = baseModel;
        LayersToTransform = layersToTransform;
        LayersPattern = layersPattern;
    }

    /// <summary>Default rank <c>r</c>.</summary>
    public int R { get; }

    /// <summary><c>lora_alpha</c>, exactly as written (decimal text parsed without rounding).</summary>
    public Fraction LoraAlpha { get; }

    /// <summary><c>target_modules</c> when it is a list of names (suffix match), else null.</summary>
    public IReadOnlyList<string>? TargetModules { get; }

    /// <summary><c>target_modules</c> when it is a single regular expression (full match), else null.</summary>
    public string? TargetModulesRegex { get; }

    /// <summary><c>fan_in_fan_out</c>.</summary>
    public bool FanInFanOut { get; }

    /// <summary><c>use_rslora</c>: scaling is alpha/√r instead of alpha/r.</summary>
    public bool UseRslora { get; }

    /// <summary><c>layers_to_transform</c>: with a list of <c>target_modules</c>, only modules of these layer indices are adapted (null: all).</summary>
    public IReadOnlyList<int>? LayersToTransform { get; }

    /// <summary><c>layers_pattern</c>: the name(s) of the layer list whose index <see cref="LayersToTransform"/> refers to (null: any <c>.name.N.</c>).</summary>
    public IReadOnlyList<string>? LayersPattern { get; }

    /// <summary><c>base_model_name_or_path</c>, if present.</summary>
    public string? BaseModelNameOrPath { get; }

    /// <summary>Reads and validates an <c>adapter_config.json</c>.</summary>
    public static LoraAdapterConfig Load(string path)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{path}: not valid JSON: {e.Message}", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"{path}: not a JSON object.");
            string? peftType = OptString(root, "peft_type", path);
            if (peftType != null && peftType != "LORA") throw new NotSupportedException($"{path}: peft_type is '{peftType}'; only LORA adapters are supported.");
            if (OptBool(root, "use_dora", path) == true) throw new NotSupportedException($"{path}: DoRA adapters (use_dora) are not supported.");
            if (OptBool(root, "lora_bias", path) == true) throw new NotSupportedException($"{path}: lora_bias adapters are not supported.");

            if (!root.TryGetProperty("r", out var rEl) || rEl.ValueKind != JsonValueKind.Number || !rEl.TryGetInt32(out int r) || r <= 0)
                throw new ModelFormatException($"{path}: 'r' must be a positive integer.");
            Fraction alpha;
            if (root.TryGetProperty("lora_alpha", out var aEl) && aEl.ValueKind != JsonValueKind.Null)
            {
                if (aEl.ValueKind != JsonValueKind.Number) throw new ModelFormatException($"{path}: 'lora_alpha' is not a number.");
                alpha = Fraction.ParseDecimal(aEl.GetRawText());
            }
            else
            {
                alpha = new Fraction(8, 1); // PEFT's LoraConfig default
            }

            IReadOnlyList<string>? targets = null;
            string? targetRegex = null;
            if (root.TryGetProperty("target_modules", out var tEl))
            {
                if (tEl.ValueKind == JsonValueKind.String) targetRegex = tEl.GetString();
                else if (tEl.ValueKind == JsonValueKind.Array)
                    targets = tEl.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : throw new ModelFormatException($"{path}: target_modules holds a non-string.")).ToList();
                else if (tEl.ValueKind != JsonValueKind.Null) throw new ModelFormatException($"{path}: target_modules is neither a list nor a string.");
            }

            var rankPattern = new List<KeyValuePair<string, int>>();
            if (root.TryGetProperty("rank_pattern", out var rp) && rp.ValueKind == JsonValueKind.Object)
                foreach (var p in rp.EnumerateObject())
                    rankPattern.Add(new(p.Name, p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt32(out int pr) && pr > 0 ? pr
                        : throw new ModelFormatException($"{path}: rank_pattern['{p.Name}'] is not a positive integer.")));
            var alphaPattern = new List<KeyValuePair<string, Fraction>>();
            if (root.TryGetProperty("alpha_pattern", out var ap) && ap.ValueKind == JsonValueKind.Object)
                foreach (var p in ap.EnumerateObject())
                    alphaPattern.Add(new(p.Name, p.Value.ValueKind == JsonValueKind.Number ? Fraction.ParseDecimal(p.Value.GetRawText())
                        : throw new ModelFormatException($"{path}: alpha_pattern['{p.Name}'] is not a number.")));

            return new LoraAdapterConfig(r, alpha, targets, targetRegex, OptBool(root, "fan_in_fan_out", path) ?? false,
                OptBool(root, "use_rslora", path) ?? false, rankPattern, alphaPattern, OptString(root, "base_model_name_or_path", path),
                IntOrList(root, "layers_to_transform", path), StringOrList(root, "layers_pattern", path));
        }
    }

    /// <summary>Whether <c>target_modules</c> selects that module (PEFT's rule: exact or <c>.name</c> suffix; a string is a full-match regex).</summary>
    public bool Targets(string moduleName)
    {
        if (TargetModulesRegex != null)
            return Regex.IsMatch(moduleName, "^(?:" + TargetModulesRegex + ")$", RegexOptions.None, TimeSpan.FromSeconds(1))
                || Regex.IsMatch(StripTransformer(moduleName), "^(?:" + TargetModulesRegex + ")$", RegexOptions.None, TimeSpan.FromSeconds(1));
        if (TargetModules == null) return true; // PEFT infers defaults per architecture; accept what the weights say
        if (!TargetModules.Any(t => moduleName == t || moduleName.EndsWith("." + t, StringComparison.Ordinal))) return false;
        if (LayersToTransform == null) return true;
        // PEFT's check_target_module_exists: the layer index is the number after the layers pattern
        // (any ".name.N." when no pattern is given); a module without one is not adapted.
        int? index = null;
        foreach (var pattern in LayersPattern is { Count: > 0 } ? LayersPattern : new[] { "[^.]*" })
        {
            var m = Regex.Match(moduleName, "^.*\\." + pattern + "\\.(\\d+)\\.", RegexOptions.None, TimeSpan.FromSeconds(1));
            if (m.Success && int.TryParse(m.Groups[1].Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int i)) { index = i; break; }
        }
        return index is int layer && LayersToTransform.Contains(layer);
    }

    /// <summary>The rank of a module: the first matching <c>rank_pattern</c> key, else <c>r</c>.</summary>
    public int RankFor(string moduleName) => MatchPattern(_rankPattern, moduleName) is { } kv ? kv.Value : R;

    /// <summary>The alpha of a module: the first matching <c>alpha_pattern</c> key, else <c>lora_alpha</c>.</summary>
    public Fraction AlphaFor(string moduleName) => MatchPattern(_alphaPattern, moduleName) is { } kv ? kv.Value : LoraAlpha;

    /// <summary>The exact scaling of a module: alpha / r (alpha / √r with rsLoRA; then r must be a perfect square).</summary>
    public Fraction ScalingFor(string moduleName, int rank)
    {
        var alpha = AlphaFor(moduleName);
        if (!UseRslora) return new Fraction(alpha.Numerator, alpha.Denominator * rank);
        int root = (int)Math.Round(Math.Sqrt(rank));
        if (root * root != rank)
            throw new NotSupportedException($"rsLoRA scaling alpha/√{rank} for '{moduleName}' is irrational; the fixed-point LoRA relation needs an exact fraction.");
        return new Fraction(alpha.Numerator, alpha.Denominator * root);
    }

    // PEFT's get_pattern_key: the first key k for which the module name matches (.*\.)?(k)$.
    private static KeyValuePair<string, T>? MatchPattern<T>(List<KeyValuePair<string, T>> patterns, string moduleName)
    {
        foreach (var kv in patterns)
        {
            var re = "^(.*\\.)?(" + kv.Key + ")$";
            if (Regex.IsMatch(moduleName, re, RegexOptions.None, TimeSpan.FromSeconds(1))) return kv;
        }
        return null;
    }

    private static string StripTransformer(string name) =>
        name.StartsWith("transformer.", StringComparison.Ordinal) ? name["transformer.".Length..] : name;

    private static IReadOnlyList<int>? IntOrList(JsonElement root, string name, string path)
    {
        if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int one) && one >= 0) return new[] { one };
        if (v.ValueKind == JsonValueKind.Array)
            return v.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out int i) && i >= 0 ? i
                : throw new ModelFormatException($"{path}: '{name}' holds {x.GetRawText()}, not a layer index.")).ToList();
        throw new ModelFormatException($"{path}: '{name}' is neither a layer index nor a list of them.");
    }

    private static IReadOnlyList<string>? StringOrList(JsonElement root, string name, string path)
    {
        if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.String) return new[] { v.GetString()! };
        if (v.ValueKind == JsonValueKind.Array)
            return v.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : throw new ModelFormatException($"{path}: '{name}' holds a non-string.")).ToList();
        throw new ModelFormatException($"{path}: '{name}' is neither a string nor a list of strings.");
    }

    private static bool? OptBool(JsonElement root, string name, string path)
    {
        if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new ModelFormatException($"{path}: '{name}' is not true or false."),
        };
    }

    private static string? OptString(JsonElement root, string name, string path)
    {
        if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw new ModelFormatException($"{path}: '{name}' is not a string.");
    }
}

/// <summary>Orders module names with embedded numbers numerically (h.2 before h.10).</summary>
internal sealed class NaturalNameComparer : IComparer<string>
{
    public static readonly NaturalNameComparer Instance = new();

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return -1;
        if (y is null) return 1;
        int i = 0, j = 0;
        while (i < x.Length && j < y.Length)
        {
            if (char.IsAsciiDigit(x[i]) && char.IsAsciiDigit(y[j]))
            {
                int si = i, sj = j;
                while (i < x.Length && char.IsAsciiDigit(x[i])) i++;
                while (j < y.Length && char.IsAsciiDigit(y[j])) j++;
                var a = BigInteger.Parse(x.AsSpan(si, i - si), provider: System.Globalization.CultureInfo.InvariantCulture);
                var b = BigInteger.Parse(y.AsSpan(sj, j - sj), provider: System.Globalization.CultureInfo.InvariantCulture);
                int c = a.CompareTo(b);
                if (c != 0) return c;
            }
            else
            {
                int c = x[i].CompareTo(y[j]);
                if (c != 0) return c;
                i++; j++;
            }
        }
        return (x.Length - i).CompareTo(y.Length - j) is var d && d != 0 ? d : string.CompareOrdinal(x, y);
    }
}
