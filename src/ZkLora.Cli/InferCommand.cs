using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using ZkLora.Api;
using ZkLora.Api.Multiparty;
using ZkLora.Model;

namespace ZkLora.Cli;

/// <summary>
/// <c>zklora infer</c>: the base-model user. Checks the contributors first (retrying while a server
/// is still starting), then loads the base model, runs it with every injection point served by its
/// contributor, prints the loss, writes B's transcript, and ends the session. Exit 0 when every
/// contributor proved its calls, 1 when a contributor failed, 2 for a usage or input error.
/// </summary>
internal static class InferCommand
{
    /// <summary>The most text read from <c>--text-file</c> or standard input (far beyond any context window).</summary>
    private const int MaxTextChars = 16 << 20;

    public static Command Create()
    {
        var host = new Option<string>("--host") { Description = "The (first) contributor's host (name or address).", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "The (first) contributor's port.", DefaultValueFactory = _ => 30000 };
        var contributors = new Option<string[]>("--contributor") { Description = "Another contributor as host:port (repeatable); each serves the modules it announces." };
        var baseModel = new Option<string>("--base-model") { Description = "Base model folder or Hugging Face cache name.", Required = true };
        var combine = new Option<string>("--combine") { Description = "add_delta: base output + delta; replace: the contributor's output replaces the base output.", DefaultValueFactory = _ => "add_delta" };
        combine.AcceptOnlyFromAmong("add_delta", "replace");
        var text = new Option<string?>("--text") { Description = $"Text to run the model on (default \"{DefaultText}\")." };
        var textFile = new Option<string?>("--text-file") { Description = "Read the text from this file (UTF-8) instead; '-' reads standard input." };
        var transcript = new Option<string>("--transcript") { Description = "Where to write B's transcript.", DefaultValueFactory = _ => "transcript.json" };
        var session = new Option<string?>("--session-id") { Description = "Session id (A-Z a-z 0-9 _ -, at most 64; default random)." };
        var skipEnd = new Option<bool>("--no-end-inference") { Description = "Do not send end_inference (the contributors keep the session open)." };
        var policy = new ParameterPolicyOptions();
        var generate = new Option<int>("--generate") { Description = "Generate this many tokens after --text (with a key/value cache: the prompt is one call per module, then one row per new token) instead of computing the loss.", DefaultValueFactory = _ => 0 };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature for --generate; 0 (default) is greedy.", DefaultValueFactory = _ => 0.0 };
        var topP = new Option<double>("--top-p") { Description = "Nucleus size for sampling, in (0, 1].", DefaultValueFactory = _ => 1.0 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the sampling generator (same seed, same tokens).", DefaultValueFactory = _ => 0UL };
        var endTimeout = new Option<double>("--end-timeout") { Description = "Seconds to wait for each contributor to answer end_inference (proving).", DefaultValueFactory = _ => 7200 };
        var tlsAll = new Option<bool>("--tls") { Description = "Connect to every contributor with TLS (one contributor alone: --contributor tls://host:port)." };
        var tlsCa = new Option<string[]>("--tls-ca") { Description = "PEM file of a CA or self-signed certificate to trust for TLS contributors instead of the system's roots (repeatable); the certificate must still name the host." };
        var tlsPin = new Option<string[]>("--tls-pin") { Description = "Accept a TLS contributor only if its certificate's SHA-256 is this (64 hex digits, as `zklora serve` prints; repeatable); chain and name are then not checked unless --tls-ca is given too." };
        var connectTimeout = new Option<double>("--connect-timeout")
        {
            Description = "Seconds to keep retrying a contributor that refuses connections (a server still starting) before giving up; 0: try once.",
            DefaultValueFactory = _ => 30,
        };
        var json = CliJson.Option("the result: {\"status\",\"exit_code\",\"session\",\"loss\",\"tokens\",\"perplexity\",\"timings\":{…},\"end_inference\":[…],…}");
        var command = new Command("infer",
            "Run the base model (party B) with LoRA deltas from contributors: checks the contributors, loads the model, prints the loss, " +
            "writes the transcript of quantized inputs sent and deltas received, then sends end_inference so each contributor proves its part. " +
            "Exit 0 when every contributor proved its calls, 1 when a contributor failed, 2 for a usage or input error.")
        {
            host, port, contributors, baseModel, combine, text, textFile, transcript, session, skipEnd, generate, temperature, topP, seed, endTimeout,
            connectTimeout, json,
        };
        foreach (var o in policy.All) command.Options.Add(o);
        command.Options.Add(tlsAll);
        command.Options.Add(tlsCa);
        command.Options.Add(tlsPin);
        command.SetAction(async (parse, ct) =>
        {
            bool asJson = parse.GetValue(json);
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var say = asJson ? error : output; // with --json the human lines go to standard error
            var report = new Report();
            var total = Stopwatch.StartNew();
            try
            {
                report.ExitCode = await RunAsync(parse, say, report, ct, new Options(host, port, contributors, baseModel, combine, text, textFile, transcript,
                    session, skipEnd, policy, generate, temperature, topP, seed, endTimeout, connectTimeout, tlsAll, tlsCa, tlsPin));
            }
            catch (Exception e) when (e is ContributorException or TimeoutException or SocketException or WireProtocolException)
            {
                // A contributor could not be reached, answered wrongly or did not answer in time.
                report.Fail(ExitCodes.Rejected, CliErrors.Describe(e));
            }
            catch (Exception e) when (CliErrors.IsInputError(e) || e is NotSupportedException or InvalidOperationException)
            {
                report.Fail(ExitCodes.UsageOrInput, CliErrors.Describe(e));
            }
            report.Timings["total_seconds"] = total.Elapsed.TotalSeconds;
            if (report.Error is { } message) error.WriteLine($"zklora infer: {message}");
            if (asJson) report.Write(output);
            return report.ExitCode;
        });
        return command;
    }

    private const string DefaultText = "Hello World, this is a LoRA test.";

    private sealed record Options(
        Option<string> Host, Option<int> Port, Option<string[]> Contributors, Option<string> BaseModel, Option<string> Combine,
        Option<string?> Text, Option<string?> TextFile, Option<string> Transcript, Option<string?> Session, Option<bool> SkipEnd,
        ParameterPolicyOptions Policy, Option<int> Generate, Option<double> Temperature, Option<double> TopP, Option<ulong> Seed,
        Option<double> EndTimeout, Option<double> ConnectTimeout, Option<bool> TlsAll, Option<string[]> TlsCa, Option<string[]> TlsPin);

    private static async Task<int> RunAsync(ParseResult parse, TextWriter say, Report report, CancellationToken ct, Options o)
    {
        // Every argument is checked before anything slow happens.
        var endpoints = new List<ContributorEndpoint> { new(parse.GetValue(o.Host)!, parse.GetValue(o.Port)) };
        if (endpoints[0].Port is < 1 or > 65535) throw new ArgumentException("--port must be in 1–65535.");
        foreach (var c in parse.GetValue(o.Contributors) ?? []) endpoints.Add(ContributorEndpoint.Parse(c));
        if (parse.GetValue(o.TlsAll)) endpoints = endpoints.Select(e => e with { UseTls = true }).ToList();
        var tlsOptions = ReadTlsOptions(endpoints, parse.GetValue(o.TlsCa) ?? [], parse.GetValue(o.TlsPin) ?? []);
        var mode = parse.GetValue(o.Combine) == "replace" ? CombineMode.Replace : CombineMode.AddDelta;
        var parameterPolicy = o.Policy.Read(parse);
        int newTokens = parse.GetValue(o.Generate);
        if (newTokens < 0) throw new ArgumentException("--generate must be 0 or more.");
        double endSeconds = parse.GetValue(o.EndTimeout);
        if (!(endSeconds > 0 && endSeconds <= int.MaxValue / 1000.0)) throw new ArgumentException("--end-timeout must be a positive number of seconds.");
        double connectSeconds = parse.GetValue(o.ConnectTimeout);
        if (!(connectSeconds >= 0 && connectSeconds <= int.MaxValue / 1000.0)) throw new ArgumentException("--connect-timeout must be 0 or a positive number of seconds.");
        string input = ReadText(parse.GetValue(o.Text), parse.GetValue(o.TextFile));
        string transcriptPath = Path.GetFullPath(parse.GetValue(o.Transcript)!);
        if (Directory.Exists(transcriptPath)) throw new InputException($"--transcript '{transcriptPath}' is a directory, not a file");

        // 1. The contributors, before the (possibly large) model is loaded.
        var step = Stopwatch.StartNew();
        foreach (var (endpoint, init) in await ProbeContributorsAsync(endpoints, parameterPolicy, tlsOptions, TimeSpan.FromSeconds(connectSeconds), say, ct))
        {
            say.WriteLine($"contributor: {endpoint} ({init.InjectionPoints.Count} module(s), manifest sha256 {init.ManifestDigest})");
            report.Contributors.Add((endpoint.ToString(), init.ManifestDigest, init.InjectionPoints.Select(p => p.ModuleName).ToList()));
        }
        report.Timings["connect_seconds"] = step.Elapsed.TotalSeconds;

        // 2. The model.
        step.Restart();
        await using var client = BaseModelClient.Load(parse.GetRequiredValue(o.BaseModel), endpoints, mode, parse.GetValue(o.Session));
        report.Timings["model_load_seconds"] = step.Elapsed.TotalSeconds;
        report.Session = client.SessionId;
        client.ParameterPolicy = parameterPolicy;
        client.TlsOptions = tlsOptions;
        step.Restart();
        await client.InitAndPatchAsync(ct);
        report.Timings["patch_seconds"] = step.Elapsed.TotalSeconds;
        say.WriteLine($"session:    {client.SessionId}");
        foreach (var (module, owner) in client.ModuleOwners.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            say.WriteLine($"patched:    {module} <- {owner}");
        foreach (var (owner, digest) in client.ManifestDigests)
            say.WriteLine($"manifest:   {owner} announces sha256 {digest} (compare with the manifest you pinned)");

        // 3. Inference.
        step.Restart();
        if (newTokens == 0)
        {
            var ids = client.Model.Encode(input);
            if (ids.Count < 2) throw new ArgumentException($"The text has {ids.Count} token(s); the loss needs at least 2.");
            double loss = await client.LossAsync(ids, ct);
            report.Timings["forward_seconds"] = step.Elapsed.TotalSeconds;
            report.Loss = loss;
            report.Tokens = ids.Count;
            say.WriteLine($"loss:       {loss.ToString("F6", CultureInfo.InvariantCulture)} ({ids.Count} tokens, perplexity {System.Math.Exp(loss).ToString("F3", CultureInfo.InvariantCulture)})");
        }
        else
        {
            var options = new GenerationOptions
            {
                MaxNewTokens = newTokens, Temperature = parse.GetValue(o.Temperature), TopP = parse.GetValue(o.TopP), Seed = parse.GetValue(o.Seed),
            };
            var tokenizer = client.Model.TextTokenizer ?? throw new InvalidOperationException("The base model folder has no tokenizer; --generate needs one to read --text.");
            var promptIds = tokenizer.Encode(input);
            say.Write($"generated:  {input}");
            var produced = new List<int>();
            string shown = "";
            var ids = await client.GenerateAsync(promptIds, options, token =>
            {
                // Decode the whole continuation and print what is new (a token may end mid-character).
                produced.Add(token);
                string now = tokenizer.Decode(produced);
                if (now.StartsWith(shown, StringComparison.Ordinal) && !now.EndsWith('\uFFFD'))
                {
                    say.Write(now[shown.Length..]);
                    shown = now;
                }
            }, ct);
            string all = tokenizer.Decode(ids);
            if (all.StartsWith(shown, StringComparison.Ordinal)) say.Write(all[shown.Length..]);
            say.WriteLine();
            say.WriteLine($"tokens:     {promptIds.Count} prompt + {ids.Count} generated ({string.Join(" ", ids)})");
            report.Timings["generate_seconds"] = step.Elapsed.TotalSeconds;
            report.Tokens = promptIds.Count;
            report.Generated = (all, ids.ToList());
        }
        client.WriteTranscript(transcriptPath);
        report.Transcript = transcriptPath;
        report.Calls = client.GetTranscript().Entries.Count;
        say.WriteLine($"transcript: {transcriptPath} ({report.Calls} calls)");
        if (parse.GetValue(o.SkipEnd)) return ExitCodes.Ok;

        // 4. end_inference: every contributor proves its calls.
        client.EndInferenceTimeout = TimeSpan.FromSeconds(endSeconds);
        say.WriteLine($"proving:    end_inference sent; waiting for {client.ManifestDigests.Count} contributor(s) to prove {report.Calls} call(s)…");
        step.Restart();
        int failures = 0;
        IReadOnlyList<EndInferenceOutcome> outcomes;
        var lastProgress = Stopwatch.StartNew();
        client.ProofProgress = new LineProgress(p =>
        {
            // Each contributor's state as it changes (asked every 2 s with proof_progress).
            lock (lastProgress) lastProgress.Restart();
            say.WriteLine(p.State == "queued"
                ? $"proving:    {p.Contributor}: queued behind another session"
                : $"proving:    {p.Contributor}: {p.Done}/{p.Total} proofs ({step.Elapsed.TotalSeconds.ToString("F0", CultureInfo.InvariantCulture)} s)");
        });
        using (var waiting = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            // A contributor from before proof_progress reports nothing: then a line every half
            // minute says we are still waiting.
            var heartbeat = HeartbeatAsync(say, step, () => { lock (lastProgress) return lastProgress.Elapsed; }, waiting.Token);
            try
            {
                outcomes = await client.EndInferenceAsync(ct);
            }
            finally
            {
                waiting.Cancel();
                await heartbeat;
            }
        }
        foreach (var outcome in outcomes)
        {
            report.End.Add(outcome);
            if (outcome.Response is { } r)
                say.WriteLine($"end:        {outcome.Contributor}: {r.RecordedCalls} calls recorded, {r.ProofsWritten} proofs written");
            else
            {
                failures++;
                report.Errors.Add($"end_inference at {outcome.Contributor} failed: {outcome.Error}");
            }
        }
        report.Timings["end_inference_seconds"] = step.Elapsed.TotalSeconds;
        if (failures > 0)
        {
            report.Fail(ExitCodes.Rejected, string.Join("; ", report.Errors));
            return ExitCodes.Rejected;
        }
        return ExitCodes.Ok;
    }

    /// <summary>Interval of the "still proving" lines while end_inference runs.</summary>
    private static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(30);

    private sealed class LineProgress(Action<ContributorProofProgress> report) : IProgress<ContributorProofProgress>
    {
        public void Report(ContributorProofProgress value) => report(value);
    }

    private static async Task HeartbeatAsync(TextWriter say, Stopwatch since, Func<TimeSpan> sinceLastProgress, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                await Task.Delay(HeartbeatInterval, stop);
                if (sinceLastProgress() < HeartbeatInterval) continue;
                say.WriteLine($"proving:    still waiting for the proofs ({since.Elapsed.TotalSeconds.ToString("F0", CultureInfo.InvariantCulture)} s)");
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The text: --text, else the file or standard input of --text-file, else the default.</summary>
    private static string ReadText(string? text, string? textFile)
    {
        if (text is not null && textFile is not null) throw new ArgumentException("Give --text or --text-file, not both.");
        if (textFile is null) return text ?? DefaultText;
        string read;
        if (textFile == "-")
        {
            var buffer = new char[MaxTextChars + 1];
            int n = 0, got;
            while (n < buffer.Length && (got = Console.In.Read(buffer, n, buffer.Length - n)) > 0) n += got;
            if (n > MaxTextChars) throw new InputException($"standard input (--text-file -) holds more than {MaxTextChars} characters");
            read = new string(buffer, 0, n);
        }
        else
        {
            InputPaths.RequireFile(textFile, "--text-file");
            if (new FileInfo(textFile).Length > 4L * MaxTextChars) throw new InputException($"--text-file '{textFile}' is larger than {4L * MaxTextChars} bytes");
            read = File.ReadAllText(textFile);
        }
        if (read.Length == 0) throw new InputException(textFile == "-" ? "standard input (--text-file -) is empty" : $"--text-file '{textFile}' is empty");
        return read;
    }

    /// <summary>Whom TLS contributors must be: <c>--tls-ca</c> certificates and <c>--tls-pin</c> digests (null: the system's roots).</summary>
    private static ContributorTlsOptions? ReadTlsOptions(IReadOnlyList<ContributorEndpoint> endpoints, string[] caFiles, string[] pins)
    {
        if (caFiles.Length == 0 && pins.Length == 0) return null;
        if (!endpoints.Any(e => e.UseTls))
            throw new ArgumentException("--tls-ca/--tls-pin apply to TLS contributors: add --tls or give a contributor as tls://host:port.");
        var trusted = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        foreach (var f in caFiles) trusted.AddRange(ContributorTlsOptions.LoadCertificates(f));
        return new ContributorTlsOptions { TrustedCertificates = trusted, PinnedSha256 = pins };
    }

    /// <summary>
    /// Asks every contributor for its injection points before the model is loaded: a contributor
    /// that is not there, speaks another protocol, uses parameters outside the policy, or announces
    /// a module another contributor also announces is reported now, not after minutes of loading.
    /// A refused connection is retried until <paramref name="connectTimeout"/> (a server still starting).
    /// </summary>
    private static async Task<List<(ContributorEndpoint, InitResponse)>> ProbeContributorsAsync(
        IReadOnlyList<ContributorEndpoint> endpoints, ParameterPolicy policy, ContributorTlsOptions? tls, TimeSpan connectTimeout, TextWriter say, CancellationToken ct)
    {
        var result = new List<(ContributorEndpoint, InitResponse)>();
        var owners = new Dictionary<string, ContributorEndpoint>(StringComparer.Ordinal);
        foreach (var endpoint in endpoints)
        {
            var init = await InitWithRetryAsync(endpoint, tls, connectTimeout, say, ct);
            if (policy.Check(init.FixedPoint) is { } refused)
                throw new ContributorException($"Contributor {endpoint} announced a fixed-point configuration outside the parameter policy: {refused}");
            if (init.InjectionPoints.Count == 0) throw new ContributorException($"Contributor {endpoint} announced no injection points.");
            foreach (var p in init.InjectionPoints)
            {
                if (owners.TryGetValue(p.ModuleName, out var other))
                    throw new ContributorException($"Module '{p.ModuleName}' is announced by both {other} and {endpoint}; each module must have one contributor.");
                owners[p.ModuleName] = endpoint;
            }
            result.Add((endpoint, init));
        }
        return result;
    }

    private static async Task<InitResponse> InitWithRetryAsync(ContributorEndpoint endpoint, ContributorTlsOptions? tls, TimeSpan connectTimeout, TextWriter say, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        var pause = TimeSpan.FromMilliseconds(250);
        bool told = false;
        while (true)
        {
            await using var connection = new ContributorConnection(endpoint, TimeSpan.FromSeconds(60)) { TlsOptions = tls };
            try
            {
                return await connection.InitAsync(ct);
            }
            catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.TryAgain or SocketError.HostUnreachable or SocketError.NetworkUnreachable })
            {
                if (deadline.Elapsed + pause > connectTimeout)
                    throw new ContributorException(connectTimeout > TimeSpan.Zero
                        ? $"Contributor {endpoint} refused connections for {connectTimeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s (--connect-timeout): {e.InnerException.Message}"
                        : $"Contributor {endpoint}: {e.Message}", e);
                if (!told)
                {
                    say.WriteLine($"waiting:    {endpoint} is not accepting connections yet; retrying for up to {connectTimeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s");
                    told = true;
                }
                await Task.Delay(pause, ct);
                pause = TimeSpan.FromMilliseconds(System.Math.Min(2000, pause.TotalMilliseconds * 2));
            }
            catch (Exception e) when (e is IOException or TimeoutException or WireProtocolException)
            {
                throw new ContributorException($"Contributor {endpoint}: init_request failed: {e.Message}", e);
            }
        }
    }

    /// <summary>What <c>infer --json</c> writes: filled in as the command goes, so a failure reports what was done.</summary>
    private sealed class Report
    {
        public int ExitCode { get; set; } = ExitCodes.Ok;
        public string? Error { get; private set; }
        public List<string> Errors { get; } = new();
        public string? Session { get; set; }
        public List<(string Endpoint, string ManifestSha256, List<string> Modules)> Contributors { get; } = new();
        public double? Loss { get; set; }
        public int? Tokens { get; set; }
        public (string Text, List<int> Ids)? Generated { get; set; }
        public string? Transcript { get; set; }
        public int? Calls { get; set; }
        public List<EndInferenceOutcome> End { get; } = new();
        public Dictionary<string, double> Timings { get; } = new(StringComparer.Ordinal);

        public void Fail(int exitCode, string message)
        {
            ExitCode = exitCode;
            Error = message;
        }

        public void Write(TextWriter output) => CliJson.Write(output, w =>
        {
            w.WriteString("status", ExitCode switch { ExitCodes.Ok => "ok", ExitCodes.Rejected => "failed", _ => "error" });
            w.WriteNumber("exit_code", ExitCode);
            if (Error is not null) w.WriteString("error", Error);
            if (Session is not null) w.WriteString("session", Session);
            w.WriteStartArray("contributors");
            foreach (var c in Contributors)
            {
                w.WriteStartObject();
                w.WriteString("endpoint", c.Endpoint);
                w.WriteString("manifest_sha256", c.ManifestSha256);
                w.WriteStartArray("modules");
                foreach (var m in c.Modules) w.WriteStringValue(m);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (Loss is { } loss)
            {
                w.Number("loss", loss);
                // The loss is the mean over the Tokens - 1 predicted tokens.
                w.Number("perplexity", System.Math.Exp(loss));
            }
            if (Tokens is { } tokens) w.WriteNumber("tokens", tokens);
            if (Generated is { } g)
            {
                w.WriteString("generated_text", g.Text);
                w.WriteStartArray("generated_tokens");
                foreach (var id in g.Ids) w.WriteNumberValue(id);
                w.WriteEndArray();
            }
            if (Transcript is not null) w.WriteString("transcript", Transcript);
            if (Calls is { } calls) w.WriteNumber("calls", calls);
            w.WriteStartArray("end_inference");
            foreach (var o in End)
            {
                w.WriteStartObject();
                w.WriteString("contributor", o.Contributor.ToString());
                w.WriteBoolean("ok", o.Response is not null);
                if (o.Response is { } r)
                {
                    w.WriteNumber("recorded_calls", r.RecordedCalls);
                    w.WriteNumber("proofs_written", r.ProofsWritten);
                }
                else
                {
                    w.WriteString("error", o.Error);
                    // the contributor's wire error code when it answered with one (docs/wire-protocol.md)
                    if (o.ErrorCode != WireErrorCode.Unspecified) w.WriteString("error_code", o.ErrorCode.ToWireName());
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("timings");
            foreach (var (name, seconds) in Timings) w.Number(name, seconds);
            w.WriteEndObject();
        });
    }
}
