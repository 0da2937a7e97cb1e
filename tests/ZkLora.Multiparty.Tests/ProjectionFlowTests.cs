using ZkLora.Api;
using ZkLora.Api.Multiparty;
using ZkLora.Model;
using Xunit;

namespace ZkLora.Multiparty.Tests;

/// <summary>
/// One session of the demo model served with the projection backend over loopback: manifest and
/// adapter proof pinned before inference, two forward passes (two calls of each module), end_inference
/// (one proof per module for the session), transcript. A small fixed-point configuration keeps the
/// proofs small enough for the suite.
/// </summary>
public sealed class ProjectionSessionFixture : DemoSessionFixture
{
    /// <summary>(8, 16, 40): values within ±2^15, intermediates within ±2^39 — plenty for the demo model.</summary>
    public static readonly FixedPointSettings SmallConfig = new(8, 16, 40);

    public static LoRAServerOptions Options => new() { Backend = ProofBackend.Projection, FixedPoint = SmallConfig };

    protected override string SessionId => "proj-1";
    protected override IReadOnlyList<string> Texts => ["the cat sat", "a dog ran"];
    protected override TimeSpan Timeout => TimeSpan.FromMinutes(10);
    protected override LoRAServerOptions ServerOptions => Options;
}

public class ProjectionFlowTests(ProjectionSessionFixture fx) : IClassFixture<ProjectionSessionFixture>
{
    [Fact]
    public void The_projection_server_proves_each_module_once_per_session_and_the_proofs_verify()
    {
        // four calls (two modules × two forward passes), one proof per module
        Assert.Equal(new EndInferenceResponse("proj-1", 4, 2), fx.Response);
        // two proofs × (statement, proof, meta), and the adapter proofs published with them
        Assert.Equal(7, Directory.GetFiles(fx.ProofDirectory).Length);
        Assert.True(File.Exists(Path.Combine(fx.ProofDirectory, AdapterManifest.Read(fx.PinnedManifestPath).Digest + ".adapter-proofs.json")));
        var manifest = AdapterManifest.Read(fx.PinnedManifestPath);
        Assert.Equal(ProofBackend.Projection, manifest.ProofBackend);
        Assert.All(manifest.Adapters, a => Assert.Equal(ProofBackend.Projection, a.Backend));
        Assert.Contains(AdapterManifest.ProjectionBackendId, manifest.ToJson());
        Assert.True(File.Exists(AdapterManifest.AdapterProofsPath(fx.PinnedManifestPath)));
        var r = ProofVerification.BatchVerifyProofs(fx.ProofDirectory, fx.TranscriptPath, fx.PinnedManifestPath);
        Assert.Equal(2, r.ProofCount);
        Assert.Equal(4, InferenceTranscript.Read(fx.TranscriptPath).Entries.Count);
    }

    [Fact]
    public void A_missing_or_altered_adapter_proof_is_rejected()
    {
        // A fresh commitment (new blinds: a manifest whose adapter proof was never verified here).
        var other = LoRAServer.Create(fx.Adapter, fx.Combine("other-" + Guid.NewGuid().ToString("N")), ProjectionSessionFixture.Options);
        string pinned = fx.Combine("pins-" + Guid.NewGuid().ToString("N"), "m.json");
        other.WriteManifest(pinned);
        string proofs = AdapterManifest.AdapterProofsPath(pinned);
        string good = File.ReadAllText(proofs);
        // flip one hex digit inside the first proof
        int at = good.IndexOf("\"proof\":\"", StringComparison.Ordinal) + 9 + 70;
        File.WriteAllText(proofs, good[..at] + (good[at] == '0' ? '1' : '0') + good[(at + 1)..]);
        var e = Assert.Throws<ProofVerificationException>(() => ProofVerification.BatchVerifyProofs(fx.ProofDirectory, fx.TranscriptPath, pinned));
        Assert.Equal(ProofVerificationFailure.InvalidAdapterProof, e.Reason);
        File.Delete(proofs);
        e = Assert.Throws<ProofVerificationException>(() => ProofVerification.BatchVerifyProofs(fx.ProofDirectory, fx.TranscriptPath, pinned));
        Assert.Equal(ProofVerificationFailure.InvalidAdapterProof, e.Reason);
        // restored: the adapter proof verifies, and then the call proofs fail against the other commitments
        File.WriteAllText(proofs, good);
        e = Assert.Throws<ProofVerificationException>(() => ProofVerification.BatchVerifyProofs(fx.ProofDirectory, fx.TranscriptPath, pinned));
        Assert.Equal(ProofVerificationFailure.ManifestMismatch, e.Reason);
        Assert.Contains("adapter_commitment", e.Message);
    }

    [Fact]
    public void A_restarted_server_keeps_its_commitments_and_adapter_proof_and_never_replaces_a_foreign_one()
    {
        var again = LoRAServer.Create(fx.Adapter, fx.ContributorDirectory, ProjectionSessionFixture.Options);
        Assert.Equal(AdapterManifest.Read(fx.PinnedManifestPath).Digest, again.ManifestDigest);
        string pinned = fx.Combine("again-" + Guid.NewGuid().ToString("N"), "m.json");
        again.WriteManifest(pinned);
        Assert.Equal(File.ReadAllBytes(AdapterManifest.AdapterProofsPath(fx.PinnedManifestPath)), File.ReadAllBytes(AdapterManifest.AdapterProofsPath(pinned)));
        // A PLONK server's manifest is another manifest: it is not written over a projection one's adapter proof.
        var plonk = LoRAServer.Create(fx.Adapter, fx.Combine("plonk-" + Guid.NewGuid().ToString("N")), TestServerOptions.Plonk);
        Assert.Equal(ProofBackend.Plonk, plonk.Manifest.ProofBackend);
        string dir = fx.Combine("foreign-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        File.WriteAllText(AdapterManifest.AdapterProofsPath(Path.Combine(dir, "m.json")), "{}");
        Assert.Throws<IOException>(() => again.WriteManifest(Path.Combine(dir, "m.json")));
    }

    [Fact]
    public void Servers_and_verifiers_derive_generators_into_the_commitment_parameters_their_host_gives_them()
    {
        var shared = new CommitmentParameters();
        var generators = shared.ToFSharp().Pedersen.G;
        Assert.Empty(generators.Get(0));
        var first = LoRAServer.Create(fx.Adapter, fx.Combine("params-a-" + Guid.NewGuid().ToString("N")), ProjectionSessionFixture.Options with { CommitmentParameters = shared });
        var derived = generators.Get(0);
        Assert.NotEmpty(derived); // the manifest's commitments were made with the host's generators
        var second = LoRAServer.Create(fx.Adapter, fx.Combine("params-b-" + Guid.NewGuid().ToString("N")), ProjectionSessionFixture.Options with { CommitmentParameters = shared });
        Assert.Same(derived, generators.Get(0)); // the second server derived nothing again
        Assert.NotEqual(first.ManifestDigest, second.ManifestDigest); // fresh blinds: only the generators are shared
        var context = new VerificationContext(parameters: shared);
        Assert.Same(shared, context.Parameters);
        Assert.NotSame(shared, new VerificationContext().Parameters);
        var r = ProofVerification.BatchVerifyProofs([fx.ProofDirectory], fx.TranscriptPath, [fx.PinnedManifestPath], new ProofVerificationOptions { Context = context });
        Assert.Equal(2, r.ProofCount);
    }

    [Fact]
    public void A_generator_cache_directory_is_filled_by_one_process_and_loaded_by_the_next()
    {
        string dir = fx.Combine("generators-" + Guid.NewGuid().ToString("N"));
        var first = new CommitmentParameters(dir);
        Assert.Equal(Path.GetFullPath(dir), first.GeneratorCacheDirectory);
        LoRAServer.Create(fx.Adapter, fx.Combine("cache-a-" + Guid.NewGuid().ToString("N")), ProjectionSessionFixture.Options with { CommitmentParameters = first });
        Assert.Single(Directory.GetFiles(dir)); // G, for the manifest's commitments (H comes with proofs)
        Assert.Equal(0L, first.ToFSharp().Pedersen.Store.Value.LoadedPoints);
        // a later host (new parameters, same directory) loads the points instead of deriving them, and verifies with them
        var second = new CommitmentParameters(dir);
        var context = new VerificationContext(parameters: second);
        var r = ProofVerification.BatchVerifyProofs([fx.ProofDirectory], fx.TranscriptPath, [fx.PinnedManifestPath], new ProofVerificationOptions { Context = context });
        Assert.Equal(2, r.ProofCount);
        Assert.True(second.ToFSharp().Pedersen.Store.Value.LoadedPoints > 0);
        Assert.Null(second.ToFSharp().Pedersen.Store.Value.LastError);
        Assert.Null(new CommitmentParameters().GeneratorCacheDirectory);
    }

    [Fact]
    public void New_manifests_use_the_projection_backend_by_default()
    {
        Assert.Equal(ProofBackend.Projection, new LoRAServerOptions().Backend);
        var server = LoRAServer.Create(fx.Adapter, fx.Combine("default-" + Guid.NewGuid().ToString("N")));
        Assert.Equal(ProofBackend.Projection, server.Manifest.ProofBackend);
        Assert.Contains(AdapterManifest.ProjectionCommitmentScheme, server.Manifest.ToJson());
    }

    [Fact(Timeout = 300000)]
    public async Task Two_projection_contributors_are_verified_each_against_its_own_pinned_manifest()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(280));
        string m0 = DemoModel.AdapterModules[0], m1 = DemoModel.AdapterModules[1];
        string root = fx.Combine("two-" + Guid.NewGuid().ToString("N"));
        await using var a = await RunningServer.StartAsync(fx.Adapter, ProjectionSessionFixture.Options with { Modules = [m0] }, outDir: Path.Combine(root, "a"));
        await using var b = await RunningServer.StartAsync(fx.Adapter, ProjectionSessionFixture.Options with { Modules = [m1] }, outDir: Path.Combine(root, "b"));
        string pinnedA = Path.Combine(root, "pinned-a.json"), pinnedB = Path.Combine(root, "pinned-b.json");
        a.Server.WriteManifest(pinnedA);
        b.Server.WriteManifest(pinnedB);
        var paths = DemoModel.Create(Path.Combine(root, "demo"));
        using var model = Gpt2Model.Load(paths.ModelDirectory);
        await using var client = new BaseModelClient(model, [a.Endpoint, b.Endpoint], CombineMode.AddDelta, "proj-two");
        await client.InitAndPatchAsync(cts.Token);
        await client.ForwardLossAsync("the cat sat", cts.Token);
        string transcript = Path.Combine(root, "transcript.json");
        client.WriteTranscript(transcript);
        var outcomes = await client.EndInferenceAsync(cts.Token);
        Assert.All(outcomes, o => Assert.Equal(1, o.Response!.ProofsWritten));

        var verified = ProofVerification.BatchVerifyProofs([a.Server.ProofDirectory, b.Server.ProofDirectory], transcript, [pinnedA, pinnedB]);
        Assert.Equal(2, verified.ProofCount);
        // A union manifest has no adapter proof of its own (each is bound to its manifest's digest): refused.
        string union = Path.Combine(root, "union", "pinned.json");
        Directory.CreateDirectory(Path.GetDirectoryName(union)!);
        new AdapterManifest(a.Server.Manifest.Adapters.Concat(b.Server.Manifest.Adapters)).Write(union);
        var e = Assert.Throws<ProofVerificationException>(() =>
            ProofVerification.BatchVerifyProofs([a.Server.ProofDirectory, b.Server.ProofDirectory], transcript, [union]));
        Assert.Equal(ProofVerificationFailure.InvalidAdapterProof, e.Reason);
        // Against only one contributor's manifest, the other's module is not pinned.
        e = Assert.Throws<ProofVerificationException>(() =>
            ProofVerification.BatchVerifyProofs([a.Server.ProofDirectory, b.Server.ProofDirectory], transcript, [pinnedA]));
        Assert.Equal(ProofVerificationFailure.ManifestMismatch, e.Reason);
    }
}
