using Xunit;

namespace ZkLora.Model.Tests;

/// <summary>
/// tokenizer.json (byte-level BPE) on a vocabulary built by hand, so the expected ids follow from the
/// BPE rules on paper: "ab abc c" pre-tokenizes to "ab", " abc", " c" (space is byte-level 'Ġ');
/// merges by rank a+b → ab, Ġ+ab → Ġab, ab+c → abc give [ab] [Ġab, c] [Ġ, c] = 4 5 2 3 2 (the
/// "ab c" merge never applies because Ġ+ab outranks it inside " abc").
/// </summary>
public class HuggingFaceTokenizerTests
{
    private const string Vocab = "{\"a\": 0, \"b\": 1, \"c\": 2, \"Ġ\": 3, \"ab\": 4, \"Ġab\": 5, \"abc\": 6}";
    private const string Merges = "[\"a b\", \"Ġ ab\", \"ab c\"]";

    private static string Json(string preTokenizer, string postProcessor) => $$$"""
        {"version": "1.0", "truncation": null, "padding": null,
         "added_tokens": [{"id": 7, "content": "<|begin|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
                          {"id": 8, "content": "<|end|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
         "normalizer": null, "pre_tokenizer": {{{preTokenizer}}}, "post_processor": {{{postProcessor}}},
         "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
         "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null, "end_of_word_suffix": null,
                   "fuse_unk": false, "byte_fallback": false, "vocab": {{{Vocab}}}, "merges": {{{Merges}}}}}
        """;

    private const string Gpt2Style = "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true}";
    private const string Llama3Style = """
        {"type": "Sequence", "pretokenizers": [
          {"type": "Split", "pattern": {"Regex": " ?\\p{L}+| ?[^\\s\\p{L}]+|\\s+"}, "behavior": "Isolated", "invert": false},
          {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}
        """;
    private const string BosTemplate = """
        {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|begin|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
         "pair": [], "special_tokens": {"<|begin|>": {"id": "<|begin|>", "ids": [7], "tokens": ["<|begin|>"]}}}
        """;

    [Fact]
    public void Gpt2StyleByteLevelBpe()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("tokenizer.json"), Json(Gpt2Style, "{\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": false, \"use_regex\": true}"));
        var tok = Assert.IsType<HuggingFaceTokenizer>(HuggingFaceTokenizer.TryLoad(dir.Path));
        Assert.Equal(new[] { 4, 5, 2, 3, 2 }, tok.Encode("ab abc c"));
        Assert.Equal("ab abc c", tok.Decode(tok.Encode("ab abc c")));
        Assert.Equal(new[] { 6 }, tok.Encode("abc"));  // a+b then ab+c
        Assert.Equal(new[] { 8, 4 }, tok.Encode("<|end|>ab"));  // added tokens are matched whole
    }

    [Fact]
    public void Llama3StyleSplitRegexAndBosFromThePostProcessor()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("tokenizer.json"), Json(Llama3Style, BosTemplate));
        var tok = Assert.IsType<HuggingFaceTokenizer>(HuggingFaceTokenizer.TryLoad(dir.Path));
        Assert.Equal(new[] { 7 }, tok.PrefixIds);
        Assert.Equal(new[] { 7, 4, 5, 2, 3, 2 }, tok.Encode("ab abc c"));
        Assert.Equal("ab abc c", tok.Decode(tok.Encode("ab abc c")));
    }

    [Fact]
    public void UnsupportedTokenizerJsonIsRefusedByName()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("tokenizer.json"), Json(Gpt2Style, "null").Replace("\"type\": \"BPE\"", "\"type\": \"Unigram\""));
        Assert.Contains("Unigram", Assert.Throws<ModelFormatException>(() => HuggingFaceTokenizer.TryLoad(dir.Path)).Message);
        File.WriteAllText(dir.Combine("tokenizer.json"), Json(Gpt2Style, "null").Replace("\"byte_fallback\": false", "\"byte_fallback\": true"));
        Assert.Contains("byte_fallback", Assert.Throws<ModelFormatException>(() => HuggingFaceTokenizer.TryLoad(dir.Path)).Message);
        // With a tokenizer.model next to it, a byte_fallback tokenizer.json is left for the SentencePiece file
        // (here a file that is not a SentencePiece model, so that path's own error shows it was taken).
        File.WriteAllBytes(dir.Combine("tokenizer.model"), new byte[] { 1, 2, 3 });
        Assert.Contains("tokenizer.model", Assert.Throws<ModelFormatException>(() => HuggingFaceTokenizer.TryLoad(dir.Path)).Message);
        File.Delete(dir.Combine("tokenizer.model"));
        File.WriteAllText(dir.Combine("tokenizer.json"), Json("{\"type\": \"Metaspace\"}", "null"));
        Assert.Contains("Metaspace", Assert.Throws<ModelFormatException>(() => HuggingFaceTokenizer.TryLoad(dir.Path)).Message);
    }

    [Fact]
    public void ALlamaFolderWithATokenizerEncodesText()
    {
        var reference = LlamaFamilyTests.Make("llama3");
        using var dir = new TempDir();
        reference.WriteFolder(dir.Path, SafetensorsDType.F32);
        File.WriteAllText(dir.Combine("tokenizer.json"), Json(Llama3Style, BosTemplate));
        using var model = CausalLanguageModel.Load(dir.Path);
        Assert.Equal(new[] { 7, 4, 5, 2, 3, 2 }, model.Encode("ab abc c"));
        Assertions.Close(LlamaFamilyTests.ReferenceLoss(reference.Logits(new[] { 7, 4, 5, 2, 3, 2 }), new[] { 7, 4, 5, 2, 3, 2 }), model.Loss("ab abc c"), 2e-5, "loss of text");
    }
}
