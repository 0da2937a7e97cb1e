using System.Text.RegularExpressions;
using ZkLora.Api;
using Xunit;

namespace ZkLora.Api.Tests;

public sealed class ActivationCommitmentsTests : IDisposable
{
    // Known answer from tests/vectors/activation_commitment (Python + @noble/hashes), case "three_nested".
    private const string ThreeNestedJson = "{\"input_data\": [[1, 2], [3]]}";
    private const string ThreeNestedCommitment =
        "{\"root\":\"0x6236ea6d672d11e4c37133abc93e5cb8321cd28e94faa84d27e9401fb37eebeb\"," +
        "\"nonce\":\"0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}";

    private readonly TempDir _tmp = new("zklora-api-activations-");

    private string _dir => _tmp.Path;

    public void Dispose() => _tmp.Dispose();

    private string Write(string json)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void CommitmentHasTheOriginalsShapeAndVerifies()
    {
        var path = Write("{\"input_data\": [[0.5, -1.25], [3, 4e-3, 1e10]]}");
        var commitment = ActivationCommitments.CommitActivations(path);
        Assert.Matches(new Regex("^\\{\"root\":\"0x[0-9a-f]{64}\",\"nonce\":\"0x[0-9a-f]{64}\"\\}$"), commitment);
        Assert.True(ActivationCommitments.VerifyCommitment(path, commitment));
        Assert.NotEqual(commitment, ActivationCommitments.CommitActivations(path)); // fresh nonce each time
    }

    [Fact]
    public void KnownAnswerFromIndependentImplementationVerifies()
    {
        var path = Write(ThreeNestedJson);
        Assert.True(ActivationCommitments.VerifyCommitment(path, ThreeNestedCommitment));
        Assert.True(ActivationCommitments.VerifyCommitment(path, ThreeNestedCommitment.Replace("0x", "0X").ToUpperInvariant()
            .Replace("ROOT", "root").Replace("NONCE", "nonce")));
        Assert.Equal("0x6236ea6d672d11e4c37133abc93e5cb8321cd28e94faa84d27e9401fb37eebeb",
            ActivationCommitments.GetRoot(ThreeNestedCommitment));
        // the original's json.dumps layout, without prefixes (the original strips them when present)
        Assert.True(ActivationCommitments.VerifyCommitment(path, ThreeNestedCommitment.Replace("0x", "")
            .Replace("\":\"", "\": \"").Replace("\",\"", "\", \"")));
    }

    [Fact]
    public async Task AsyncVariantsAgree()
    {
        var path = Write(ThreeNestedJson);
        var commitment = await ActivationCommitments.CommitActivationsAsync(path);
        Assert.True(await ActivationCommitments.VerifyCommitmentAsync(path, commitment));
        var opening = await ActivationCommitments.OpenActivationAsync(path, commitment, 2);
        Assert.True(ActivationCommitments.VerifyOpening(opening, ActivationCommitments.GetRoot(commitment)));
    }

    [Fact]
    public async Task CancelledCommitThrows()
    {
        var path = Write(ThreeNestedJson);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ActivationCommitments.CommitActivationsAsync(path, cts.Token));
        Assert.ThrowsAny<OperationCanceledException>(() => ActivationCommitments.CommitActivations(path, cts.Token));
    }

    [Theory]
    [InlineData("{\"input_data\": [[1, 2], [4]]}")] // changed value
    [InlineData("{\"input_data\": [[2, 1], [3]]}")] // swapped order
    [InlineData("{\"input_data\": [[1, 2], [3, 0]]}")] // extra value
    public void TamperedFileDoesNotVerify(string json) =>
        Assert.False(ActivationCommitments.VerifyCommitment(Write(json), ThreeNestedCommitment));

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("{\"root\":\"0x6236\",\"nonce\":\"0x0001\"}")]
    [InlineData("{\"root\":\"0y6236ea6d672d11e4c37133abc93e5cb8321cd28e94faa84d27e9401fb37eebeb\",\"nonce\":\"0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}")]
    [InlineData("{\"root\":\"0x6236ea6d672d11e4c37133abc93e5cb8321cd28e94faa84d27e9401fb37eebeb\",\"nonce\":\"0x000102030405060708090a0b0c0d0e0f\"}")]
    [InlineData("{\"root\":\"0x6236ea6d672d11e4c37133abc93e5cb8321cd28e94faa84d27e9401fb37eebez\",\"nonce\":\"0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}")]
    [InlineData("{\"root\":\"0x6236ea6d672d11e4c37133abc93e5cb8321cd28e94faa84d27e9401fb37eebeb\"}")]
    public void MalformedCommitmentIsFalseNotAnException(string commitment)
    {
        Assert.False(ActivationCommitments.VerifyCommitment(Write(ThreeNestedJson), commitment));
        Assert.Throws<FormatException>(() => ActivationCommitments.GetRoot(commitment));
    }

    [Fact]
    public void MissingFileIsFileNotFound()
    {
        var missing = Path.Combine(_dir, "missing.json");
        var e = Assert.Throws<FileNotFoundException>(() => ActivationCommitments.CommitActivations(missing));
        Assert.Equal(missing, e.FileName);
        Assert.Throws<FileNotFoundException>(() => ActivationCommitments.VerifyCommitment(missing, ThreeNestedCommitment));
    }

    [Theory]
    [InlineData("{\"input_data\": [[1, 2], [\"3\"]]}", "input_data[1][0] (byte 25) must be a number or a list, found a string")]
    [InlineData("{\"values\": [1]}", "no \"input_data\" member")]
    [InlineData("{\"input_data\": [1, 2,]}", "invalid JSON at line 1")]
    [InlineData("[1, 2]", "must be a JSON object")]
    public void MalformedFileNamesTheProblem(string json, string expected)
    {
        var path = Write(json);
        var e = Assert.Throws<ActivationsFormatException>(() => ActivationCommitments.CommitActivations(path));
        Assert.Contains(expected, e.Problem);
        Assert.Contains(path, e.Message);
        Assert.Equal(path, e.FilePath);
    }

    [Fact]
    public void OpeningRoundTripAndRejections()
    {
        var path = Write("{\"input_data\": [[0.5, -1.25], [3, 4e-3, 1e10]]}");
        var commitment = ActivationCommitments.CommitActivations(path);
        var root = ActivationCommitments.GetRoot(commitment);
        for (long i = 0; i < 5; i++)
        {
            var opening = ActivationCommitments.OpenActivation(path, commitment, i);
            Assert.True(ActivationCommitments.VerifyOpening(opening, root, out var reason), reason);
            Assert.Null(reason);
            var parsed = ActivationCommitments.ParseOpening(opening);
            Assert.Equal(i, parsed.Index);
            Assert.Equal(5, parsed.Count);
            Assert.Equal(3, parsed.Siblings.Count);
        }
        var o3 = ActivationCommitments.OpenActivation(path, commitment, 3);
        Assert.Equal(4e-3, ActivationCommitments.ParseOpening(o3).Value);
        Assert.False(ActivationCommitments.VerifyOpening(o3.Replace("\"value\":0.004", "\"value\":0.005"), root, out var why));
        Assert.Equal("the path does not lead to the root", why);
        Assert.False(ActivationCommitments.VerifyOpening(o3.Replace("\"count\":5", "\"count\":9"), root, out why));
        Assert.Contains("needs 4 siblings", why);
        Assert.False(ActivationCommitments.VerifyOpening(o3, "0x" + new string('0', 64)));
        Assert.False(ActivationCommitments.VerifyOpening(o3, "not a root", out why));
        Assert.Contains("root", why);
        Assert.False(ActivationCommitments.VerifyOpening("{}", root, out why));
        Assert.StartsWith("malformed opening", why);
        Assert.Throws<FormatException>(() => ActivationCommitments.ParseOpening("{\"scheme\":\"other\"}"));
    }

    [Fact]
    public void OpenReportsPreciseErrors()
    {
        var path = Write(ThreeNestedJson);
        Assert.Throws<ArgumentOutOfRangeException>(() => ActivationCommitments.OpenActivation(path, ThreeNestedCommitment, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => ActivationCommitments.OpenActivation(path, ThreeNestedCommitment, -1));
        Assert.Throws<FormatException>(() => ActivationCommitments.OpenActivation(path, "{}", 0));
        var other = Write("{\"input_data\": [[1, 2], [4]]}");
        Assert.Throws<CommitmentMismatchException>(() => ActivationCommitments.OpenActivation(other, ThreeNestedCommitment, 0));
        Assert.Throws<FileNotFoundException>(() =>
            ActivationCommitments.OpenActivation(Path.Combine(_dir, "missing.json"), ThreeNestedCommitment, 0));
    }
}
