using System.Buffers.Binary;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace ZkLora.Model;

/// <summary>
/// A model folder's tokenizer, through Microsoft.ML.Tokenizers:
/// <list type="bullet">
/// <item>Hugging Face <c>tokenizer.json</c> with a byte-level BPE model (Llama 3, Qwen2, GPT-2 style):
/// the vocabulary, merges and added tokens are read from the file; pre-tokenization is the file's
/// <c>Split</c> regex (or GPT-2's pattern for a <c>ByteLevel</c> pre-tokenizer with <c>use_regex</c>);
/// the special tokens the file's <c>TemplateProcessing</c> post-processor puts before a single
/// sequence (e.g. Llama 3's <c>&lt;|begin_of_text|&gt;</c>) are prepended.</item>
/// <item>SentencePiece <c>tokenizer.model</c>: BPE models (Llama 2, Mistral) with Microsoft.ML.Tokenizers'
/// <see cref="SentencePieceTokenizer"/>, Unigram models (identity normalization, byte fallback) with this project's own
/// Viterbi encoder, as the library's Unigram byte fallback is wrong; BOS is added unless <c>tokenizer_config.json</c> sets <c>add_bos_token</c> false
/// (EOS when it sets <c>add_eos_token</c>), also to an empty text. Checked against the SentencePiece
/// implementation itself (tests/vectors/sentencepiece_reference.py).</item>
/// </list>
/// Not covered (refused with a message): tokenizer.json models other than BPE, BPE with
/// <c>byte_fallback</c>, normalizers, and <c>ignore_merges</c> (Llama 3 sets it: a pre-token found whole
/// in the vocabulary is taken as is — the merges give the same result for ordinary text, which
/// is why it is accepted, but an adversarial vocabulary could differ).
/// </summary>
public sealed class HuggingFaceTokenizer : ITextTokenizer
{
    private readonly Tokenizer? _inner;
    private SentencePieceUnigram? _unigram;
    private readonly int[] _prefix;
    private readonly HashSet<int> _skipOnDecode;
    private int[] _suffix = [];

    private HuggingFaceTokenizer(Tokenizer? inner, int[] prefix, HashSet<int> skipOnDecode, string format)
    {
        _inner = inner;
        _prefix = prefix;
        _skipOnDecode = skipOnDecode;
        Format = format;
    }

    /// <summary>Which file it was built from: <c>tokenizer.json</c> or <c>tokenizer.model</c>.</summary>
    public string Format { get; }

    /// <summary>Ids prepended to every encoded text (BOS, when the tokenizer adds one; EOS, when it adds one, is appended).</summary>
    public IReadOnlyList<int> PrefixIds => _prefix;

    /// <summary>The tokenizer of a model folder: <c>tokenizer.json</c>, else <c>tokenizer.model</c>, else GPT-2's <c>vocab.json</c> + <c>merges.txt</c>; null when there is none.</summary>
    /// <exception cref="ModelFormatException">A tokenizer file is malformed or uses a feature that is not supported.</exception>
    public static ITextTokenizer? TryLoad(string directory)
    {
        string json = Path.Combine(directory, "tokenizer.json");
        string spm = Path.Combine(directory, "tokenizer.model");
        // Llama 2, Mistral and Phi-3 folders ship both: a SentencePiece-style tokenizer.json (byte_fallback
        // BPE, not covered) and the tokenizer.model it was converted from, which is then used.
        if (File.Exists(json) && !(File.Exists(spm) && IsSentencePieceStyle(json))) return FromTokenizerJson(json);
        if (File.Exists(spm)) return FromSentencePiece(spm, Path.Combine(directory, "tokenizer_config.json"));
        if (Gpt2Tokenizer.ExistsIn(directory)) return Gpt2Tokenizer.Load(directory);
        return null;
    }

    private static bool IsSentencePieceStyle(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return doc.RootElement.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.Object
                && m.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True;
        }
        catch (JsonException)
        {
            return false; // FromTokenizerJson reports it
        }
    }

    /// <summary>Builds a tokenizer from a Hugging Face <c>tokenizer.json</c> with a byte-level BPE model.</summary>
    /// <exception cref="ModelFormatException">The file is malformed or not a byte-level BPE tokenizer.</exception>
    public static HuggingFaceTokenizer FromTokenizerJson(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
                throw new ModelFormatException($"{path}: no 'model' object.");
            string type = model.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "BPE";
            if (type != "BPE") throw new ModelFormatException($"{path}: tokenizer model type '{type}' is not supported (only byte-level BPE).");
            if (model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True)
                throw new ModelFormatException($"{path}: byte_fallback BPE (SentencePiece-style tokenizer.json) is not supported; use the folder's tokenizer.model.");
            if (root.TryGetProperty("normalizer", out var norm) && norm.ValueKind != JsonValueKind.Null)
                throw new ModelFormatException($"{path}: tokenizer normalizers are not supported.");

            var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
            if (!model.TryGetProperty("vocab", out var v) || v.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"{path}: model.vocab is not an object.");
            foreach (var p in v.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id) || id < 0)
                    throw new ModelFormatException($"{path}: vocab entry '{p.Name}' is not a non-negative integer id.");
                vocab[p.Name] = id;
            }
            var merges = new List<string>();
            if (model.TryGetProperty("merges", out var m) && m.ValueKind == JsonValueKind.Array)
                foreach (var e in m.EnumerateArray())
                {
                    if (e.ValueKind == JsonValueKind.String) merges.Add(e.GetString()!);
                    else if (e.ValueKind == JsonValueKind.Array && e.GetArrayLength() == 2) merges.Add(e[0].GetString() + " " + e[1].GetString());
                    else throw new ModelFormatException($"{path}: a merge is neither \"a b\" nor [\"a\", \"b\"].");
                }

            var special = new Dictionary<string, int>(StringComparer.Ordinal);
            if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
                foreach (var a in added.EnumerateArray())
                {
                    string content = a.GetProperty("content").GetString() ?? throw new ModelFormatException($"{path}: an added token has no content.");
                    int id = a.GetProperty("id").GetInt32();
                    special[content] = id;
                }

            PreTokenizer pre = ReadPreTokenizer(root, path, special);
            var options = new BpeOptions(vocab.Where(kv => !special.ContainsKey(kv.Key)))
            {
                Merges = merges,
                ByteLevel = true,
                PreTokenizer = pre,
                SpecialTokens = special.Count > 0 ? special : null,
            };
            var bpe = BpeTokenizer.Create(options);
            var prefix = ReadPrefix(root, path, special);
            return new HuggingFaceTokenizer(bpe, prefix, new HashSet<int>(special.Values), "tokenizer.json");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException or ArgumentException)
        {
            throw new ModelFormatException($"{path}: cannot build a tokenizer: {e.Message}", e);
        }
    }

    private static PreTokenizer ReadPreTokenizer(JsonElement root, string path, IReadOnlyDictionary<string, int> special)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pt) || pt.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException($"{path}: no pre_tokenizer; only byte-level BPE tokenizers are supported.");
        var steps = pt.GetProperty("type").GetString() == "Sequence" ? pt.GetProperty("pretokenizers").EnumerateArray().ToList() : new List<JsonElement> { pt };
        string? pattern = null;
        bool byteLevel = false, gpt2Regex = false;
        foreach (var s in steps)
        {
            switch (s.GetProperty("type").GetString())
            {
                case "Split":
                    if (pattern != null) throw new ModelFormatException($"{path}: more than one Split pre-tokenizer is not supported.");
                    if (!s.TryGetProperty("pattern", out var pat) || !pat.TryGetProperty("Regex", out var re))
                        throw new ModelFormatException($"{path}: only Split pre-tokenizers with a Regex pattern are supported.");
                    if (s.TryGetProperty("behavior", out var b) && b.GetString() != "Isolated")
                        throw new ModelFormatException($"{path}: Split behavior '{b.GetString()}' is not supported (Isolated is).");
                    if (s.TryGetProperty("invert", out var inv) && inv.ValueKind == JsonValueKind.True)
                        throw new ModelFormatException($"{path}: inverted Split pre-tokenizers are not supported.");
                    pattern = re.GetString();
                    break;
                case "ByteLevel":
                    byteLevel = true;
                    if (s.TryGetProperty("add_prefix_space", out var aps) && aps.ValueKind == JsonValueKind.True)
                        throw new ModelFormatException($"{path}: ByteLevel add_prefix_space is not supported.");
                    gpt2Regex = !s.TryGetProperty("use_regex", out var ur) || ur.ValueKind != JsonValueKind.False;
                    break;
                default:
                    throw new ModelFormatException($"{path}: pre-tokenizer '{s.GetProperty("type").GetString()}' is not supported.");
            }
        }
        if (!byteLevel) throw new ModelFormatException($"{path}: not a byte-level BPE tokenizer (no ByteLevel pre-tokenizer).");
        if (pattern != null && gpt2Regex) throw new ModelFormatException($"{path}: a Split regex followed by ByteLevel's own regex is not supported.");
        if (pattern != null) return new RegexPreTokenizer(new Regex(pattern, RegexOptions.Compiled, TimeSpan.FromSeconds(5)), special.Count > 0 ? special.ToDictionary() : null);
        return new Gpt2PreTokenizer(special.Keys);
    }

    private static int[] ReadPrefix(JsonElement root, string path, IReadOnlyDictionary<string, int> special)
    {
        if (!root.TryGetProperty("post_processor", out var pp) || pp.ValueKind != JsonValueKind.Object) return Array.Empty<int>();
        var candidates = pp.GetProperty("type").GetString() == "Sequence" ? pp.GetProperty("processors").EnumerateArray().ToList() : new List<JsonElement> { pp };
        var prefix = new List<int>();
        foreach (var proc in candidates)
        {
            if (proc.GetProperty("type").GetString() != "TemplateProcessing") continue;
            foreach (var piece in proc.GetProperty("single").EnumerateArray())
            {
                if (piece.TryGetProperty("Sequence", out _)) break;
                if (!piece.TryGetProperty("SpecialToken", out var st)) continue;
                string name = st.GetProperty("id").GetString()!;
                prefix.Add(special.TryGetValue(name, out int id) ? id : throw new ModelFormatException($"{path}: the post-processor adds '{name}', which is not an added token."));
            }
        }
        return prefix.ToArray();
    }

    /// <summary>Builds a tokenizer from a SentencePiece <c>tokenizer.model</c>: a BPE model (as Llama 2 and Mistral ship) or a Unigram model with byte fallback and the identity normalization.</summary>
    /// <param name="modelPath">The tokenizer.model file.</param>
    /// <param name="configPath">tokenizer_config.json (optional; its add_bos_token and add_eos_token are honoured).</param>
    /// <exception cref="ModelFormatException">The file cannot be read as a SentencePiece model, or uses a feature that is not covered.</exception>
    public static HuggingFaceTokenizer FromSentencePiece(string modelPath, string? configPath = null)
    {
        bool addBos = true, addEos = false;
        if (configPath != null && File.Exists(configPath))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(configPath));
                if (doc.RootElement.TryGetProperty("add_bos_token", out var b) && b.ValueKind is JsonValueKind.True or JsonValueKind.False) addBos = b.GetBoolean();
                if (doc.RootElement.TryGetProperty("add_eos_token", out var e) && e.ValueKind is JsonValueKind.True or JsonValueKind.False) addEos = e.GetBoolean();
            }
            catch (JsonException e)
            {
                throw new ModelFormatException($"{configPath}: not valid JSON: {e.Message}", e);
            }
        }
        try
        {
            byte[] proto = File.ReadAllBytes(modelPath);
            int modelType = SentencePieceModelType(proto);
            // Microsoft.ML.Tokenizers 2.0.0 reads Unigram models too, but its byte fallback for them is wrong
            // (an unknown ASCII character gets an unrelated piece, some texts throw; checked against
            // SentencePiece itself in the tests): Unigram models are encoded by SentencePieceUnigram.
            if (modelType == 1)
            {
                var unigram = SentencePieceUnigram.Create(proto);
                return new HuggingFaceTokenizer(null, addBos ? [unigram.BosId] : [], [unigram.BosId, unigram.EosId], "tokenizer.model")
                {
                    _suffix = addEos ? [unigram.EosId] : [],
                    _unigram = unigram,
                };
            }
            if (modelType != 2)
                throw new ModelFormatException($"{modelPath}: SentencePiece model type {modelType.ToString(System.Globalization.CultureInfo.InvariantCulture)} is not supported (BPE and Unigram are).");
            using var stream = new MemoryStream(proto, writable: false);
            // BOS/EOS are added here rather than by the library, which adds nothing to an empty text
            // where SentencePiece (and transformers' Llama tokenizers) give [BOS].
            var spm = SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false);
            var skip = new HashSet<int> { spm.BeginningOfSentenceId, spm.EndOfSentenceId };
            return new HuggingFaceTokenizer(spm, addBos ? [spm.BeginningOfSentenceId] : [], skip, "tokenizer.model")
            {
                _suffix = addEos ? [spm.EndOfSentenceId] : [],
            };
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException or FormatException or IOException)
        {
            throw new ModelFormatException($"{modelPath}: cannot read it as a SentencePiece model: {e.Message}", e);
        }
    }

    /// <summary>
    /// The <c>trainer_spec.model_type</c> of a SentencePiece <c>ModelProto</c> (1 Unigram, the proto's
    /// default; 2 BPE; 3 word; 4 char), read from the protobuf wire format: top-level field 2 (TrainerSpec,
    /// length-delimited), its field 3 (varint).
    /// </summary>
    /// <exception cref="FormatException">The bytes are not a well-formed protobuf message.</exception>
    internal static int SentencePieceModelType(ReadOnlySpan<byte> proto)
    {
        int type = 1;
        ForEachField(proto, (field, wire, value, bytes) =>
        {
            if (field == 2 && wire == 2)
                ForEachField(bytes, (f, w, v, _) => { if (f == 3 && w == 0) type = checked((int)v); });
        });
        return type;
    }

    /// <summary>A protobuf field: number, wire type, the value of a varint or fixed32/fixed64 field, the bytes of a length-delimited one.</summary>
    internal delegate void FieldVisitor(int field, int wireType, ulong value, ReadOnlySpan<byte> bytes);

    /// <summary>Visits the fields of a protobuf message in order.</summary>
    /// <exception cref="FormatException">Malformed wire format.</exception>
    internal static void ForEachField(ReadOnlySpan<byte> message, FieldVisitor visit)
    {
        int pos = 0;
        while (pos < message.Length)
        {
            ulong key = ReadVarint(message, ref pos);
            int field = (int)(key >> 3), wire = (int)(key & 7);
            switch (wire)
            {
                case 0: visit(field, wire, ReadVarint(message, ref pos), default); break;
                case 1:
                    Skip(message, ref pos, 8);
                    visit(field, wire, BinaryPrimitives.ReadUInt64LittleEndian(message[(pos - 8)..]), default);
                    break;
                case 5:
                    Skip(message, ref pos, 4);
                    visit(field, wire, BinaryPrimitives.ReadUInt32LittleEndian(message[(pos - 4)..]), default);
                    break;
                case 2:
                {
                    ulong length = ReadVarint(message, ref pos);
                    if (length > (ulong)(message.Length - pos)) throw new FormatException("a length-delimited field runs past the end of the message.");
                    visit(field, wire, 0, message.Slice(pos, (int)length));
                    pos += (int)length;
                    break;
                }
                default: throw new FormatException($"protobuf wire type {wire} is not supported.");
            }
        }

        static void Skip(ReadOnlySpan<byte> m, ref int p, int n)
        {
            if (n > m.Length - p) throw new FormatException("a fixed-size field runs past the end of the message.");
            p += n;
        }
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> m, ref int pos)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (pos >= m.Length) throw new FormatException("a varint runs past the end of the message.");
            byte b = m[pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw new FormatException("a varint is longer than 10 bytes.");
    }

    /// <inheritdoc/>
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        IReadOnlyList<int> ids = _unigram is not null ? _unigram.Encode(text) : _inner!.EncodeToIds(text);
        if (_prefix.Length == 0 && _suffix.Length == 0) return ids;
        return _prefix.Concat(ids).Concat(_suffix).ToList();
    }

    /// <inheritdoc/>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var kept = ids.Where(i => !_skipOnDecode.Contains(i));
        return _unigram is not null ? _unigram.Decode(kept) : _inner!.Decode(kept) ?? "";
    }
}
