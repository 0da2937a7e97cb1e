using System.Numerics;
using ZkLora.Api;
using ZkLora.Api.Multiparty;
using ZkLora.Model;
using ZkLora.Proofs;
using Xunit;

namespace ZkLora.Multiparty.Tests;

public class LoRAServerTests(DemoFixture fx) : IClassFixture<DemoFixture>
{
    private static readonly string M0 = DemoModel.AdapterModules[0];
    private static readonly string M1 = DemoModel.AdapterModules[1];

    private static double[][] Rows(int rows, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, rows).Select(_ => Enumerable.Range(0, DemoModel.EmbeddingSize).Select(_ => (double)(float)(rng.NextDouble() - 0.5)).ToArray()).ToArray();
    }

    /// <summary>
    /// A test double at the proving seam: it checks what the server hands over and writes
    /// nothing (it is not a prover and produces no artifacts).
    /// </summary>
    private sealed class SeamProbe : IProofGenerator
    {
        public ProofJob? Job;
        public Task<int> ProveSessionAsync(ProofJob job, IProgress<ProofProgress>? progress, CancellationToken cancellationToken)
        {
            Job = job;
            return Task.FromResult(job.Calls.Count);
        }
    }

    [Fact]
    public void Manifest_commits_every_served_module_and_is_stable_across_restarts()
    {
        using var dir = new TempDir();
        // PLONK (Poseidon commitment with a salt) — recommitted below; the default backend is checked at the end.
        var plonkOptions = TestServerOptions.Plonk;
        var s1 = LoRAServer.Create(fx.Adapter, dir.Combine("out"), plonkOptions);
        var s2 = LoRAServer.Create(fx.Adapter, dir.Combine("out"), plonkOptions);
        Assert.Equal(s1.ManifestDigest, s2.ManifestDigest); // same persisted salts
        Assert.Equal(DemoModel.AdapterModules, s1.Manifest.Adapters.Select(a => a.ModuleName));
        Assert.Equal(DemoModel.AdapterModules, s1.InjectionPoints.Select(p => p.ModuleName));
        Assert.All(s1.InjectionPoints, p => Assert.Equal((32, 96, 4), (p.InDim, p.OutDim, p.Rank)));
        Assert.Equal(2, Directory.GetFiles(s1.SecretDirectory, "*.zklora.salt.json").Length);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(s1.SecretDirectory));

        // Another output folder has other salts, hence other (hiding) commitments.
        var s3 = LoRAServer.Create(fx.Adapter, dir.Combine("other"), plonkOptions);
        Assert.NotEqual(s1.ManifestDigest, s3.ManifestDigest);
        Assert.NotEqual(s1.Manifest.Adapters[0].Commitment, s3.Manifest.Adapters[0].Commitment);

        // The manifest file reads back strictly and its digest is the announced one.
        string path = dir.Combine("m", "manifest.json");
        s1.WriteManifest(path);
        var read = ManifestModule.readFile(path);
        Assert.True(read.IsOk);
        Assert.Equal(s1.ManifestDigest, ManifestModule.digest(read.ResultValue).ResultValue);
        Assert.Equal(s1.Manifest, AdapterManifest.Read(path));
        Assert.Equal(s1.Manifest.ToJson(), File.ReadAllText(path));
        // The committed weights are the quantized adapter: recommitting with the salt reproduces it.
        var entry = read.ResultValue.Adapters.Head;
        var salt = AdapterCommitment.readSaltFile(Path.Combine(s1.SecretDirectory, M0 + ".zklora.salt.json")).ResultValue;
        var cfg = FixedPoint.defaultConfig;
        BigInteger[][] Q(double[][] w) => w.Select(r => r.Select(v => FixedPoint.quantize(cfg, v).ResultValue).ToArray()).ToArray();
        var m = fx.Adapter.GetModule(M0);
        Assert.Equal(ManifestModule.poseidonCommitment(entry).ResultValue, AdapterCommitment.commit(entry.Shape, cfg, entry.Scaling, salt, Q(m.A), Q(m.B)).ResultValue);

        // The default backend is projection: one commitment blind per module instead of a salt.
        var byDefault = LoRAServer.Create(fx.Adapter, dir.Combine("default"));
        Assert.Equal(ProofBackend.Projection, byDefault.Manifest.ProofBackend);
        Assert.Equal(2, Directory.GetFiles(byDefault.SecretDirectory, "*.zklora.projection-blind.json").Length);
    }

    [Fact]
    public void Module_selection_is_checked()
    {
        using var dir = new TempDir();
        var only = LoRAServer.Create(fx.Adapter, dir.Combine("a"), new LoRAServerOptions { Modules = [M1] });
        Assert.Equal([M1], only.InjectionPoints.Select(p => p.ModuleName));
        Assert.Single(only.Manifest.Adapters);
        var e = Assert.Throws<ArgumentException>(() => LoRAServer.Create(fx.Adapter, dir.Combine("b"), new LoRAServerOptions { Modules = ["transformer.h.7.mlp.c_fc"] }));
        Assert.Contains("has no module 'transformer.h.7.mlp.c_fc'", e.Message);
        Assert.Throws<ArgumentException>(() => LoRAServer.Create(fx.Adapter, dir.Combine("c"), new LoRAServerOptions { Modules = [] }));
    }

    [Fact]
    public void Load_checks_the_adapter_against_the_base_model()
    {
        using var dir = new TempDir();
        var s = LoRAServer.Load(fx.Paths.AdapterDirectory, dir.Combine("out"), fx.Paths.ModelDirectory);
        Assert.Equal(2, s.InjectionPoints.Count);
        Assert.Throws<ModelNotFoundException>(() => LoRAServer.Load(dir.Combine("missing"), dir.Combine("out2")));
    }

    [Fact]
    public void Forward_computes_the_exact_fixed_point_delta()
    {
        using var dir = new TempDir();
        var s = LoRAServer.Create(fx.Adapter, dir.Combine("out"));
        var rows = Rows(6, 1);
        var r = s.LoraForward("x", M1, [2, 3, 32], rows);
        var cfg = FixedPoint.defaultConfig;
        BigInteger[][] Q(double[][] w) => w.Select(row => row.Select(v => FixedPoint.quantize(cfg, v).ResultValue).ToArray()).ToArray();
        var m = fx.Adapter.GetModule(M1);
        var x = Q(rows);
        var expected = FixedPoint.deltaRowsExact(cfg, Q(m.A), Q(m.B), x, 2, 1).ResultValue;
        Assert.Equal(x, r.Call.X);
        Assert.Equal(expected, r.Call.Delta);
        Assert.Equal(new long[] { 2, 3, 96 }, r.Call.OutputShape);
        Assert.Equal(expected.Select(row => row.Select(v => System.Math.ScaleB((double)v, -20)).ToArray()).ToArray(), r.Output);
        // And it is close to the float LoRA delta.
        for (int i = 0; i < rows.Length; i++)
        {
            var f = m.Delta(rows[i]);
            for (int k = 0; k < f.Length; k++) Assert.InRange(System.Math.Abs(f[k] - r.Output[i][k]), 0, 1e-4);
        }
    }

    [Fact]
    public void Bad_calls_are_refused_and_not_recorded()
    {
        using var dir = new TempDir();
        var s = LoRAServer.Create(fx.Adapter, dir.Combine("out"), new LoRAServerOptions { MaxOpenSessions = 2, MaxRecordedValuesPerSession = 3 * (32 + 96) });
        Assert.Contains("Unknown module", Assert.Throws<LoraRequestException>(() => s.LoraForward("a", "nope", [1, 32], Rows(1, 0))).Message);
        Assert.Contains("session id", Assert.Throws<LoraRequestException>(() => s.LoraForward("a.b", M0, [1, 32], Rows(1, 0))).Message);
        Assert.Contains("do not fill", Assert.Throws<LoraRequestException>(() => s.LoraForward("a", M0, [2, 32], Rows(1, 0))).Message);
        var nan = Rows(1, 0);
        nan[0][5] = double.NaN;
        Assert.Contains("element 5: cannot quantize NaN", Assert.Throws<LoraRequestException>(() => s.LoraForward("a", M0, [1, 32], nan)).Message);
        s.LoraForward("a", M0, [2, 32], Rows(2, 0));
        Assert.Contains("more than 384 values", Assert.Throws<LoraRequestException>(() => s.LoraForward("a", M0, [2, 32], Rows(2, 0))).Message);
        s.LoraForward("b", M0, [1, 32], Rows(1, 0));
        Assert.Contains("Too many open sessions", Assert.Throws<LoraRequestException>(() => s.LoraForward("c", M0, [1, 32], Rows(1, 0))).Message);
        Assert.Single(s.GetRecordedCalls("a"));
        Assert.Equal(["a", "b"], s.OpenSessionIds.Order());
    }

    [Fact]
    public async Task End_inference_hands_the_session_to_the_proving_seam()
    {
        using var dir = new TempDir();
        var probe = new SeamProbe();
        var s = LoRAServer.Create(fx.Adapter, dir.Combine("out"), new LoRAServerOptions(), hooks: new LoRAServerTestHooks { ProofGenerator = probe });
        s.LoraForward("sess", M1, [1, 32], Rows(1, 1));
        s.LoraForward("sess", M0, [1, 32], Rows(1, 2));
        s.LoraForward("sess", M0, [1, 32], Rows(1, 3));
        s.LoraForward("other", M0, [1, 32], Rows(1, 4));
        var r = await s.EndInferenceAsync("sess");
        Assert.Equal(new EndInferenceResponse("sess", 3, 3), r);
        var job = probe.Job!;
        Assert.Equal("sess", job.SessionId);
        Assert.Equal(s.ProofDirectory, job.ProofDirectory);
        Assert.Equal([(M0, 0L), (M0, 1L), (M1, 0L)], job.Calls.Select(c => (c.ModuleName, c.InvocationIndex)));
        Assert.Equal(s.Manifest, job.Manifest);
        Assert.Equal(DemoModel.AdapterModules, job.Modules.Keys.Order());
        Assert.DoesNotContain("Salt", job.Modules[M0].ToString());
        // The session is closed for good; the other one is untouched.
        Assert.Contains("has ended", Assert.Throws<LoraRequestException>(() => s.LoraForward("sess", M0, [1, 32], Rows(1, 5))).Message);
        Assert.Contains("already ended", (await Assert.ThrowsAsync<LoraRequestException>(() => s.EndInferenceAsync("sess"))).Message);
        Assert.Single(s.GetRecordedCalls("other"));
    }

    [Fact]
    public void The_default_seam_is_the_zero_knowledge_prover()
    {
        using var dir = new TempDir();
        var standard = Assert.IsType<ZkProofGenerator>(LoRAServer.Create(fx.Adapter, dir.Combine("a")).Prover);
        Assert.Equal(Environment.ProcessorCount, standard.MaxDegreeOfParallelism);
        Assert.Equal(4, standard.Context.Options.KeyCacheSize);
        Assert.Equal(4096L << 20, standard.Context.Options.MemoryBudgetBytes);
        // each server owns its context: two servers share no proving-key cache
        Assert.NotSame(standard.Context, Assert.IsType<ZkProofGenerator>(LoRAServer.Create(fx.Adapter, dir.Combine("a2")).Prover).Context);
        var capped = Assert.IsType<ZkProofGenerator>(LoRAServer.Create(fx.Adapter, dir.Combine("b"), new LoRAServerOptions { MaxProofParallelism = 1 }).Prover);
        Assert.Equal(1, capped.MaxDegreeOfParallelism);
        Assert.Throws<ArgumentOutOfRangeException>(() => LoRAServer.Create(fx.Adapter, dir.Combine("c"), new LoRAServerOptions { MaxProofParallelism = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => LoRAServer.Create(fx.Adapter, dir.Combine("d"), new LoRAServerOptions { ProvingKeyCacheSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => LoRAServer.Create(fx.Adapter, dir.Combine("e"), new LoRAServerOptions { ProjectionCallsPerProof = -1 }));
    }

    [Fact]
    public async Task Default_seam_refuses_a_call_whose_delta_is_not_the_adapters_output_and_keeps_the_session()
    {
        using var dir = new TempDir();
        // A dishonest contributor: the delta of (M0, 0) is off by one in its first value.
        var s = LoRAServer.Create(fx.Adapter, dir.Combine("out"), new LoRAServerOptions(), hooks: new LoRAServerTestHooks { DeltaOverride = (m, i, d) => m == M0 && i == 0 ? d.Select((r, t) => r.Select((v, k) => t == 0 && k == 0 ? v + 1 : v).ToArray()).ToArray() : d });
        s.LoraForward("sess", M0, [1, 32], Rows(1, 1));
        var e = await Assert.ThrowsAsync<ProofGenerationException>(() => s.EndInferenceAsync("sess"));
        Assert.Contains($"sess.{M0}.0", e.Message);
        Assert.Contains("recorded delta differs from the committed adapter's output at row 0, column 0", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(s.ProofDirectory));
        Assert.Single(s.GetRecordedCalls("sess"));
        Assert.Equal(1, s.LoraForward("sess", M0, [1, 32], Rows(1, 1)).Call.InvocationIndex);
    }

    [Fact]
    public void Endpoints_parse()
    {
        Assert.Equal(new ContributorEndpoint("127.0.0.1", 30000), ContributorEndpoint.Parse("127.0.0.1:30000"));
        Assert.Equal(new ContributorEndpoint("::1", 5), ContributorEndpoint.Parse("[::1]:5"));
        Assert.Equal(new ContributorEndpoint("host.example", 65535), ContributorEndpoint.Parse("host.example:65535"));
        foreach (var bad in new[] { "host", ":1", "host:", "host:0", "host:65536", "host:x", "::1:5", "[]:5" })
            Assert.Throws<FormatException>(() => ContributorEndpoint.Parse(bad));
    }
}
