using System.Text.Json;
using Xunit;

namespace ZkLora.Model.Tests;

public class TokenizerTests
{
    private static string VectorDir => TestPaths.Vector("gpt2_bpe");

    public static IEnumerable<object[]> Cases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(VectorDir, "encodings.json")));
        foreach (var c in doc.RootElement.EnumerateArray())
            yield return new object[] { c.GetProperty("text").GetString()!, c.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray() };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EncodesLikeThePythonReference(string text, int[] ids)
    {
        var tokenizer = Gpt2Tokenizer.Load(VectorDir);
        Assert.Equal(ids, tokenizer.Encode(text));
        Assert.Equal(text, tokenizer.Decode(ids));
    }

    [Fact]
    public void DemoVocabularyHandDerivedEncodings()
    {
        using var dir = new TempDir();
        var paths = DemoModel.Create(dir.Path);
        var tokenizer = Gpt2Tokenizer.Load(paths.ModelDirectory);
        Assert.Equal(281, tokenizer.VocabularySize);
        Assert.Equal(280, tokenizer.EndOfTextId);
        // Byte tokens follow GPT-2's order: '!'..'~' are ids 0..93, the space byte 'Ġ' is 220.
        // "the": h+e (merge 257) then t+he is not a merge → [t, he].
        // " cat": a+t (rank 9, id 265) beats Ġ+c (rank 15, id 271) → [Ġc, at].
        Assert.Equal(new[] { 83, 257, 271, 265 }, tokenizer.Encode("the cat"));
        // " the" → Ġ+t (256), h+e (257), Ġt+he (258); " and" → Ġ+a (260), Ġa+n (274), Ġan+d (275).
        Assert.Equal(new[] { 258, 275 }, tokenizer.Encode(" the and"));
        // "sing": i+n (rank 3) then in+g (rank 20) → [s, ing]; "!" is byte token 0; the special token is 280.
        Assert.Equal(new[] { 82, 276, 0, 280 }, tokenizer.Encode("sing!<|endoftext|>"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("The quick brown fox jumps over the lazy dog.")]
    [InlineData("  spaces\t\ttabs\r\nnewlines\n\n\n")]
    [InlineData("Ünïcödé, 中文, العربية, emoji 🧪🔐 and a ZWJ 👩‍💻")]
    [InlineData("<|endoftext|>between<|endoftext|>")]
    public void RoundTripsArbitraryText(string text)
    {
        using var dir = new TempDir();
        var tokenizer = Gpt2Tokenizer.Load(DemoModel.Create(dir.Path).ModelDirectory);
        var ids = tokenizer.Encode(text);
        Assert.All(ids, id => Assert.InRange(id, 0, tokenizer.VocabularySize - 1));
        Assert.Equal(text, tokenizer.Decode(ids));
    }

    [Fact]
    public void RandomTextRoundTripsAndPreTokensTileTheText()
    {
        string[] alphabet =
        {
            "a", "b", "Z", "é", "ß", "中", "\U00020000", "\U0001D400", "1", "٣", "²", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000",
            "'", "'s", "'ll", "!", "?", ",", ".", "-", "\u0301", "🙂", "👩\u200d💻", "<|endoftext|>", "<|", "|>",
        };
        var rng = new SplitMix64(2024);
        using var dir = new TempDir();
        var tokenizer = Gpt2Tokenizer.Load(DemoModel.Create(dir.Path).ModelDirectory);
        var pre = new Gpt2PreTokenizer(new[] { Gpt2Tokenizer.EndOfText });
        for (int n = 0; n < 300; n++)
        {
            int length = (int)(rng.Next() % 24);
            string text = string.Concat(Enumerable.Range(0, length).Select(_ => alphabet[rng.Next() % (ulong)alphabet.Length]));
            int cursor = 0;
            foreach (var (offset, len) in pre.PreTokenize(text))
            {
                Assert.Equal(cursor, offset);
                Assert.True(len > 0);
                cursor += len;
            }
            Assert.Equal(text.Length, cursor);
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
        }
    }

    [Fact]
    public void RejectsBadFilesAndIds()
    {
        var tokenizer = Gpt2Tokenizer.Load(VectorDir);
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode(new[] { 1, 100_000 }));
        using var dir = new TempDir();
        File.Copy(Path.Combine(VectorDir, "merges.txt"), dir.Combine("merges.txt"));
        File.WriteAllText(dir.Combine("vocab.json"), "[1, 2]");
        Assert.Throws<ModelFormatException>(() => Gpt2Tokenizer.Load(dir.Path));
        File.WriteAllText(dir.Combine("vocab.json"), "{\"a\": 0, \"b\": 0}");
        Assert.Contains("used twice", Assert.Throws<ModelFormatException>(() => Gpt2Tokenizer.Load(dir.Path)).Message);
        File.WriteAllText(dir.Combine("vocab.json"), "{\"a\": 0, ");
        Assert.Throws<ModelFormatException>(() => Gpt2Tokenizer.Load(dir.Path));
        File.Delete(dir.Combine("merges.txt"));
        Assert.Throws<FileNotFoundException>(() => Gpt2Tokenizer.Load(dir.Path));
    }
}
