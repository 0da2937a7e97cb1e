using System.CommandLine;
using System.Globalization;
using ZkLora.Api.Multiparty;
using ZkLora.Model;

namespace ZkLora.Cli;

/// <summary>
/// <c>zklora infer</c>: the base-model user. Runs the base model locally with every injection point
/// served by its contributor, prints the loss, writes B's transcript, and ends the session.
/// </summary>
internal static class InferCommand
{
    public static Command Create()
    {
        var host = new Option<string>("--host") { Description = "The (first) contributor's host.", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "The (first) contributor's port.", DefaultValueFactory = _ => 30000 };
        var contributors = new Option<string[]>("--contributor") { Description = "Another contributor as host:port (repeatable); each serves the modules it announces." };
        var baseModel = new Option<string>("--base-model") { Description = "Base model folder or Hugging Face cache name.", Required = true };
        var combine = new Option<string>("--combine") { Description = "add_delta: base output + delta; replace: the contributor's output replaces the base output.", DefaultValueFactory = _ => "add_delta" };
        combine.AcceptOnlyFromAmong("add_delta", "replace");
        var text = new Option<string>("--text") { Description = "Text to run the model on.", DefaultValueFactory = _ => "Hello World, this is a LoRA test." };
        var transcript = new Option<string>("--transcript") { Description = "Where to write B's transcript.", DefaultValueFactory = _ => "transcript.json" };
        var session = new Option<string?>("--session-id") { Description = "Session id (A-Z a-z 0-9 _ -, at most 64; default random)." };
        var skipEnd = new Option<bool>("--no-end-inference") { Description = "Do not send end_inference (the contributors keep the session open)." };
        var endTimeout = new Option<double>("--end-timeout") { Description = "Seconds to wait for each contributor to answer end_inference (proving).", DefaultValueFactory = _ => 7200 };
        var command = new Command("infer",
            "Run the base model (party B) with LoRA deltas from contributors: prints the loss, writes the transcript of quantized " +
            "inputs sent and deltas received, then sends end_inference so each contributor proves its part.")
        {
            host, port, contributors, baseModel, combine, text, transcript, session, skipEnd, endTimeout,
        };
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                var endpoints = new List<ContributorEndpoint> { new(parse.GetValue(host)!, parse.GetValue(port)) };
                if (endpoints[0].Port is < 1 or > 65535) throw new ArgumentException("--port must be in 1–65535.");
                foreach (var c in parse.GetValue(contributors) ?? []) endpoints.Add(ContributorEndpoint.Parse(c));
                var mode = parse.GetValue(combine) == "replace" ? CombineMode.Replace : CombineMode.AddDelta;
                await using var client = BaseModelClient.Load(parse.GetRequiredValue(baseModel), endpoints, mode, parse.GetValue(session));
                await client.InitAndPatchAsync(ct);
                Console.WriteLine($"session:    {client.SessionId}");
                foreach (var (module, owner) in client.ModuleOwners.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    Console.WriteLine($"patched:    {module} <- {owner}");
                foreach (var (owner, digest) in client.ManifestDigests)
                    Console.WriteLine($"manifest:   {owner} announces sha256 {digest} (compare with the manifest you pinned)");
                double loss = await client.ForwardLossAsync(parse.GetValue(text)!, ct);
                Console.WriteLine($"loss:       {loss.ToString("F6", CultureInfo.InvariantCulture)}");
                string path = Path.GetFullPath(parse.GetValue(transcript)!);
                client.WriteTranscript(path);
                Console.WriteLine($"transcript: {path} ({client.GetTranscript().Entries.Count} calls)");
                if (parse.GetValue(skipEnd)) return 0;
                int failures = 0;
                double endSeconds = parse.GetValue(endTimeout);
                if (!(endSeconds > 0 && endSeconds <= int.MaxValue / 1000.0)) throw new ArgumentException("--end-timeout must be a positive number of seconds.");
                client.EndInferenceTimeout = TimeSpan.FromSeconds(endSeconds);
                foreach (var o in await client.EndInferenceAsync(ct))
                {
                    if (o.Response is { } r)
                        Console.WriteLine($"end:        {o.Contributor}: {r.RecordedCalls} calls recorded, {r.ProofsWritten} proofs written");
                    else
                    {
                        failures++;
                        Console.Error.WriteLine($"zklora infer: end_inference at {o.Contributor} failed: {o.Error}");
                    }
                }
                return failures == 0 ? 0 : 2;
            }
            catch (Exception e) when (e is IOException or FormatException or ArgumentException or UnauthorizedAccessException
                                          or NotSupportedException or InvalidOperationException or ContributorException or TimeoutException)
            {
                Console.Error.WriteLine($"zklora infer: {CliErrors.Describe(e)}");
                return 1;
            }
        });
        return command;
    }
}
