using System.Text;
using ZkLora.Api.Multiparty;
using ZkLora.Model;
using Xunit;

namespace ZkLora.Multiparty.Tests;

/// <summary>
/// <c>proof_progress</c>: the client learns how far a contributor's proving has come while it waits
/// for the <c>end_inference</c> answer; only the session's owner may ask, only while it is proved.
/// </summary>
public class ProofProgressTests(DemoFixture fx) : IClassFixture<DemoFixture>
{
    private static readonly string M0 = DemoModel.AdapterModules[0];
    private const int In = DemoModel.EmbeddingSize;

    private static double[][] Rows(int n) => Enumerable.Range(0, n).Select(_ => Enumerable.Repeat(0.25, In).ToArray()).ToArray();

    /// <summary>Reports one proof of two done, then waits for the test to let it finish.</summary>
    private sealed class GatedProver : IProofGenerator
    {
        public readonly TaskCompletionSource Release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<int> ProveSessionAsync(ProofJob job, IProgress<ProofProgress>? progress, CancellationToken cancellationToken)
        {
            progress?.Report(new ProofProgress(0, job.Calls.Count, null));
            progress?.Report(new ProofProgress(1, job.Calls.Count, $"{M0}#0"));
            await Release.Task.WaitAsync(cancellationToken);
            progress?.Report(new ProofProgress(job.Calls.Count, job.Calls.Count, $"{M0}#1"));
            return job.Calls.Count;
        }
    }

    private sealed class Collect(Action<ContributorProofProgress> onReport) : IProgress<ContributorProofProgress>
    {
        public void Report(ContributorProofProgress value) => onReport(value);
    }

    [Fact]
    public void The_request_and_response_round_trip_strictly()
    {
        var request = Assert.IsType<ProofProgressRequest>(WireMessages.ParseRequest(WireMessages.ProofProgressRequestBytes("s1", "tok")));
        Assert.Equal(("s1", "tok"), (request.SessionId, request.SessionToken));
        var r = new ProofProgressResponse("s1", "proving", 3, 12);
        Assert.Equal(r, WireMessages.ParseProofProgressResponse(WireMessages.ProofProgressResponseBytes(r)));
        Assert.Contains("missing member 'session_token'", Assert.Throws<WireProtocolException>(() =>
            WireMessages.ParseRequest(Encoding.UTF8.GetBytes("""{"type":"proof_progress","session_id":"s1"}"""))).Message);
        Assert.Contains("'done' (4) is above 'total' (3)", Assert.Throws<WireProtocolException>(() =>
            WireMessages.ParseProofProgressResponse(Encoding.UTF8.GetBytes("""{"type":"proof_progress_response","session_id":"s","state":"proving","done":4,"total":3}"""))).Message);
        Assert.Contains("'state' must be", Assert.Throws<WireProtocolException>(() =>
            WireMessages.ParseProofProgressResponse(Encoding.UTF8.GetBytes("""{"type":"proof_progress_response","session_id":"s","state":"done","done":1,"total":3}"""))).Message);
        Assert.Contains("unknown member 'extra'", Assert.Throws<WireProtocolException>(() =>
            WireMessages.ParseProofProgressResponse(Encoding.UTF8.GetBytes("""{"type":"proof_progress_response","session_id":"s","state":"queued","done":0,"total":0,"extra":1}"""))).Message);
    }

    [Fact(Timeout = 60000)]
    public async Task Only_a_session_being_proved_has_progress_and_only_its_owner_may_ask()
    {
        using var cts = Timeouts.Test();
        await using var s = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions(), hooks: new LoRAServerTestHooks { ProofGenerator = new GatedProver() });
        await using var owner = new ContributorConnection(s.Endpoint);
        await owner.LoraForwardAsync("p1", M0, [1, In], Rows(1), cts.Token);
        var notYet = await Assert.ThrowsAsync<WireProtocolException>(() => owner.ProofProgressAsync("p1", cts.Token));
        Assert.Contains("is not being proved", notYet.Message);
        // Another client that opens its own session cannot ask about p1 (no token for it).
        await using var other = new ContributorConnection(s.Endpoint);
        await Assert.ThrowsAsync<InvalidOperationException>(() => other.ProofProgressAsync("p1", cts.Token));
        // A forged token is refused as for every other request.
        using var raw = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        await raw.SendFrameAsync(Encoding.UTF8.GetString(WireMessages.ProofProgressRequestBytes("p1", new string('0', 64))), cts.Token);
        string answer = await raw.ReceiveAsync(cts.Token) ?? "";
        Assert.Contains("the session token is not the one open_session returned", WireMessages.TryGetError(Encoding.UTF8.GetBytes(answer)));
    }

    [Theory(Timeout = 120000)]
    [InlineData(false)]
    [InlineData(true)] // proof_progress goes over its own short connection, which must use TLS with the session's trust too
    public async Task The_client_reports_the_contributors_progress_while_it_waits(bool overTls)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(100));
        var prover = new GatedProver();
        using var cert = TestCertificate.Create();
        await using var server = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions(),
            overTls ? new LoRAServerSocketOptions { TlsCertificate = cert.WithKey } : null, hooks: new LoRAServerTestHooks { ProofGenerator = prover });
        var endpoint = server.Endpoint with { UseTls = overTls };
        using var model = Gpt2Model.Load(fx.Paths.ModelDirectory);
        await using var client = new BaseModelClient(model, [endpoint], CombineMode.AddDelta, "progress-1");
        if (overTls) client.TlsOptions = new ContributorTlsOptions { TrustedCertificates = [cert.Public] };
        await client.InitAndPatchAsync(cts.Token);
        await client.ForwardLossAsync(DemoModel.SampleText, cts.Token);
        var reports = new List<ContributorProofProgress>();
        // Released only once the client has seen the half-way report: no timing assumption.
        client.ProofProgress = new Collect(p =>
        {
            lock (reports) reports.Add(p);
            if (p.Done == 1) prover.Release.TrySetResult();
        });
        client.ProgressPollInterval = TimeSpan.FromMilliseconds(20);
        var outcomes = await client.EndInferenceAsync(cts.Token);
        Assert.Equal(2, Assert.Single(outcomes.EnsureAllSucceeded()).ProofsWritten);
        lock (reports)
        {
            var half = Assert.Single(reports, r => r.Done == 1);
            Assert.Equal(new ContributorProofProgress(endpoint, "proving", 1, 2), half);
            Assert.All(reports, r => Assert.Equal(endpoint, r.Contributor));
        }
    }
}
