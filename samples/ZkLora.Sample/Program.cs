// zkLoRA for .NET — a C# consumer of the NuGet packages.
//
//   ZkLora.Sample [--out-dir DIR] [--text TEXT]
//       A LoRA contributor and a base-model user in this process, on the built-in demo model:
//       the contributor commits to its adapter (the verifier pins the manifest before inference),
//       serves it over a loopback socket, the user runs GPT-2 with the contributor's deltas, the
//       contributor proves every call, and the proofs are verified.
//   ZkLora.Sample verify <proof-dir> <transcript.json> <pinned-manifest.json>
//       Verifies a proof directory given on the command line (the same code as the verify-only
//       sample, samples/ZkLora.VerifySample, which needs the ZkLora.Verification package alone).
//
// Exit codes: 0 verified, 1 rejected or failed, 2 usage error.
using System.Globalization;
using System.Net;
using ZkLora.Api;
using ZkLora.Api.Multiparty;
using ZkLora.Model;
using ZkLora.Samples;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };

try
{
    if (args is ["verify", ..])
        return args is [_, var proofDir, var transcript, var manifest]
            ? await SampleVerifier.VerifyAsync(proofDir, transcript, manifest, cancel.Token)
            : Usage("verify takes <proof-dir> <transcript.json> <pinned-manifest.json>");
    return TryParseRunOptions(args, out string? outDir, out string text, out string? problem)
        ? await RunBothPartiesAsync(outDir, text, cancel.Token)
        : Usage(problem);
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("cancelled");
    return 1;
}

static int Usage(string? problem)
{
    if (problem is not null) Console.Error.WriteLine($"error: {problem}");
    Console.Error.WriteLine("usage: ZkLora.Sample [--out-dir DIR] [--text TEXT]");
    Console.Error.WriteLine("       ZkLora.Sample verify <proof-dir> <transcript.json> <pinned-manifest.json>");
    return 2;
}

static bool TryParseRunOptions(string[] args, out string? outDir, out string text, out string? problem)
{
    outDir = null;
    text = "the cat sat on the mat";
    problem = null;
    for (int i = 0; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--out-dir" when i + 1 < args.Length: outDir = args[++i]; break;
            case "--text" when i + 1 < args.Length: text = args[++i]; break;
            default: problem = $"unexpected argument '{args[i]}'"; return false;
        }
    }
    return true;
}

static async Task<int> RunBothPartiesAsync(string? outDir, string text, CancellationToken ct)
{
    string work = outDir is null
        ? Directory.CreateTempSubdirectory("zklora-sample-").FullName
        : Directory.CreateDirectory(outDir).FullName;
    Console.WriteLine($"zkLoRA sample, library {ZkLoraInfo.Version}, artifacts in {work}");

    DemoModelPaths demo = DemoModel.Create(Path.Combine(work, "demo"), overwrite: true);

    // Contributor (A): commit to the adapter. The verifier keeps this manifest from before inference.
    var options = new LoRAServerOptions
    {
        ProofProgress = new Progress<ProofProgress>(p => { if (p.Current is not null) Console.WriteLine($"  proved {p.Current} ({p.Done}/{p.Total})"); }),
    };
    LoRAServer server = LoRAServer.Load(demo.AdapterDirectory, Path.Combine(work, "contributor"), demo.ModelDirectory, options);
    string pinnedManifest = Path.Combine(work, "pinned-manifest.json");
    server.WriteManifest(pinnedManifest);
    Console.WriteLine($"contributor: manifest {server.ManifestDigest} pinned at {pinnedManifest}");

    await using var socket = new LoRAServerSocket(server, new IPEndPoint(IPAddress.Loopback, 0));
    await socket.StartAsync(ct);
    var endpoint = new ContributorEndpoint("127.0.0.1", socket.LocalEndPoint.Port);
    Console.WriteLine($"contributor: serving on {socket.LocalEndPoint}");

    // Base-model user (B): run GPT-2 with the contributor's deltas and keep the transcript.
    string transcript = Path.Combine(work, "transcript.json");
    await using (var client = BaseModelClient.Load(demo.ModelDirectory, [endpoint]))
    {
        await client.InitAndPatchAsync(ct);
        if (client.ManifestDigests[endpoint] != server.ManifestDigest)
        {
            Console.Error.WriteLine("the contributor announces another manifest than the pinned one");
            return 1;
        }
        double loss = await client.ForwardLossAsync(text, ct);
        client.WriteTranscript(transcript);
        Console.WriteLine($"user: loss {loss.ToString("F6", CultureInfo.InvariantCulture)}, transcript {transcript}");

        foreach (EndInferenceOutcome outcome in await client.EndInferenceAsync(ct))
        {
            if (outcome.Response is null)
            {
                Console.Error.WriteLine($"end_inference failed at {outcome.Contributor}: {outcome.Error}");
                return 1;
            }
            Console.WriteLine($"contributor: {outcome.Response.ProofsWritten} proofs written to {server.ProofDirectory}");
        }
    }
    await socket.StopAsync(ct);

    // Verifier: the proofs against B's transcript and the manifest pinned before inference.
    int verified = await SampleVerifier.VerifyAsync(server.ProofDirectory, transcript, pinnedManifest, ct);
    if (verified == 0)
        Console.WriteLine($"to verify again: ZkLora.Sample verify {server.ProofDirectory} {transcript} {pinnedManifest}");
    return verified;
}
