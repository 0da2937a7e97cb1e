using System.Numerics;
using Microsoft.FSharp.Collections;
using ZkLora.Proofs;
using Xunit;
using FsFixedPoint = ZkLora.Proofs.FixedPoint;

namespace ZkLora.Api.Tests;

/// <summary>
/// The C# views of the artifacts: they read and write exactly the F# format (same canonical bytes,
/// same digests), reject bad content with precise exception types, and cannot be mutated.
/// </summary>
public sealed class ArtifactTests : IDisposable
{
    private readonly TempDir _tmp = new("zklora-api-artifacts-");

    private string _dir => _tmp.Path;

    public void Dispose() => _tmp.Dispose();

    private string PathOf(string name) => Path.Combine(_dir, name);

    /// <summary>A manifest built with the F# core: two modules committed under fresh salts.</summary>
    private static Manifest FsManifest(params string[] modules)
    {
        var cfg = FsFixedPoint.defaultConfig;
        var shape = new AdapterCommitment.AdapterShape(2, 1, 3);
        BigInteger[][] a = [[1, -2]];
        BigInteger[][] b = [[1], [2], [3]];
        var adapters = modules.Select(m =>
            ManifestModule.adapterOf(m, shape, cfg, FsFixedPoint.scaling(8, 4).ResultValue, AdapterCommitment.newSalt(), a, b).ResultValue);
        return new Manifest(ListModule.OfSeq(adapters));
    }

    private static InferenceTranscriptEntry Entry(string session = "s1", string module = "transformer.h.0.attn.c_attn", long index = 0) =>
        new(session, module, index, [1, 2], [1, 3], [[1, -2]], [[5, 6, -7]], FixedPointSettings.Default, new LoraScaling(2, 1));

    [Fact]
    public void A_manifest_view_shows_the_F_sharp_manifest_and_keeps_its_bytes_and_digest()
    {
        var fs = FsManifest("transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn");
        string json = ManifestModule.toJson(fs).ResultValue;
        var m = AdapterManifest.Parse(json);
        Assert.Equal(json, m.ToJson());
        Assert.Equal(ManifestModule.digest(fs).ResultValue, m.Digest);
        Assert.Equal(2, m.Adapters.Count);
        var e = m.Adapters[0];
        var f = fs.Adapters.Head;
        Assert.Equal(("transformer.h.0.attn.c_attn", 2, 1, 3), (e.ModuleName, e.InDim, e.Rank, e.OutDim));
        Assert.Equal(FixedPointSettings.Default, e.FixedPoint);
        Assert.Equal(new LoraScaling(2, 1), e.Scaling);
        Assert.Equal(AdapterCommitment.toHex(ManifestModule.poseidonCommitment(f).ResultValue), e.Commitment);
        Assert.Matches("^0x[0-9a-f]{64}$", e.Commitment);
        Assert.Same(e, m.Find("transformer.h.0.attn.c_attn"));
        Assert.Null(m.Find("transformer.h.9.attn.c_attn"));
        Assert.Equal(AdapterCommitment.scheme, AdapterManifest.CommitmentScheme);
        Assert.Contains(AdapterManifest.SchemaVersion, json);
        Assert.Contains(AdapterManifest.Backend, json);
        // The entry list is read-only.
        Assert.Throws<NotSupportedException>(() => ((IList<AdapterManifestEntry>)m.Adapters).RemoveAt(0));
    }

    [Fact]
    public async Task A_manifest_round_trips_through_files_byte_for_byte()
    {
        var m = AdapterManifest.Parse(ManifestModule.toJson(FsManifest("transformer.h.0.attn.c_attn")).ResultValue);
        string p1 = PathOf("sub/dir/m1.json"), p2 = PathOf("m2.json");
        m.Write(p1);
        await m.WriteAsync(p2);
        Assert.Equal(m.ToJson(), File.ReadAllText(p1));
        Assert.Equal(File.ReadAllBytes(p1), File.ReadAllBytes(p2));
        Assert.Equal(m, AdapterManifest.Read(p1));
        Assert.Equal(m, await AdapterManifest.ReadAsync(p2));
        // The F# reader (the verifier's) reads what the view wrote.
        Assert.Equal(m.Digest, ManifestModule.digest(ManifestModule.readFile(p1).ResultValue).ResultValue);
    }

    [Fact]
    public void Manifests_combine_from_entries_and_reject_duplicates_and_emptiness()
    {
        var a = AdapterManifest.Parse(ManifestModule.toJson(FsManifest("transformer.h.0.attn.c_attn")).ResultValue);
        var b = AdapterManifest.Parse(ManifestModule.toJson(FsManifest("transformer.h.1.attn.c_attn")).ResultValue);
        var union = new AdapterManifest(a.Adapters.Concat(b.Adapters));
        Assert.Equal(["transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"], union.Adapters.Select(e => e.ModuleName));
        Assert.Equal(a.Adapters[0], union.Adapters[0]);
        Assert.NotEqual(a, union);
        Assert.Equal(union, new AdapterManifest(union.Adapters));
        Assert.Equal(union.GetHashCode(), new AdapterManifest(union.Adapters).GetHashCode());
        Assert.Contains("appears more than once", Assert.Throws<ArgumentException>(() => new AdapterManifest(a.Adapters.Concat(a.Adapters))).Message);
        Assert.Contains("at least one", Assert.Throws<ArgumentException>(() => new AdapterManifest([])).Message);
        Assert.Throws<ArgumentNullException>(() => new AdapterManifest(null!));
    }

    [Fact]
    public async Task Bad_manifest_files_get_precise_exceptions_that_name_the_file_and_the_problem()
    {
        string missing = PathOf("missing.json");
        var nf = Assert.Throws<FileNotFoundException>(() => AdapterManifest.Read(missing));
        Assert.Equal($"manifest file {missing} does not exist", nf.Message);
        Assert.Equal(missing, nf.FileName);
        await Assert.ThrowsAsync<FileNotFoundException>(() => AdapterManifest.ReadAsync(missing));

        string json = ManifestModule.toJson(FsManifest("transformer.h.0.attn.c_attn")).ResultValue;
        string other = PathOf("other-schema.json");
        File.WriteAllText(other, json.Replace("zklora.manifest.v1", "zklora.manifest.v9", StringComparison.Ordinal));
        var bad = Assert.Throws<ArtifactFormatException>(() => AdapterManifest.Read(other));
        Assert.Equal(other, bad.FilePath);
        Assert.Contains("$.schema_version", bad.Problem);
        Assert.Equal($"manifest file {other}: {bad.Problem}", bad.Message);
        Assert.IsAssignableFrom<FormatException>(bad);
        Assert.Contains("$.schema_version", (await Assert.ThrowsAsync<ArtifactFormatException>(() => AdapterManifest.ReadAsync(other))).Problem);

        string notJson = PathOf("not-json.json");
        File.WriteAllText(notJson, "{\"adapters\": [");
        Assert.Equal(notJson, Assert.Throws<ArtifactFormatException>(() => AdapterManifest.Read(notJson)).FilePath);
        Assert.Contains("manifest", Assert.Throws<FormatException>(() => AdapterManifest.Parse("[]")).Message);

        string dir = PathOf("a-directory");
        Directory.CreateDirectory(dir);
        // A directory is named as such (issue 15, item 13), not reported as missing.
        Assert.Contains("is a directory, not a file", Assert.Throws<IOException>(() => AdapterManifest.Read(dir)).Message);

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        string good = PathOf("good.json");
        File.WriteAllText(good, json);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => AdapterManifest.ReadAsync(good, cancelled.Token));
    }

    [Fact]
    public void Transcript_entries_are_validated_by_the_transcript_rules()
    {
        var e = Entry();
        Assert.Equal(("s1", "transformer.h.0.attn.c_attn", 0L), (e.SessionId, e.ModuleName, e.InvocationIndex));
        Assert.Equal([1L, 2L], e.InputShape);
        Assert.Equal([1L, 3L], e.OutputShape);
        Assert.Equal([new BigInteger[] { 1, -2 }], e.X);
        Assert.Equal([new BigInteger[] { 5, 6, -7 }], e.Delta);

        void Rejected(string expected, Func<InferenceTranscriptEntry> make) =>
            Assert.Contains(expected, Assert.Throws<ArgumentException>(make).Message);
        var d = FixedPointSettings.Default;
        var two = new LoraScaling(2, 1);
        Rejected("session", () => new InferenceTranscriptEntry("s.1", "m", 0, [1, 2], [1, 3], [[1, -2]], [[5, 6, 7]], d, two));
        Rejected("leading dimensions", () => new InferenceTranscriptEntry("s1", "m", 0, [1, 2], [2, 3], [[1, -2]], [[5, 6, 7]], d, two));
        Rejected("entry.x", () => new InferenceTranscriptEntry("s1", "m", 0, [1, 2], [1, 3], [[1, -2, 3]], [[5, 6, 7]], d, two));
        Rejected("entry.delta", () => new InferenceTranscriptEntry("s1", "m", 0, [1, 2], [1, 3], [[1, -2]], [[5, BigInteger.One << 62, 7]], d, two));
        Rejected("invocation_index", () => new InferenceTranscriptEntry("s1", "m", -1, [1, 2], [1, 3], [[1, -2]], [[5, 6, 7]], d, two));
        Rejected("too large", () => new InferenceTranscriptEntry("s1", "m", 0, [1, 2], [1, 3], [[1, -2]], [[5, 6, 7]], d, new LoraScaling(BigInteger.One << 250, 1)));
        Assert.Throws<ArgumentNullException>(() => new InferenceTranscriptEntry("s1", "m", 0, [1, 2], [1, 3], [[1, -2]], [[5, 6, 7]], null!, two));
    }

    [Fact]
    public void Transcript_entries_copy_their_input_and_expose_read_only_views()
    {
        BigInteger[][] x = [[1, -2]];
        long[] shape = [1, 2];
        var e = new InferenceTranscriptEntry("s1", "m", 0, shape, [1, 3], x, [[5, 6, 7]], FixedPointSettings.Default, new LoraScaling(2, 1));
        x[0][0] = 99;
        shape[1] = 7;
        Assert.Equal(BigInteger.One, e.X[0][0]);
        Assert.Equal(2L, e.InputShape[1]);
        Assert.Throws<NotSupportedException>(() => ((IList<BigInteger>)e.X[0])[0] = 3);
        Assert.Throws<NotSupportedException>(() => ((IList<long>)e.InputShape)[0] = 3);
        Assert.Throws<NotSupportedException>(() => ((IList<IReadOnlyList<BigInteger>>)e.Delta).Clear());
    }

    [Fact]
    public async Task Transcripts_write_the_F_sharp_format_and_read_back()
    {
        var t = new InferenceTranscript([Entry(index: 0), Entry(index: 1), Entry(module: "transformer.h.1.attn.c_attn")]);
        Assert.Equal(3, t.Entries.Count);
        // Same bytes as the F# writer for the same entries.
        var fs = new ZkLora.Proofs.InferenceTranscript(ListModule.OfSeq(t.Entries.Select(e => new TranscriptEntry(e.SessionId, e.ModuleName, e.InvocationIndex,
            e.InputShape.ToArray(), e.OutputShape.ToArray(), e.X.Select(r => r.ToArray()).ToArray(), e.Delta.Select(r => r.ToArray()).ToArray(),
            FsFixedPoint.defaultConfig, FsFixedPoint.scaling(2, 1).ResultValue))));
        Assert.Equal(InferenceTranscriptModule.toJson(fs).ResultValue, t.ToJson());
        Assert.Equal(InferenceTranscriptModule.digest(fs).ResultValue, t.Digest);

        string p1 = PathOf("t/t1.json"), p2 = PathOf("t2.json");
        t.Write(p1);
        await t.WriteAsync(p2);
        Assert.Equal(File.ReadAllBytes(p1), File.ReadAllBytes(p2));
        var back = InferenceTranscript.Read(p1);
        Assert.Equal(t.ToJson(), back.ToJson());
        Assert.Equal(t.Digest, (await InferenceTranscript.ReadAsync(p2)).Digest);
        Assert.Equal(t.Entries.Select(e => e.ToString()), back.Entries.Select(e => e.ToString()));
        Assert.Equal(t.ToJson(), InferenceTranscript.Parse(t.ToJson()).ToJson());

        var empty = new InferenceTranscript([]);
        Assert.Empty(empty.Entries);
        Assert.Empty(InferenceTranscript.Parse(empty.ToJson()).Entries);
    }

    [Fact]
    public void Bad_transcripts_are_rejected_with_precise_exceptions()
    {
        var dup = Assert.Throws<ArgumentException>(() => new InferenceTranscript([Entry(), Entry()]));
        Assert.Contains("invocation 0 appears more than once", dup.Message);
        Assert.Throws<ArgumentException>(() => new InferenceTranscript([Entry(), null!]));

        string missing = PathOf("none.json");
        Assert.Equal($"transcript file {missing} does not exist", Assert.Throws<FileNotFoundException>(() => InferenceTranscript.Read(missing)).Message);
        string bad = PathOf("bad.json");
        File.WriteAllText(bad, new InferenceTranscript([Entry()]).ToJson().Replace("\"x\":[[1,-2]]", "\"x\":[[1]]", StringComparison.Ordinal));
        var e = Assert.Throws<ArtifactFormatException>(() => InferenceTranscript.Read(bad));
        Assert.Contains("$.entries[0].x", e.Problem);
        Assert.Equal(bad, e.FilePath);
        Assert.Contains("$.entries[0].x", Assert.Throws<FormatException>(() => InferenceTranscript.Parse(File.ReadAllText(bad))).Message);
    }

    [Fact]
    public void Writing_into_a_place_that_cannot_be_written_is_an_IO_error_naming_the_file()
    {
        string blocker = PathOf("blocker");
        File.WriteAllText(blocker, "a file, not a folder");
        string path = Path.Combine(blocker, "t.json");
        var t = new InferenceTranscript([Entry()]);
        // The folder cannot be created under a file.
        Assert.ThrowsAny<IOException>(() => t.Write(path));
        var m = AdapterManifest.Parse(ManifestModule.toJson(FsManifest("transformer.h.0.attn.c_attn")).ResultValue);
        string dirAsFile = PathOf("is-a-dir");
        Directory.CreateDirectory(dirAsFile);
        var e = Assert.ThrowsAny<Exception>(() => m.Write(dirAsFile));
        Assert.True(e is IOException or UnauthorizedAccessException, e.GetType().Name);
        Assert.StartsWith($"cannot write manifest file {dirAsFile}:", e.Message);
    }
}

public sealed class ProofVerificationApiTests : IDisposable
{
    private readonly TempDir _tmp = new("zklora-api-verify-");

    private string _dir => _tmp.Path;

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public async Task Async_verification_reports_bad_input_like_the_sync_one()
    {
        string transcript = Path.Combine(_dir, "missing-transcript.json");
        string manifest = Path.Combine(_dir, "missing-manifest.json");
        var sync = Assert.Throws<ProofVerificationException>(() => ProofVerification.BatchVerifyProofs(_dir, transcript, manifest));
        var async = await Assert.ThrowsAsync<ProofVerificationException>(() => ProofVerification.BatchVerifyProofsAsync(_dir, transcript, manifest));
        Assert.Equal(ProofVerificationFailure.InvalidInput, async.Reason);
        Assert.Equal(sync.Message, async.Message);
        Assert.Contains("does not exist", async.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => ProofVerification.BatchVerifyProofsAsync([], transcript, [manifest]));
    }

    [Fact]
    public async Task Async_verification_observes_a_cancelled_token()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            ProofVerification.BatchVerifyProofsAsync(_dir, Path.Combine(_dir, "t.json"), Path.Combine(_dir, "m.json"), cancellationToken: cts.Token));
    }
}
