using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace ZkLora.Model;

/// <summary>
/// GPT-2's pre-tokenization, <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>,
/// evaluated on Unicode code points. A .NET <see cref="System.Text.RegularExpressions.Regex"/> tests
/// <c>\p{L}</c> per UTF-16 unit, so letters outside the Basic Multilingual Plane (CJK Extension B,
/// mathematical alphanumerics, …) would fall into the "other" class and split words differently from
/// the reference tokenizer; this scanner classifies whole code points instead. Special tokens are
/// split out first and returned as pieces of their own.
/// </summary>
internal sealed class Gpt2PreTokenizer : PreTokenizer
{
    private static readonly string[] Contractions = { "'s", "'t", "'re", "'ve", "'m", "'ll", "'d" };
    private readonly string[] _specialTokens;

    public Gpt2PreTokenizer(IEnumerable<string> specialTokens) =>
        _specialTokens = specialTokens.Where(s => s.Length > 0).OrderByDescending(s => s.Length).ToArray();

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return PreTokenize(text.AsSpan());
    }

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text)
    {
        var pieces = new List<(int, int)>();
        int segmentStart = 0;
        int i = 0;
        while (i < text.Length)
        {
            string? special = SpecialAt(text, i);
            if (special is null) { i++; continue; }
            Split(text, segmentStart, i, pieces);
            pieces.Add((i, special.Length));
            i += special.Length;
            segmentStart = i;
        }
        Split(text, segmentStart, text.Length, pieces);
        return pieces;
    }

    private string? SpecialAt(ReadOnlySpan<char> text, int i)
    {
        foreach (var s in _specialTokens)
            if (text[i..].StartsWith(s, StringComparison.Ordinal)) return s;
        return null;
    }

    private enum CharClass { Letter, Number, Space, Other }

    private static (CharClass Class, int Length) ClassAt(ReadOnlySpan<char> text, int i)
    {
        if (Rune.DecodeFromUtf16(text[i..], out var rune, out int length) != OperationStatus.Done)
            return (CharClass.Other, 1); // a lone surrogate is neither letter, number nor space
        if (Rune.IsWhiteSpace(rune)) return (CharClass.Space, length);
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => (CharClass.Letter, length),
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => (CharClass.Number, length),
            _ => (CharClass.Other, length),
        };
    }

    private static void Split(ReadOnlySpan<char> text, int start, int end, List<(int, int)> pieces)
    {
        var segment = text[..end];
        int i = start;
        while (i < end)
        {
            string? contraction = null;
            foreach (var c in Contractions)
                if (segment[i..].StartsWith(c, StringComparison.Ordinal)) { contraction = c; break; }
            if (contraction is not null)
            {
                pieces.Add((i, contraction.Length));
                i += contraction.Length;
                continue;
            }

            // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": an optional ASCII space, then a run of one class.
            int j = segment[i] == ' ' ? i + 1 : i;
            if (j < end)
            {
                var (cls, len) = ClassAt(segment, j);
                if (cls != CharClass.Space)
                {
                    int k = j + len;
                    while (k < end)
                    {
                        var (next, nextLen) = ClassAt(segment, k);
                        if (next != cls) break;
                        k += nextLen;
                    }
                    pieces.Add((i, k - i));
                    i = k;
                    continue;
                }
            }

            // Whitespace at i. "\s+(?!\S)" leaves the last whitespace character to prefix the next word;
            // "\s+" takes a single one (or the whole run at the end of the text).
            int w = i;
            while (w < end)
            {
                var (cls, len) = ClassAt(segment, w);
                if (cls != CharClass.Space) break;
                w += len;
            }
            if (w == i) w = i + 1; // unreachable for valid input: every position is one of the four classes
            int last = w - 1; // White_Space characters are all in the BMP: one UTF-16 unit each
            if (w == end || last == i)
            {
                pieces.Add((i, w - i));
                i = w;
            }
            else
            {
                pieces.Add((i, last - i));
                i = last;
            }
        }
    }
}
