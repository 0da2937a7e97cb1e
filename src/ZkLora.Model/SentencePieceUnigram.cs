using System.Text;

namespace ZkLora.Model;

/// <summary>
/// Encoding and decoding with a SentencePiece Unigram <c>tokenizer.model</c> (written from the
/// published Unigram model: the segmentation of the normalized text that maximizes the sum of the
/// pieces' log-probabilities, found by Viterbi; a character no piece covers is an unknown piece with
/// the lowest score minus 10, spelled as its UTF-8 byte pieces <c>&lt;0xNN&gt;</c> with byte fallback).
/// Used instead of Microsoft.ML.Tokenizers 2.0.0, whose Unigram byte fallback is wrong. Covers the
/// identity normalization only (no precompiled character map), with the dummy-prefix, whitespace
/// escaping and extra-whitespace flags; models with user-defined pieces are refused.
/// </summary>
internal sealed class SentencePieceUnigram
{
    private const char Space = '\u2581';
    private readonly Dictionary<string, (int Id, float Score)> _pieces = new(StringComparer.Ordinal);
    private readonly string[] _byId;
    private readonly int[] _byteIds = new int[256];
    private readonly bool[] _isByte;
    private readonly int _maxPieceLength;
    private readonly float _unknownScore;
    private readonly int _unknownId;
    private bool _byteFallback;
    private bool _addDummyPrefix = true, _removeExtraWhitespaces = true, _escapeWhitespaces = true;

    private SentencePieceUnigram(byte[] proto)
    {
        var pieces = new List<(string Piece, float Score, int Type)>();
        string normalizerName = "";
        int charsMapLength = 0;
        HuggingFaceTokenizer.ForEachField(proto, (field, wire, value, bytes) =>
        {
            if (field == 1 && wire == 2)
            {
                string piece = "";
                float score = 0;
                int type = 1;
                HuggingFaceTokenizer.ForEachField(bytes, (f, w, v, b) =>
                {
                    if (f == 1 && w == 2) piece = Encoding.UTF8.GetString(b);
                    else if (f == 2 && w == 5) score = BitConverter.UInt32BitsToSingle((uint)v);
                    else if (f == 3 && w == 0) type = (int)v;
                });
                pieces.Add((piece, score, type));
            }
            else if (field == 2 && wire == 2)
                HuggingFaceTokenizer.ForEachField(bytes, (f, w, v, _) =>
                {
                    if (w != 0) return;
                    if (f == 35) _byteFallback = v != 0;
                    else if (f == 41) BosId = (int)v;
                    else if (f == 42) EosId = (int)v;
                });
            else if (field == 3 && wire == 2)
                HuggingFaceTokenizer.ForEachField(bytes, (f, w, v, b) =>
                {
                    if (f == 1 && w == 2) normalizerName = Encoding.UTF8.GetString(b);
                    else if (f == 2 && w == 2) charsMapLength = b.Length;
                    else if (f == 3 && w == 0) _addDummyPrefix = v != 0;
                    else if (f == 4 && w == 0) _removeExtraWhitespaces = v != 0;
                    else if (f == 5 && w == 0) _escapeWhitespaces = v != 0;
                });
        });
        if (charsMapLength > 0)
            throw new NotSupportedException($"the Unigram model's normalizer '{normalizerName}' has a character map; only the identity normalization is supported.");
        if (!_byteFallback) throw new NotSupportedException("Unigram models without byte_fallback are not supported.");
        _byId = new string[pieces.Count];
        _isByte = new bool[pieces.Count];
        Array.Fill(_byteIds, -1);
        _unknownId = -1;
        float minScore = float.MaxValue;
        for (int id = 0; id < pieces.Count; id++)
        {
            var (piece, score, type) = pieces[id];
            _byId[id] = piece;
            switch (type)
            {
                case 1: // NORMAL
                    if (piece.Length == 0) throw new FormatException($"piece {id} is empty.");
                    _pieces.TryAdd(piece, (id, score));
                    _maxPieceLength = System.Math.Max(_maxPieceLength, piece.Length);
                    minScore = System.Math.Min(minScore, score);
                    break;
                case 2: _unknownId = id; break; // UNKNOWN
                case 3: case 5: break;         // CONTROL, UNUSED: never matched in text
                case 4: throw new NotSupportedException("Unigram models with user-defined pieces are not supported.");
                case 6:                         // BYTE
                    if (piece.Length != 6 || !piece.StartsWith("<0x", StringComparison.Ordinal) || piece[5] != '>'
                        || !byte.TryParse(piece.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out byte value))
                        throw new FormatException($"byte piece {id} is '{piece}', not <0xNN>.");
                    _byteIds[value] = id;
                    _isByte[id] = true;
                    break;
                default: throw new FormatException($"piece {id} has the unknown type {type}.");
            }
        }
        if (_unknownId < 0) throw new FormatException("the model has no unknown piece.");
        if (BosId < 0 || BosId >= pieces.Count || EosId < 0 || EosId >= pieces.Count) throw new FormatException("bos_id or eos_id is not a piece.");
        if (_pieces.Count == 0) throw new FormatException("the model has no normal pieces.");
        if (Array.IndexOf(_byteIds, -1) >= 0) throw new FormatException("byte_fallback is set but not all 256 byte pieces are present.");
        _unknownScore = minScore - 10f;
    }

    /// <summary>The beginning-of-sentence id (trainer_spec.bos_id; default 1).</summary>
    public int BosId { get; private set; } = 1;

    /// <summary>The end-of-sentence id (trainer_spec.eos_id; default 2).</summary>
    public int EosId { get; private set; } = 2;

    /// <summary>Reads a Unigram model (the caller has checked its type).</summary>
    /// <exception cref="NotSupportedException">A feature outside what is covered.</exception>
    /// <exception cref="FormatException">The model is malformed.</exception>
    public static SentencePieceUnigram Create(byte[] proto) => new(proto);

    private string Normalize(string text)
    {
        var sb = new StringBuilder(text.Length + 1);
        string t = _removeExtraWhitespaces ? text.Trim(' ') : text;
        if (t.Length == 0) return "";
        if (_addDummyPrefix) sb.Append(' ');
        for (int i = 0; i < t.Length; i++)
        {
            if (_removeExtraWhitespaces && t[i] == ' ' && i > 0 && t[i - 1] == ' ') continue;
            sb.Append(t[i]);
        }
        if (_escapeWhitespaces) sb.Replace(' ', Space);
        return sb.ToString();
    }

    /// <summary>The ids of a text (without BOS/EOS).</summary>
    public List<int> Encode(string text)
    {
        string s = Normalize(text);
        int n = s.Length;
        var ids = new List<int>();
        if (n == 0) return ids;
        // best[i]: the best score of a segmentation of s[..i]; from[i], piece[i]: the last piece of it (-1: unknown).
        var best = new float[n + 1];
        var from = new int[n + 1];
        var piece = new int[n + 1];
        var reached = new bool[n + 1];
        reached[0] = true;
        for (int i = 0; i < n; i++)
        {
            if (!reached[i] || char.IsLowSurrogate(s[i])) continue;
            int charLength = char.IsHighSurrogate(s[i]) && i + 1 < n && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;
            bool single = false;
            for (int len = 1; len <= _maxPieceLength && i + len <= n; len++)
            {
                if (i + len < n && char.IsLowSurrogate(s[i + len])) continue; // would split a character
                if (!_pieces.TryGetValue(s.Substring(i, len), out var p)) continue;
                if (len == charLength) single = true;
                Relax(i, i + len, p.Score, p.Id);
            }
            if (!single) Relax(i, i + charLength, _unknownScore, -1);
        }
        // Backtrack.
        var path = new List<(int Start, int End, int Id)>();
        for (int end = n; end > 0; end = from[end]) path.Add((from[end], end, piece[end]));
        path.Reverse();
        foreach (var (start, end, id) in path)
        {
            if (id >= 0) ids.Add(id);
            else foreach (byte b in Encoding.UTF8.GetBytes(s.Substring(start, end - start))) ids.Add(_byteIds[b]);
        }
        return ids;

        void Relax(int start, int end, float score, int id)
        {
            float candidate = best[start] + score;
            if (reached[end] && !(candidate > best[end])) return; // ties keep the first found, as SentencePiece does
            reached[end] = true;
            best[end] = candidate;
            from[end] = start;
            piece[end] = id;
        }
    }

    /// <summary>The text of ids: pieces concatenated, byte pieces as UTF-8, ▁ as space, the dummy prefix removed.</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var sb = new StringBuilder();
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if (id < 0 || id >= _byId.Length) throw new ArgumentOutOfRangeException(nameof(ids), id, "Not a token id of this tokenizer.");
            if (_isByte[id])
            {
                bytes.Add(Convert.ToByte(_byId[id].Substring(3, 2), 16));
                continue;
            }
            Flush();
            if (id == _unknownId) sb.Append(" \u2047 ");
            else if (_pieces.ContainsKey(_byId[id])) sb.Append(_byId[id]);
        }
        Flush();
        if (_escapeWhitespaces) sb.Replace(Space, ' ');
        string text = sb.ToString();
        return _addDummyPrefix && text.StartsWith(' ') ? text[1..] : text;

        void Flush()
        {
            if (bytes.Count == 0) return;
            sb.Append(Encoding.UTF8.GetString(bytes.ToArray()));
            bytes.Clear();
        }
    }
}
