using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace ZkLora.Model;

/// <summary>
/// GPT-2's byte-level BPE tokenizer from a Hugging Face <c>vocab.json</c> + <c>merges.txt</c>, backed by
/// Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> in byte-level mode with GPT-2's pre-tokenization
/// (evaluated per code point, see <c>Gpt2PreTokenizer</c>); no prefix space and no BOS/EOS insertion, as
/// <c>GPT2Tokenizer</c> does by default.
/// <c>&lt;|endoftext|&gt;</c> in the text encodes to its special id. (The library's CodeGenTokenizer is not
/// used: it hard-wires CodeGen's extra whitespace tokens, whose ids do not exist in GPT-2 vocabularies.)
/// </summary>
public sealed class Gpt2Tokenizer : ITextTokenizer
{
    /// <summary>GPT-2's end-of-text special token.</summary>
    public const string EndOfText = "<|endoftext|>";

    private readonly BpeTokenizer _inner;

    private readonly HashSet<int> _ids;

    private Gpt2Tokenizer(BpeTokenizer inner, HashSet<int> ids, int vocabSize, int? endOfTextId)
    {
        _inner = inner;
        _ids = ids;
        VocabularySize = vocabSize;
        EndOfTextId = endOfTextId;
    }

    /// <summary>Number of entries in <c>vocab.json</c>.</summary>
    public int VocabularySize { get; }

    /// <summary>The id of <c>&lt;|endoftext|&gt;</c>, when the vocabulary has it.</summary>
    public int? EndOfTextId { get; }

    /// <summary>Whether a folder holds <c>vocab.json</c> and <c>merges.txt</c>.</summary>
    public static bool ExistsIn(string directory) =>
        File.Exists(Path.Combine(directory, "vocab.json")) && File.Exists(Path.Combine(directory, "merges.txt"));

    /// <summary>Loads <c>vocab.json</c> and <c>merges.txt</c> from a folder.</summary>
    /// <exception cref="FileNotFoundException">Either file is missing.</exception>
    /// <exception cref="ModelFormatException">The files are malformed.</exception>
    public static Gpt2Tokenizer Load(string directory) =>
        FromFiles(Path.Combine(directory, "vocab.json"), Path.Combine(directory, "merges.txt"));

    /// <summary>Loads a tokenizer from explicit vocabulary and merges files.</summary>
    /// <exception cref="FileNotFoundException">Either file is missing.</exception>
    /// <exception cref="ModelFormatException">The files are malformed.</exception>
    public static Gpt2Tokenizer FromFiles(string vocabPath, string mergesPath)
    {
        if (!File.Exists(vocabPath)) throw new FileNotFoundException($"vocab.json not found: {vocabPath}", vocabPath);
        if (!File.Exists(mergesPath)) throw new FileNotFoundException($"merges.txt not found: {mergesPath}", mergesPath);

        // Validate the vocabulary ourselves so bad files fail with a clear message.
        var vocabBytes = File.ReadAllBytes(vocabPath);
        int count = 0;
        int? eot = null;
        var ids = new HashSet<int>();
        try
        {
            using var doc = JsonDocument.Parse(vocabBytes);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"{vocabPath}: not a JSON object of token → id.");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id) || id < 0)
                    throw new ModelFormatException($"{vocabPath}: token '{p.Name}' has id {p.Value.GetRawText()}, not a non-negative integer.");
                if (!ids.Add(id)) throw new ModelFormatException($"{vocabPath}: id {id} is used twice.");
                if (p.Name == EndOfText) eot = id;
                count++;
            }
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{vocabPath}: not valid JSON: {e.Message}", e);
        }
        if (count == 0) throw new ModelFormatException($"{vocabPath}: the vocabulary is empty.");

        try
        {
            var special = eot is int e ? new Dictionary<string, int> { [EndOfText] = e } : null;
            var options = new BpeOptions(vocabPath, mergesPath)
            {
                ByteLevel = true,
                PreTokenizer = new Gpt2PreTokenizer(special?.Keys ?? Enumerable.Empty<string>()),
                SpecialTokens = special,
            };
            var inner = BpeTokenizer.Create(options);
            return new Gpt2Tokenizer(inner, ids, count, eot);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or JsonException)
        {
            throw new ModelFormatException($"Cannot build a GPT-2 tokenizer from {vocabPath} and {mergesPath}: {e.Message}", e);
        }
    }

    /// <summary>Encodes text to token ids (no BOS/EOS added).</summary>
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _inner.EncodeToIds(text);
    }

    /// <summary>Decodes token ids back to text.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is not in the vocabulary.</exception>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var list = ids.ToList();
        foreach (var id in list)
            if (!_ids.Contains(id)) throw new ArgumentOutOfRangeException(nameof(ids), $"Token id {id} is not in the vocabulary.");
        return _inner.Decode(list);
    }
}
