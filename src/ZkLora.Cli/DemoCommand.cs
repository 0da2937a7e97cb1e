using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Spectre.Console;
using ZkLora.Api;
using ZkLora.Api.Multiparty;
using ZkLora.Model;

namespace ZkLora.Cli;

/// <summary>
/// <c>zklora demo [--out-dir D]</c>: the whole protocol on the built-in demo model in one process —
/// commit and pin the manifest, serve over loopback, run the base model with the contributor's
/// deltas, prove at end_inference, verify against the transcript and the pinned manifest.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var outDir = new Option<string?>("--out-dir") { Description = "Keep every artifact in this folder (default: a temporary folder, deleted at the end)." };
        var text = new Option<string>("--text") { Description = "Text to run the model on.", DefaultValueFactory = _ => DemoModel.SampleText };
        var arch = new Option<string>("--arch") { Description = "gpt2 (default) or llama: which built-in demo model to run.", DefaultValueFactory = _ => "gpt2" };
        arch.AcceptOnlyFromAmong("gpt2", "llama");
        var backend = BackendOption.Create();
        var command = new Command("demo",
            "Run the whole zkLoRA flow on the built-in demo model in one process: commit, pin the manifest, infer over a loopback " +
            "socket, prove every module call at end_inference, and verify the proofs. Exit 0 when everything verifies.")
        {
            outDir, text, arch, backend,
        };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(outDir), parse.GetValue(text)!, ct, parse.GetValue(arch) == "llama", BackendOption.Read(parse, backend)));
        return command;
    }

    private sealed class ProgressSink(Action<ProofProgress> report) : IProgress<ProofProgress>
    {
        public void Report(ProofProgress value) => report(value);
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture) + " s";

    /// <summary>Runs the demo; returns the exit code (0 when the proofs verify).</summary>
    public static async Task<int> RunAsync(string? outDir, string text, CancellationToken ct, bool llama = false, ProofBackend backend = ProofBackend.Projection)
    {
        bool keep = outDir is not null;
        string root = Path.GetFullPath(outDir ?? Path.Combine(Path.GetTempPath(), "zklora-demo-" + Guid.NewGuid().ToString("N")));
        var total = Stopwatch.StartNew();
        var step = Stopwatch.StartNew();
        void Done(string what)
        {
            Console.WriteLine($"   {what} ({Seconds(step.Elapsed)})");
            step.Restart();
        }
        // Progress lines come from prover threads; the sink is swapped for the live display.
        Action<ProofProgress> onProgress = p =>
        {
            if (p.Current is not null) Console.WriteLine($"   proved {p.Current} ({p.Done}/{p.Total})");
        };
        try
        {
            Directory.CreateDirectory(root);
            Console.WriteLine($"zkLoRA demo in {root}");

            Console.WriteLine("1. Creating the demo model and its LoRA adapter");
            var paths = llama ? LlamaDemoModel.Create(Path.Combine(root, "demo")) : DemoModel.Create(Path.Combine(root, "demo"));
            Done(llama
                ? $"Llama {LlamaDemoModel.Layers} layers, hidden {LlamaDemoModel.HiddenSize}, {LlamaDemoModel.Heads}/{LlamaDemoModel.KeyValueHeads} heads, BF16; LoRA r={LlamaDemoModel.LoraRank} on {string.Join(", ", LlamaDemoModel.AdapterModules)}"
                : $"GPT-2 {DemoModel.Layers} layers, n_embd {DemoModel.EmbeddingSize}; LoRA r={DemoModel.LoraRank} on {string.Join(", ", DemoModel.AdapterModules)}");

            Console.WriteLine("2. Contributor (A): quantizing and committing to the adapter");
            // One process plays every party: the public generators are derived (or loaded) once for all of them.
            var parameters = TuningEnvironment.NewCommitmentParameters();
            var server = LoRAServer.Load(paths.AdapterDirectory, Path.Combine(root, "contributor"), paths.ModelDirectory,
                TuningEnvironment.Apply(new LoRAServerOptions { ProofProgress = new ProgressSink(p => onProgress(p)), Backend = backend, CommitmentParameters = parameters }));
            string pinned = Path.Combine(root, "verifier", "pinned-manifest.json");
            server.WriteManifest(pinned);
            Done($"manifest pinned by the verifier BEFORE inference: {pinned}\n   manifest sha256: {server.ManifestDigest}" +
                 (backend == ProofBackend.Projection
                     ? $"\n   backend: projection (Pedersen commitment); adapter proof: {AdapterManifest.AdapterProofsPath(pinned)}"
                     : "\n   backend: plonk (Poseidon commitment)"));

            Console.WriteLine("3. Contributor (A): serving on a loopback port");
            await using var socket = new LoRAServerSocket(server, new IPEndPoint(IPAddress.Loopback, 0));
            await socket.StartAsync(ct);
            var endpoint = new ContributorEndpoint("127.0.0.1", socket.LocalEndPoint.Port);
            Done($"listening on {socket.LocalEndPoint}");

            Console.WriteLine("4. Base-model user (B): inference with the contributor's deltas");
            string transcript = Path.Combine(root, "user", "transcript.json");
            await using (var client = BaseModelClient.Load(paths.ModelDirectory, [endpoint]))
            {
                await client.InitAndPatchAsync(ct);
                string announced = client.ManifestDigests[endpoint];
                if (announced != server.ManifestDigest)
                    throw new InvalidOperationException($"The contributor announces manifest {announced}, not the pinned {server.ManifestDigest}.");
                double loss = await client.ForwardLossAsync(text, ct);
                client.WriteTranscript(transcript);
                int calls = client.GetTranscript().Entries.Count;
                Done($"session {client.SessionId}: loss {loss.ToString("F6", CultureInfo.InvariantCulture)}, {calls} module calls (add_delta)\n   transcript: {transcript}");

                Console.WriteLine("5. end_inference: the contributor proves every call");
                IReadOnlyList<EndInferenceOutcome> outcomes;
                if (AnsiConsole.Profile.Capabilities.Interactive)
                {
                    outcomes = await AnsiConsole.Progress().StartAsync(async ctx =>
                    {
                        var task = ctx.AddTask("proving", maxValue: calls);
                        onProgress = p =>
                        {
                            task.MaxValue = System.Math.Max(1, p.Total);
                            task.Value = p.Done;
                            if (p.Current is not null) task.Description = $"proved {p.Current}";
                        };
                        return await client.EndInferenceAsync(ct);
                    });
                }
                else outcomes = await client.EndInferenceAsync(ct);
                foreach (var o in outcomes)
                {
                    if (o.Response is null) throw new InvalidOperationException($"end_inference failed: {o.Error}");
                    Done($"{o.Response.ProofsWritten} proofs written to {server.ProofDirectory}");
                }
            }
            await socket.StopAsync(ct);

            Console.WriteLine("6. Verifier: proofs against B's transcript and the pinned manifest");
            var result = ProofVerification.BatchVerifyProofs([server.ProofDirectory], transcript, [pinned],
                new ProofVerificationOptions { Context = TuningEnvironment.NewVerificationContext(parameters) });
            Console.WriteLine($"   Done verifying {result.ProofCount} proofs. Total time: {result.TotalTime.TotalSeconds.ToString("F3", CultureInfo.InvariantCulture)} s");
            step.Restart();
            Console.WriteLine($"Demo succeeded in {Seconds(total.Elapsed)}.");
            if (keep) Console.WriteLine($"Artifacts kept in {root}");
            return 0;
        }
        catch (ProofVerificationException e)
        {
            Console.Error.WriteLine($"zklora demo: verification REJECTED ({e.Reason}): {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException or InvalidOperationException
                                      or ContributorException or TimeoutException or NotSupportedException or FormatException
                                      or System.Net.Sockets.SocketException)
        {
            Console.Error.WriteLine($"zklora demo: {CliErrors.Describe(e)}");
            return 1;
        }
        finally
        {
            if (!keep)
            {
                try { Directory.Delete(root, recursive: true); }
                catch (IOException) { }
                catch (UnauthorizedAccessException) { }
            }
        }
    }
}
