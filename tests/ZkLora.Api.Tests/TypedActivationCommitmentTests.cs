using ZkLora.Api;
using Xunit;

namespace ZkLora.Api.Tests;

/// <summary>
/// The typed side of the activation API: <see cref="ActivationCommitment"/> and
/// <see cref="ActivationOpening"/> parse and write exactly the JSON of the string API, the typed
/// overloads agree with the string ones, and malformed values are rejected with a clear error.
/// </summary>
public sealed class TypedActivationCommitmentTests : IDisposable
{
    // Known answer from tests/vectors/activation_commitment (Python + @noble/hashes), case "three_nested".
    private const string ThreeNestedJson = "{\"input_data\": [[1, 2], [3]]}";
    private const string KnownRoot = "0x6236ea6d672d11e4c37133abc93e5cb8321cd28e94faa84d27e9401fb37eebeb";
    private const string KnownNonce = "0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    private const string KnownCommitment = "{\"root\":\"" + KnownRoot + "\",\"nonce\":\"" + KnownNonce + "\"}";

    private readonly TempDir _dir = new("zklora-api-typed-activations-");

    public void Dispose() => _dir.Dispose();

    private string Write(string json)
    {
        var path = _dir.Combine(Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void CommitmentRoundTripsThroughItsJson()
    {
        var path = Write("{\"input_data\": [[0.5, -1.25], [3, 4e-3, 1e10]]}");
        var commitment = ActivationCommitments.Commit(path);
        string json = commitment.ToJson();
        Assert.Matches("^\\{\"root\":\"0x[0-9a-f]{64}\",\"nonce\":\"0x[0-9a-f]{64}\"\\}$", json);
        var parsed = ActivationCommitment.Parse(json);
        Assert.Equal(commitment, parsed);
        Assert.Equal(json, parsed.ToJson());
        Assert.Equal(commitment.Root, ActivationCommitments.GetRoot(json));
        Assert.True(ActivationCommitments.VerifyCommitment(path, commitment));
        Assert.True(ActivationCommitments.VerifyCommitment(path, json)); // the string API reads the typed JSON
        Assert.NotEqual(commitment, ActivationCommitments.Commit(path)); // fresh nonce each time
    }

    [Fact]
    public void KnownAnswerParsesInEveryAcceptedSpelling()
    {
        var known = ActivationCommitment.Parse(KnownCommitment);
        Assert.Equal(KnownRoot, known.Root);
        Assert.Equal(KnownNonce, known.Nonce);
        Assert.Equal(KnownCommitment, known.ToJson());
        // upper-case hex with 0X, and the original's json.dumps layout without prefixes
        string upper = KnownCommitment.Replace("0x", "0X").ToUpperInvariant().Replace("ROOT", "root").Replace("NONCE", "nonce");
        string original = KnownCommitment.Replace("0x", "").Replace("\":\"", "\": \"").Replace("\",\"", "\", \"");
        Assert.Equal(known, ActivationCommitment.Parse(upper));
        Assert.Equal(known, ActivationCommitment.Parse(original));
        Assert.True(ActivationCommitments.VerifyCommitment(Write(ThreeNestedJson), known));
    }

    [Fact]
    public void ToStringShowsTheRootButNeverTheNonce()
    {
        var known = ActivationCommitment.Parse(KnownCommitment);
        Assert.Contains(KnownRoot, known.ToString());
        Assert.DoesNotContain(KnownNonce[2..], known.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("{\"root\":\"0x00\",\"nonce\":\"0x00\"}")]
    [InlineData("{\"root\":\"" + KnownRoot + "\"}")]
    [InlineData("{\"root\":\"" + KnownRoot + "\",\"nonce\":\"" + KnownNonce + "\",\"extra\":1}")]
    [InlineData("[\"" + KnownRoot + "\",\"" + KnownNonce + "\"]")]
    public void MalformedCommitmentIsRejectedWithTheExpectedForm(string json)
    {
        var e = Assert.Throws<FormatException>(() => ActivationCommitment.Parse(json));
        Assert.Contains("{\"root\":\"0x<64 hex>\",\"nonce\":\"0x<64 hex>\"}", e.Message);
        Assert.False(ActivationCommitment.TryParse(json, out var none));
        Assert.Null(none);
    }

    [Fact]
    public void NullCommitmentTextIsAnArgumentErrorOrFalse()
    {
        Assert.Throws<ArgumentNullException>(() => ActivationCommitment.Parse(null!));
        Assert.False(ActivationCommitment.TryParse(null, out _));
    }

    [Fact]
    public void TypedOpeningAgreesWithTheStringApiAndRoundTrips()
    {
        var path = Write(ThreeNestedJson);
        var known = ActivationCommitment.Parse(KnownCommitment);
        var opening = ActivationCommitments.OpenActivation(path, known, 2);
        Assert.Equal((3L, 2L, 3.0, KnownNonce), (opening.Count, opening.Index, opening.Value, opening.Nonce));
        string json = ActivationCommitments.OpenActivation(path, KnownCommitment, 2);
        Assert.Equal(json, opening.ToJson());
        var back = ActivationOpening.Parse(json);
        Assert.Equal((opening.Count, opening.Index, opening.Value, opening.Nonce), (back.Count, back.Index, back.Value, back.Nonce));
        Assert.Equal(opening.Siblings, back.Siblings);
        Assert.True(ActivationCommitments.VerifyOpening(opening, known.Root, out var reason), reason);
        Assert.Null(reason);
    }

    [Fact]
    public async Task AsyncTypedVariantsAgree()
    {
        var path = Write(ThreeNestedJson);
        var commitment = await ActivationCommitments.CommitAsync(path);
        Assert.True(await ActivationCommitments.VerifyCommitmentAsync(path, commitment));
        var opening = await ActivationCommitments.OpenActivationAsync(path, commitment, 0);
        Assert.True(ActivationCommitments.VerifyOpening(opening, commitment.Root));
    }

    [Fact]
    public void TypedCommitmentOfAnotherFileIsRejected()
    {
        var path = Write(ThreeNestedJson);
        var other = ActivationCommitments.Commit(Write("{\"input_data\": [[1, 2], [4]]}"));
        Assert.False(ActivationCommitments.VerifyCommitment(path, other));
        Assert.Throws<CommitmentMismatchException>(() => ActivationCommitments.OpenActivation(path, other, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            ActivationCommitments.OpenActivation(path, ActivationCommitment.Parse(KnownCommitment), 3));
    }

    [Fact]
    public void TamperedTypedOpeningDoesNotVerify()
    {
        var known = ActivationCommitment.Parse(KnownCommitment);
        var opening = ActivationCommitments.OpenActivation(Write(ThreeNestedJson), known, 1);
        Assert.False(ActivationCommitments.VerifyOpening(opening with { Value = 5 }, known.Root, out var reason));
        Assert.NotNull(reason);
        Assert.False(ActivationCommitments.VerifyOpening(opening with { Index = 0 }, known.Root));
        // well-formed but not a path under the root: written by ToJson, rejected by verification
        var beyond = opening with { Index = opening.Count };
        Assert.False(ActivationCommitments.VerifyOpening(beyond, known.Root, out reason));
        Assert.NotNull(reason);
        Assert.Equal(beyond.Index, ActivationOpening.Parse(beyond.ToJson()).Index);
        Assert.False(ActivationCommitments.VerifyOpening(opening with { Siblings = opening.Siblings.Take(1).ToArray() }, known.Root));
        Assert.False(ActivationCommitments.VerifyOpening(opening, ActivationCommitments.Commit(Write(ThreeNestedJson)).Root));
    }

    public static TheoryData<string, Func<ActivationOpening, ActivationOpening>> MalformedOpenings => new()
    {
        { "\"nonce\"", o => o with { Nonce = "0x1234" } },
        { "\"siblings\"[0]", o => o with { Siblings = ["not hex", .. o.Siblings.Skip(1)] } },
        { "\"siblings\" must be a list", o => o with { Siblings = null! } },
        { "finite", o => o with { Value = double.NaN } },
        { "finite", o => o with { Value = double.PositiveInfinity } },
        { "index", o => o with { Index = -1 } },
    };

    [Theory]
    [MemberData(nameof(MalformedOpenings))]
    public void MalformedTypedOpeningIsRejectedWithAClearError(string expected, Func<ActivationOpening, ActivationOpening> corrupt)
    {
        var known = ActivationCommitment.Parse(KnownCommitment);
        var bad = corrupt(ActivationCommitments.OpenActivation(Write(ThreeNestedJson), known, 1));
        var e = Assert.Throws<FormatException>(() => bad.ToJson());
        Assert.StartsWith("malformed opening: ", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.False(ActivationCommitments.VerifyOpening(bad, known.Root, out var reason)); // never throws
        Assert.Equal(e.Message, reason);
    }
}
