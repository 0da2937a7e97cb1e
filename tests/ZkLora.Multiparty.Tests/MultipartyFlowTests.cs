using System.Numerics;
using ZkLora.Api;
using ZkLora.Api.Multiparty;
using ZkLora.Model;
using ZkLora.Proofs;
using InferenceTranscript = ZkLora.Api.InferenceTranscript;
using Xunit;
using static TorchSharp.torch;

namespace ZkLora.Multiparty.Tests;

/// <summary>The whole inference flow over real loopback sockets with the demo model.</summary>
public class MultipartyFlowTests(DemoFixture fx) : IClassFixture<DemoFixture>
{
    private static readonly string M0 = DemoModel.AdapterModules[0];
    private static readonly string M1 = DemoModel.AdapterModules[1];

    /// <summary>
    /// The same fixed-point pipeline computed locally, without the network: quantize x, exact delta
    /// from the quantized weights, dequantize, combine.
    /// </summary>
    private static void PatchLocally(Gpt2Model model, LoraAdapter adapter, CombineMode mode)
    {
        var cfg = FixedPoint.defaultConfig;
        foreach (var m in adapter.Modules)
        {
            BigInteger[][] Q(double[][] w) => w.Select(r => r.Select(v => FixedPoint.quantize(cfg, v).ResultValue).ToArray()).ToArray();
            var a = Q(m.A);
            var b = Q(m.B);
            var s = FixedPoint.scaling(m.Scaling.Numerator, m.Scaling.Denominator).ResultValue;
            model.Patch(m.Name, (input, baseOutput) =>
            {
                var x = Q(TensorRows.ToRows(input));
                var delta = FixedPoint.deltaRows(cfg, a, b, x, s.Num, s.Den).ResultValue;
                var values = delta.Select(r => r.Select(v => FixedPoint.dequantize(cfg, v)).ToArray()).ToArray();
                var t = TensorRows.FromRows(values, baseOutput.shape, baseOutput.dtype);
                return mode == CombineMode.AddDelta ? baseOutput.add(t) : t;
            });
        }
    }

    [Fact(Timeout = 240000)]
    public async Task Two_contributors_serve_the_adapter_and_the_transcript_matches_their_records()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(200));
        // PLONK (one proof per call), so that a union manifest of both contributors can be pinned below: a
        // projection manifest's adapter proofs are bound to its own digest (ProjectionFlowTests covers two
        // projection contributors, each pinned by its own manifest).
        await using var a = await RunningServer.StartAsync(fx.Adapter, TestServerOptions.Plonk with { Modules = [M0] });
        await using var b = await RunningServer.StartAsync(fx.Adapter, TestServerOptions.Plonk with { Modules = [M1] });
        using var model = Gpt2Model.Load(fx.Paths.ModelDirectory);
        await using var client = new BaseModelClient(model, [a.Endpoint, b.Endpoint], CombineMode.AddDelta, "flow-1");
        await client.InitAndPatchAsync(cts.Token);
        Assert.Equal(a.Endpoint, client.ModuleOwners[M0]);
        Assert.Equal(b.Endpoint, client.ModuleOwners[M1]);
        Assert.Equal(a.Server.ManifestDigest, client.ManifestDigests[a.Endpoint]);
        Assert.Equal(b.Server.ManifestDigest, client.ManifestDigests[b.Endpoint]);

        double loss = await client.ForwardLossAsync(DemoModel.SampleText, cts.Token);

        // (1) Exactly the local fixed-point pipeline: the network changes no bit.
        using (var local = Gpt2Model.Load(fx.Paths.ModelDirectory))
        {
            PatchLocally(local, fx.Adapter, CombineMode.AddDelta);
            Assert.Equal(local.Loss(DemoModel.SampleText), loss);
        }
        // (2) Close to PEFT's merged adapter. x and the weights are quantized to 2^-20 ≈ 1e-6 and
        // the two rescalings round to 2^-20 too, so every delta is within ~1e-5 of the float
        // delta (|x| ≲ 3, |A|,|B| ≤ 0.1, in_dim 32, rank 4); through two layers and the softmax
        // that moves the loss by well under 1e-3, and float32 evaluation adds ~1e-6.
        using (var merged = model.WithMergedAdapter(fx.Adapter))
        {
            double mergedLoss = merged.Loss(DemoModel.SampleText);
            Assert.InRange(System.Math.Abs(loss - mergedLoss), 0, 1e-3);
            using var plain = Gpt2Model.Load(fx.Paths.ModelDirectory);
            // The adapter really changes the result (so (2) is not vacuous).
            Assert.True(System.Math.Abs(plain.Loss(DemoModel.SampleText) - mergedLoss) > 100 * System.Math.Abs(loss - mergedLoss));
        }

        // (3) B's transcript holds exactly what each contributor recorded.
        var transcript = client.GetTranscript();
        Assert.Equal(2, transcript.Entries.Count);
        foreach (var e in transcript.Entries)
        {
            var server = e.ModuleName == M0 ? a.Server : b.Server;
            var call = Assert.Single(server.GetRecordedCalls("flow-1"));
            Assert.Equal(call.ModuleName, e.ModuleName);
            Assert.Equal(0, e.InvocationIndex);
            Assert.Equal(call.InvocationIndex, e.InvocationIndex);
            Assert.Equal(call.InputShape, e.InputShape);
            Assert.Equal(call.OutputShape, e.OutputShape);
            long tokens = model.Tokenizer!.Encode(DemoModel.SampleText).Count;
            Assert.Equal(new long[] { 1, tokens, DemoModel.EmbeddingSize }, e.InputShape);
            Assert.Equal(new long[] { 1, tokens, 3 * DemoModel.EmbeddingSize }, e.OutputShape);
            Assert.Equal(call.X, e.X);
            Assert.Equal(call.Delta, e.Delta);
            Assert.Equal(call.Scaling, e.Scaling);
            Assert.Equal(new BigInteger(2), e.Scaling.Numerator); // lora_alpha 8 / r 4
            Assert.Equal(call.FixedPoint, e.FixedPoint);
            Assert.Equal(call.ToTranscriptEntry().X, e.X);
        }
        Assert.Equal(a.Server.GetRecordedCalls("flow-1").Concat(b.Server.GetRecordedCalls("flow-1")).Count(), transcript.Entries.Count);

        // (4) The transcript file is the strict Proofs format and reads back identically.
        using var dir = new TempDir();
        string path = dir.Combine("t", "transcript.json");
        client.WriteTranscript(path);
        var read = InferenceTranscript.Read(path);
        Assert.Equal(transcript.Digest, read.Digest);
        Assert.Equal(transcript.ToJson(), File.ReadAllText(path));
        // ... and the F# reader, the verifier's, agrees on the digest.
        Assert.Equal(InferenceTranscriptModule.digest(InferenceTranscriptModule.readFile(path).ResultValue).ResultValue, read.Digest);

        // (5) A second pass continues the invocation indices.
        await client.ForwardLossAsync("the dog ran", cts.Token);
        var t2 = client.GetTranscript();
        Assert.Equal(4, t2.Entries.Count);
        Assert.Equal(new long[] { 0, 1 }, t2.Entries.Where(e => e.ModuleName == M0).Select(e => e.InvocationIndex));
        Assert.Equal(new long[] { 0, 1 }, a.Server.GetRecordedCalls("flow-1").Select(c => c.InvocationIndex));

        // (6) end_inference: each contributor proves its own calls of this session.
        var outcomes = await client.EndInferenceAsync(cts.Token);
        Assert.Equal(2, outcomes.Count);
        foreach (var o in outcomes)
        {
            Assert.Null(o.Error);
            Assert.Equal(new EndInferenceResponse("flow-1", 2, 2), o.Response);
        }
        Assert.Equal(6, Directory.GetFiles(a.Server.ProofDirectory).Length);
        Assert.Equal(6, Directory.GetFiles(b.Server.ProofDirectory).Length);

        // (7) The verifier pinned both contributors' manifests; it checks both proof directories
        // against B's transcript.
        string pinnedA = dir.Combine("pinned-a.json"), pinnedB = dir.Combine("pinned-b.json");
        a.Server.WriteManifest(pinnedA);
        b.Server.WriteManifest(pinnedB);
        string t2Path = dir.Combine("t2.json");
        client.WriteTranscript(t2Path);
        var verified = ZkLora.Api.ProofVerification.BatchVerifyProofs([a.Server.ProofDirectory, b.Server.ProofDirectory], t2Path, [pinnedA, pinnedB]);
        Assert.Equal(4, verified.ProofCount);
        // The same with the union manifest and the artifacts gathered in one directory.
        string proofs = dir.Combine("all-proofs");
        Directory.CreateDirectory(proofs);
        foreach (var f in Directory.GetFiles(a.Server.ProofDirectory).Concat(Directory.GetFiles(b.Server.ProofDirectory)))
            File.Copy(f, Path.Combine(proofs, Path.GetFileName(f)));
        string pinned = dir.Combine("pinned.json");
        var union = new ZkLora.Api.AdapterManifest(a.Server.Manifest.Adapters.Concat(b.Server.Manifest.Adapters));
        union.Write(pinned);
        Assert.Equal(2, union.Adapters.Count);
        Assert.Equal(4, ZkLora.Api.ProofVerification.BatchVerifyProofs(proofs, t2Path, pinned).ProofCount);
        // A directory given twice holds every statement twice.
        var dup = Assert.Throws<ZkLora.Api.ProofVerificationException>(() =>
            ZkLora.Api.ProofVerification.BatchVerifyProofs([a.Server.ProofDirectory, b.Server.ProofDirectory, proofs], t2Path, [pinnedA, pinnedB]));
        Assert.Equal(ZkLora.Api.ProofVerificationFailure.Coverage, dup.Reason);
        Assert.Contains("duplicate statement", dup.Message);
        // Against one contributor's manifest only, the other's module is not pinned: rejected.
        var rejected = Assert.Throws<ZkLora.Api.ProofVerificationException>(() => ZkLora.Api.ProofVerification.BatchVerifyProofs(proofs, t2Path, pinnedA));
        Assert.Equal(ZkLora.Api.ProofVerificationFailure.ManifestMismatch, rejected.Reason);
    }

    [Fact(Timeout = 60000)]
    public async Task Replace_mode_uses_the_contributors_output_as_the_module_output()
    {
        using var cts = Timeouts.Test();
        await using var s = await RunningServer.StartAsync(fx.Adapter);
        using var model = Gpt2Model.Load(fx.Paths.ModelDirectory);
        await using var client = new BaseModelClient(model, [s.Endpoint], CombineMode.Replace);
        await client.InitAndPatchAsync(cts.Token);
        double loss = await client.ForwardLossAsync(DemoModel.SampleText, cts.Token);
        using var local = Gpt2Model.Load(fx.Paths.ModelDirectory);
        PatchLocally(local, fx.Adapter, CombineMode.Replace);
        Assert.Equal(local.Loss(DemoModel.SampleText), loss);
        Assert.Equal(2, s.Server.GetRecordedCalls(client.SessionId).Count);
    }

    [Fact(Timeout = 60000)]
    public async Task A_module_announced_by_two_contributors_is_an_error()
    {
        using var cts = Timeouts.Test();
        await using var a = await RunningServer.StartAsync(fx.Adapter);
        await using var b = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions { Modules = [M1] });
        using var model = Gpt2Model.Load(fx.Paths.ModelDirectory);
        await using var client = new BaseModelClient(model, [a.Endpoint, b.Endpoint]);
        var e = await Assert.ThrowsAsync<ContributorException>(() => client.InitAndPatchAsync(cts.Token));
        Assert.Contains($"'{M1}' is announced by both", e.Message);
        Assert.Empty(model.PatchedModuleNames);
    }

    [Fact(Timeout = 60000)]
    public async Task An_unreachable_contributor_is_reported()
    {
        using var cts = Timeouts.Test();
        int port;
        await using (var s = await RunningServer.StartAsync(fx.Adapter)) port = s.Endpoint.Port;
        using var model = Gpt2Model.Load(fx.Paths.ModelDirectory);
        await using var client = new BaseModelClient(model, [new ContributorEndpoint("127.0.0.1", port)]);
        var e = await Assert.ThrowsAsync<ContributorException>(() => client.InitAndPatchAsync(cts.Token));
        Assert.Contains("init_request failed", e.Message);
    }

    [Fact(Timeout = 60000)]
    public async Task Concurrent_sessions_do_not_see_each_others_calls()
    {
        using var cts = Timeouts.Test();
        await using var s = await RunningServer.StartAsync(fx.Adapter);
        var cfg = FixedPoint.defaultConfig;

        async Task<List<double[][]>> Run(string session, int seed)
        {
            var rng = new Random(seed);
            var sent = new List<double[][]>();
            await using var conn = new ContributorConnection(s.Endpoint);
            for (int i = 0; i < 12; i++)
            {
                var rows = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, DemoModel.EmbeddingSize).Select(_ => (double)(float)(rng.NextDouble() * 4 - 2)).ToArray()).ToArray();
                string module = i % 3 == 0 ? M1 : M0;
                var r = await conn.LoraForwardAsync(session, module, [3, DemoModel.EmbeddingSize], rows, cts.Token);
                Assert.Equal(session, r.SessionId);
                sent.Add(rows);
            }
            return sent;
        }

        var runs = await Task.WhenAll(Run("alice", 1), Run("bob", 2), Run("carol", 3));
        string[] names = ["alice", "bob", "carol"];
        for (int k = 0; k < names.Length; k++)
        {
            var calls = s.Server.GetRecordedCalls(names[k]);
            Assert.Equal(12, calls.Count);
            Assert.All(calls, c => Assert.Equal(names[k], c.SessionId));
            Assert.Equal(Enumerable.Range(0, 8).Select(i => (long)i), calls.Where(c => c.ModuleName == M0).Select(c => c.InvocationIndex));
            Assert.Equal(Enumerable.Range(0, 4).Select(i => (long)i), calls.Where(c => c.ModuleName == M1).Select(c => c.InvocationIndex));
            // Every recorded input is the quantization of what this session sent, in order.
            for (int i = 0; i < 12; i++)
            {
                var expected = runs[k][i].Select(r => r.Select(v => FixedPoint.quantize(cfg, v).ResultValue).ToArray()).ToArray();
                Assert.Equal(expected, calls[i].X);
            }
        }
        Assert.Empty(s.Server.GetRecordedCalls("dave"));
    }

    [Fact(Timeout = 60000)]
    public async Task Two_clients_with_their_own_models_run_at_the_same_time()
    {
        using var cts = Timeouts.Test();
        await using var s = await RunningServer.StartAsync(fx.Adapter);
        async Task<(double, ZkLora.Api.InferenceTranscript)> Run(string text)
        {
            using var model = Gpt2Model.Load(fx.Paths.ModelDirectory);
            await using var client = new BaseModelClient(model, [s.Endpoint]);
            await client.InitAndPatchAsync(cts.Token);
            double loss = await client.ForwardLossAsync(text, cts.Token);
            return (loss, client.GetTranscript());
        }
        var results = await Task.WhenAll(Run(DemoModel.SampleText), Run("in the sun"), Run(DemoModel.SampleText));
        Assert.Equal(results[0].Item1, results[2].Item1);
        var sessions = results.Select(r => r.Item2.Entries.Select(e => e.SessionId).Distinct().Single()).ToList();
        Assert.Equal(3, sessions.Distinct().Count());
        for (int i = 0; i < 3; i++)
        {
            var calls = s.Server.GetRecordedCalls(sessions[i]);
            Assert.Equal(results[i].Item2.Entries.Count, calls.Count);
            foreach (var e in results[i].Item2.Entries)
                Assert.Equal(e.X, calls.Single(c => c.ModuleName == e.ModuleName && c.InvocationIndex == e.InvocationIndex).X);
        }
    }
}
