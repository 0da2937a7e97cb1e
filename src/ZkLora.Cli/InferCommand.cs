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
        var policy = new ParameterPolicyOptions();
        var generate = new Option<int>("--generate") { Description = "Generate this many tokens after --text (with a key/value cache: the prompt is one call per module, then one row per new token) instead of computing the loss.", DefaultValueFactory = _ => 0 };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature for --generate; 0 (default) is greedy.", DefaultValueFactory = _ => 0.0 };
        var topP = new Option<double>("--top-p") { Description = "Nucleus size for sampling, in (0, 1].", DefaultValueFactory = _ => 1.0 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the sampling generator (same seed, same tokens).", DefaultValueFactory = _ => 0UL };
        var endTimeout = new Option<double>("--end-timeout") { Description = "Seconds to wait for each contributor to answer end_inference (proving).", DefaultValueFactory = _ => 7200 };
        var command = new Command("infer",
            "Run the base model (party B) with LoRA deltas from contributors: prints the loss, writes the transcript of quantized " +
            "inputs sent and deltas received, then sends end_inference so each contributor proves its part.")
        {
            host, port, contributors, baseModel, combine, text, transcript, session, skipEnd, generate, temperature, topP, seed, endTimeout,
        };
        foreach (var o in policy.All) command.Options.Add(o);
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                var endpoints = new List<ContributorEndpoint> { new(parse.GetValue(host)!, parse.GetValue(port)) };
                if (endpoints[0].Port is < 1 or > 65535) throw new ArgumentException("--port must be in 1–65535.");
                foreach (var c in parse.GetValue(contributors) ?? []) endpoints.Add(ContributorEndpoint.Parse(c));
                var mode = parse.GetValue(combine) == "replace" ? CombineMode.Replace : CombineMode.AddDelta;
                var parameterPolicy = policy.Read(parse);
                await using var client = BaseModelClient.Load(parse.GetRequiredValue(baseModel), endpoints, mode, parse.GetValue(session));
                client.ParameterPolicy = parameterPolicy;
                await client.InitAndPatchAsync(ct);
                Console.WriteLine($"session:    {client.SessionId}");
                foreach (var (module, owner) in client.ModuleOwners.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    Console.WriteLine($"patched:    {module} <- {owner}");
                foreach (var (owner, digest) in client.ManifestDigests)
                    Console.WriteLine($"manifest:   {owner} announces sha256 {digest} (compare with the manifest you pinned)");
                int newTokens = parse.GetValue(generate);
                if (newTokens < 0) throw new ArgumentException("--generate must be 0 or more.");
                if (newTokens == 0)
                {
                    double loss = await client.ForwardLossAsync(parse.GetValue(text)!, ct);
                    Console.WriteLine($"loss:       {loss.ToString("F6", CultureInfo.InvariantCulture)}");
                }
                else
                {
                    var options = new GenerationOptions
                    {
                        MaxNewTokens = newTokens, Temperature = parse.GetValue(temperature), TopP = parse.GetValue(topP), Seed = parse.GetValue(seed),
                    };
                    var tokenizer = client.Model.TextTokenizer ?? throw new InvalidOperationException("The base model folder has no tokenizer; --generate needs one to read --text.");
                    string prompt = parse.GetValue(text)!;
                    var promptIds = tokenizer.Encode(prompt);
                    Console.Write($"generated:  {prompt}");
                    var produced = new List<int>();
                    string shown = "";
                    var ids = await client.GenerateAsync(promptIds, options, token =>
                    {
                        // Decode the whole continuation and print what is new (a token may end mid-character).
                        produced.Add(token);
                        string now = tokenizer.Decode(produced);
                        if (now.StartsWith(shown, StringComparison.Ordinal) && !now.EndsWith('\uFFFD'))
                        {
                            Console.Write(now[shown.Length..]);
                            shown = now;
                        }
                    }, ct);
                    string all = tokenizer.Decode(ids);
                    if (all.StartsWith(shown, StringComparison.Ordinal)) Console.Write(all[shown.Length..]);
                    Console.WriteLine();
                    Console.WriteLine($"tokens:     {promptIds.Count} prompt + {ids.Count} generated ({string.Join(" ", ids)})");
                }
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
                return failures == 0 ? ExitCodes.Ok : ExitCodes.Rejected;
            }
            catch (Exception e) when (e is ContributorException or TimeoutException or System.Net.Sockets.SocketException)
            {
                // A contributor could not be reached, answered wrongly or did not answer in time.
                Console.Error.WriteLine($"zklora infer: {CliErrors.Describe(e)}");
                return ExitCodes.Rejected;
            }
            catch (Exception e) when (e is IOException or FormatException or ArgumentException or UnauthorizedAccessException
                                          or NotSupportedException or InvalidOperationException)
            {
                Console.Error.WriteLine($"zklora infer: {CliErrors.Describe(e)}");
                return ExitCodes.UsageOrInput;
            }
        });
        return command;
    }
}
