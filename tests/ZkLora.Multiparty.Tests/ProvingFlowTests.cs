using System.Numerics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ZkLora.Api;
using ZkLora.Api.Multiparty;
using ZkLora.Model;
using Xunit;

namespace ZkLora.Multiparty.Tests;

/// <summary>
/// One proved session of the demo model over loopback with a PLONK-backend server (the
/// zero-knowledge prover): manifest pinned before inference, client run, end_inference, transcript.
/// </summary>
public sealed class ProvedSessionFixture : DemoSessionFixture
{
    public List<ProofProgress> Progress { get; } = new();

    protected override string SessionId => "proved-1";
    protected override IReadOnlyList<string> Texts => [DemoModel.SampleText];
    protected override TimeSpan Timeout => TimeSpan.FromMinutes(3);
    // The PLONK backend (one proof per call); ProjectionFlowTests covers the default projection backend.
    protected override LoRAServerOptions ServerOptions => TestServerOptions.Plonk with { ProofProgress = new Sink(Progress) };

    private sealed class Sink(List<ProofProgress> list) : IProgress<ProofProgress>
    {
        public void Report(ProofProgress value) { lock (list) list.Add(value); }
    }
}

public class ProvingFlowTests(ProvedSessionFixture fx) : IClassFixture<ProvedSessionFixture>
{
    [Fact]
    public void The_PLONK_server_proves_every_call_and_the_proofs_verify()
    {
        Assert.Equal(new EndInferenceResponse("proved-1", 2, 2), fx.Response);
        Assert.Equal(6, Directory.GetFiles(fx.ProofDirectory).Length);
        lock (fx.Progress) Assert.Contains(fx.Progress, p => p.Done == 2 && p.Total == 2);
        var r = ProofVerification.BatchVerifyProofs(fx.ProofDirectory, fx.TranscriptPath, fx.PinnedManifestPath);
        Assert.Equal(2, r.ProofCount);
        Assert.Equal(1, r.CircuitCount);
        Assert.True(r.TotalTime > TimeSpan.Zero);
    }

    [Fact]
    public async Task Asynchronous_verification_agrees_and_can_be_cancelled_between_steps()
    {
        var r = await ProofVerification.BatchVerifyProofsAsync(fx.ProofDirectory, fx.TranscriptPath, fx.PinnedManifestPath);
        Assert.Equal((2, 1), (r.ProofCount, r.CircuitCount));

        // Cancelled at the first logged step (the parameter policy's report of the first module,
        // logged before any statement or proof is read): the proofs are never verified.
        using var cts = new CancellationTokenSource();
        var log = new CancellingLogger(cts);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            ProofVerification.BatchVerifyProofsAsync([fx.ProofDirectory], fx.TranscriptPath, [fx.PinnedManifestPath], log, cts.Token));
        Assert.Single(log.Lines);
        Assert.StartsWith("module ", log.Lines[0]);

        // A host logger that filters every step out still sees cancellation observed between steps.
        using var cts2 = new CancellationTokenSource();
        cts2.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            ProofVerification.BatchVerifyProofsAsync([fx.ProofDirectory], fx.TranscriptPath, [fx.PinnedManifestPath], NullLogger.Instance, cts2.Token));
    }

    /// <summary>Records logged messages and cancels on the first one.</summary>
    private sealed class CancellingLogger(CancellationTokenSource cts) : ILogger
    {
        public List<string> Lines { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            Lines.Add(formatter(state, exception));
            cts.Cancel();
        }
    }

    [Fact]
    public void A_manifest_swapped_after_inference_is_rejected()
    {
        // The same adapter committed under fresh salts: same shapes, config and scaling, other commitments.
        var other = LoRAServer.Create(fx.Adapter, fx.Combine("other-" + Guid.NewGuid().ToString("N")), TestServerOptions.Plonk);
        string swapped = fx.Combine("swapped-" + Guid.NewGuid().ToString("N") + ".json");
        other.WriteManifest(swapped);
        Assert.NotEqual(AdapterManifest.Read(fx.PinnedManifestPath).Digest, other.ManifestDigest);
        var e = Assert.Throws<ProofVerificationException>(() => ProofVerification.BatchVerifyProofs(fx.ProofDirectory, fx.TranscriptPath, swapped));
        Assert.Equal(ProofVerificationFailure.ManifestMismatch, e.Reason);
        Assert.Contains("adapter_commitment", e.Message);
    }

    [Fact]
    public void A_transcript_altered_after_inference_is_rejected()
    {
        var t = InferenceTranscript.Read(fx.TranscriptPath);
        var e0 = t.Entries[0];
        var delta = e0.Delta.Select((r, i) => r.Select((v, k) => i == 0 && k == 0 ? v + BigInteger.One : v).ToArray()).ToArray();
        var changed = new InferenceTranscriptEntry(e0.SessionId, e0.ModuleName, e0.InvocationIndex, e0.InputShape, e0.OutputShape, e0.X, delta, e0.FixedPoint, e0.Scaling);
        string path = fx.Combine("altered-" + Guid.NewGuid().ToString("N") + ".json");
        new InferenceTranscript(t.Entries.Skip(1).Prepend(changed)).Write(path);
        var e = Assert.Throws<ProofVerificationException>(() => ProofVerification.BatchVerifyProofs(fx.ProofDirectory, path, fx.PinnedManifestPath));
        Assert.Equal(ProofVerificationFailure.StatementMismatch, e.Reason);
        Assert.Contains("delta", e.Message);
    }

    [Fact]
    public void The_verify_command_prints_the_outcome_and_sets_the_exit_code()
    {
        Assert.Equal(0, ZkLora.Cli.VerifyCommand.Run(fx.ProofDirectory, fx.TranscriptPath, fx.PinnedManifestPath, verbose: false));
        Assert.Equal(2, ZkLora.Cli.VerifyCommand.Run(fx.ProofDirectory, fx.TranscriptPath, fx.TranscriptPath, verbose: false));
        Assert.Equal(2, ZkLora.Cli.VerifyCommand.Run(fx.Combine("no-such-dir"), fx.TranscriptPath, fx.PinnedManifestPath, verbose: false));
    }
}

public class ParameterPolicyVerificationTests(ProvedSessionFixture fx) : IClassFixture<ProvedSessionFixture>
{
    [Fact]
    public void A_policy_narrower_than_the_contributors_parameters_rejects_before_any_proof_is_read()
    {
        var narrow = new ProofVerificationOptions { ParameterPolicy = ParameterPolicy.Standard with { MaxIntermediateBits = 100 } };
        var e = Assert.Throws<ProofVerificationException>(() =>
            ProofVerification.BatchVerifyProofs([fx.ProofDirectory], fx.TranscriptPath, [fx.PinnedManifestPath], narrow));
        Assert.Equal(ProofVerificationFailure.OutsidePolicy, e.Reason);
        Assert.Contains("intermediate_bits = 127 is above the verifier's limit 100", e.Message);
        // Before any proof: the same refusal with an empty proof directory, not a coverage failure.
        string empty = fx.Combine("empty-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(empty);
        Assert.Equal(ProofVerificationFailure.OutsidePolicy, Assert.Throws<ProofVerificationException>(() =>
            ProofVerification.BatchVerifyProofs([empty], fx.TranscriptPath, [fx.PinnedManifestPath], narrow)).Reason);
        Assert.Throws<ArgumentOutOfRangeException>(() => ProofVerification.BatchVerifyProofs([fx.ProofDirectory], fx.TranscriptPath, [fx.PinnedManifestPath],
            new ProofVerificationOptions { ParameterPolicy = ParameterPolicy.Standard with { MaxIntermediateBits = 251 } }));
    }

    [Fact]
    public async Task The_logger_receives_each_modules_config_and_scaling_and_each_step_as_structured_information()
    {
        var log = new CapturingLogger();
        var r = await ProofVerification.BatchVerifyProofsAsync([fx.ProofDirectory], fx.TranscriptPath, [fx.PinnedManifestPath],
            new ProofVerificationOptions { Logger = log }, CancellationToken.None);
        Assert.Equal(2, r.ProofCount);
        Assert.All(log.Entries, e => Assert.Equal(LogLevel.Information, e.Level));
        var transcript = InferenceTranscript.Read(fx.TranscriptPath);
        var modules = transcript.Entries.Select(e => e.ModuleName).Distinct().Order().ToList();
        var policy = log.Entries.Where(e => e.EventId.Name == "ModulePolicy").ToList();
        Assert.Equal(modules, policy.Select(e => (string)e.Values["Module"]!).Order());
        Assert.All(policy, e =>
        {
            Assert.Equal((20, 63, 127), ((int)e.Values["ScaleBits"]!, (int)e.Values["ValueBits"]!, (int)e.Values["IntermediateBits"]!));
            Assert.Equal($"module {e.Values["Module"]}: fixed-point config (scale_bits 20, value_bits 63, intermediate_bits 127), scaling 2/1", e.Message);
        });
        // every statement and the proofs, keyed by their values
        var statements = log.Entries.Where(e => e.EventId.Name is "StatementMatches" or "ProjectionStatementMatches").ToList();
        Assert.NotEmpty(statements);
        Assert.All(statements, e => Assert.Contains((string)e.Values["Module"]!, modules));
        Assert.All(statements, e => Assert.Equal(transcript.Entries[0].SessionId, e.Values["SessionId"]));
        Assert.Contains(log.Entries, e => e.EventId.Name is "CircuitProofsVerify" or "ProjectionProofsVerify");
        // without a logger nothing is logged anywhere, and the result is the same
        Assert.Equal(2, ProofVerification.BatchVerifyProofs(fx.ProofDirectory, fx.TranscriptPath, fx.PinnedManifestPath).ProofCount);
    }

    [Fact]
    public void Zklora_verify_applies_the_policy_and_its_overrides()
    {
        int Run(params string[] extra) => ZkLora.Cli.ZkLoraCommand.Build()
            .Parse(["verify", "--proof-dir", fx.ProofDirectory, "--transcript", fx.TranscriptPath, "--expected-adapters", fx.PinnedManifestPath, .. extra])
            .Invoke();
        Assert.Equal(0, Run());
        Assert.Equal(1, Run("--max-intermediate-bits", "100"));
        Assert.Equal(1, Run("--max-scaling-bits", "0")); // the demo's scaling is 2/1
        Assert.Equal(0, Run("--max-scaling-bits", "1"));
        Assert.Equal(2, Run("--max-intermediate-bits", "300")); // the policy itself is out of range
    }
}

public class DishonestContributorTests(DemoFixture fx) : IClassFixture<DemoFixture>
{
    [Fact(Timeout = 120000)]
    public async Task A_contributor_returning_a_wrong_delta_for_one_call_is_caught()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(100));
        string target = DemoModel.AdapterModules[1];
        await using var server = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions(), hooks: new LoRAServerTestHooks
        {
            // One value of one call is shifted by 2^-20 (one quantum): invisible in the loss, fatal for the proof.
            DeltaOverride = (m, i, d) => m == target && i == 0 ? d.Select((r, t) => r.Select((v, k) => t == 1 && k == 5 ? v + 1 : v).ToArray()).ToArray() : d,
        });
        using var dir = new TempDir();
        string pinned = dir.Combine("pinned.json");
        server.Server.WriteManifest(pinned);
        using var model = Gpt2Model.Load(fx.Paths.ModelDirectory);
        await using var client = new BaseModelClient(model, [server.Endpoint], CombineMode.AddDelta, "dishonest");
        await client.InitAndPatchAsync(cts.Token);
        await client.ForwardLossAsync(DemoModel.SampleText, cts.Token);
        string transcript = dir.Combine("transcript.json");
        client.WriteTranscript(transcript);

        // The contributor cannot prove the wrong delta: end_inference fails and names the call.
        var outcomes = await client.EndInferenceAsync(cts.Token);
        var outcome = Assert.Single(outcomes);
        Assert.Null(outcome.Response);
        Assert.Contains($"dishonest.{target}.0", outcome.Error);
        // A caller that checks with EnsureAllSucceeded cannot miss it.
        Assert.Contains($"dishonest.{target}.0", Assert.Throws<ContributorException>(() => outcomes.EnsureAllSucceeded()).Message);
        Assert.Contains("recorded delta differs from the committed adapter's output at row 1, column 5", outcome.Error);

        // And the verifier never accepts: nothing covers the transcript's rows.
        var e = Assert.Throws<ProofVerificationException>(() => ProofVerification.BatchVerifyProofs(server.Server.ProofDirectory, transcript, pinned));
        Assert.Equal(ProofVerificationFailure.Coverage, e.Reason);
    }
}

public class DemoCommandTests
{
    [Fact(Timeout = 300000)]
    public async Task Zklora_demo_runs_the_whole_flow_to_success_and_keeps_its_artifacts()
    {
        using var dir = new TempDir();
        string outDir = dir.Combine("demo-out");
        int rc = await ZkLora.Cli.DemoCommand.RunAsync(outDir, DemoModel.SampleText, CancellationToken.None);
        Assert.Equal(0, rc);
        string proofs = Path.Combine(outDir, "contributor", "proofs");
        // two projection proofs × (statement, proof, meta) and the published adapter proofs
        Assert.Equal(7, Directory.GetFiles(proofs).Length);
        string transcript = Path.Combine(outDir, "user", "transcript.json");
        string pinned = Path.Combine(outDir, "verifier", "pinned-manifest.json");
        Assert.Equal(2, ProofVerification.BatchVerifyProofs(proofs, transcript, pinned).ProofCount);
    }

    [Fact(Timeout = 300000)]
    public async Task Zklora_demo_arch_llama_runs_the_whole_flow_to_success()
    {
        using var dir = new TempDir();
        string outDir = dir.Combine("demo-llama");
        int rc = await ZkLora.Cli.DemoCommand.RunAsync(outDir, DemoModel.SampleText, CancellationToken.None, llama: true);
        Assert.Equal(0, rc);
        string proofs = Path.Combine(outDir, "contributor", "proofs");
        string transcript = Path.Combine(outDir, "user", "transcript.json");
        string pinned = Path.Combine(outDir, "verifier", "pinned-manifest.json");
        Assert.Equal(LlamaDemoModel.AdapterModules.Count, ProofVerification.BatchVerifyProofs(proofs, transcript, pinned).ProofCount);
    }
}
