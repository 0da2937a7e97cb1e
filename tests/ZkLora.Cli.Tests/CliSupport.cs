using System.CommandLine;
using System.Net;
using ZkLora.Api.Multiparty;
using ZkLora.Model;
using Xunit;

namespace ZkLora.Cli.Tests;

/// <summary>What one in-process run of the <c>zklora</c> command line produced.</summary>
public sealed record CliRun(int ExitCode, string StdOut, string StdErr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{StdOut}\n--- stderr\n{StdErr}";
}

/// <summary>Runs the command tree in-process with its output captured (no global Console redirection).</summary>
public static class Zklora
{
    public static Task<CliRun> RunAsync(params string[] args) => RunAsync(args, new CapturingWriter(), new CapturingWriter(), CancellationToken.None);

    /// <summary>Runs with the given writers (which a test may read while the command runs).</summary>
    public static async Task<CliRun> RunAsync(string[] args, CapturingWriter output, CapturingWriter error, CancellationToken ct)
    {
        int code = await ZkLoraCommand.RunAsync(args, new InvocationConfiguration { Output = output, Error = error }, ct);
        return new CliRun(code, output.Text, error.Text);
    }

    public static CliRun Run(params string[] args) => RunAsync(args).GetAwaiter().GetResult();
}

/// <summary>A text writer that commands on other threads may write to while a test reads it.</summary>
public sealed class CapturingWriter : TextWriter
{
    private readonly System.Text.StringBuilder _text = new();

    public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

    public override void Write(char value)
    {
        lock (_text) _text.Append(value);
    }

    public override void Write(string? value)
    {
        lock (_text) _text.Append(value);
    }

    public string Text
    {
        get { lock (_text) return _text.ToString(); }
    }

    /// <summary>Waits until a line satisfies <paramref name="match"/>; returns it.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, Func<string>? context = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var line = Text.Split('\n').FirstOrDefault(l => match(l.TrimEnd('\r')));
            if (line is not null) return line.TrimEnd('\r');
            await Task.Delay(50);
        }
        throw new TimeoutException("no matching line within " + timeout + ":\n" + Text + (context is null ? "" : "\n" + context()));
    }
}

/// <summary>
/// One proved session of the built-in demo model over loopback: the manifest pinned before
/// inference, the transcript, and the contributor's proof directory.
/// </summary>
public sealed class ProvedSession : IAsyncLifetime
{
    private readonly TempDir _dir = new();

    public string ProofDirectory { get; private set; } = "";
    public string TranscriptPath { get; private set; } = "";
    public string PinnedManifestPath { get; private set; } = "";
    public string ManifestDigest { get; private set; } = "";
    public DemoModelPaths Paths { get; private set; } = null!;

    public string Combine(params string[] parts) => _dir.Combine(parts);

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        Paths = DemoModel.Create(_dir.Combine("demo"));
        var server = LoRAServer.Load(Paths.AdapterDirectory, _dir.Combine("contributor"), Paths.ModelDirectory);
        PinnedManifestPath = _dir.Combine("verifier", "pinned.json");
        server.WriteManifest(PinnedManifestPath);
        ManifestDigest = server.ManifestDigest;
        await using var socket = new LoRAServerSocket(server, new IPEndPoint(IPAddress.Loopback, 0));
        await socket.StartAsync(cts.Token);
        await using (var client = BaseModelClient.Load(Paths.ModelDirectory, [new ContributorEndpoint("127.0.0.1", socket.LocalEndPoint.Port)], CombineMode.AddDelta, "cli-tests"))
        {
            await client.InitAndPatchAsync(cts.Token);
            await client.ForwardLossAsync(DemoModel.SampleText, cts.Token);
            TranscriptPath = _dir.Combine("user", "transcript.json");
            client.WriteTranscript(TranscriptPath);
            var response = Assert.Single((await client.EndInferenceAsync(cts.Token)).EnsureAllSucceeded());
            Assert.Equal(2, response.ProofsWritten);
        }
        await socket.StopAsync(cts.Token);
        ProofDirectory = server.ProofDirectory;
    }

    public Task DisposeAsync()
    {
        _dir.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>The test classes that need a proved session share one (proving takes a while).</summary>
[CollectionDefinition(Name)]
public sealed class ProvedCollection : ICollectionFixture<ProvedSession>
{
    public const string Name = "proved session";
}
