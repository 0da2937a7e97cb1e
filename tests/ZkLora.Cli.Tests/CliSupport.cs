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
    public static async Task<CliRun> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await ZkLoraCommand.RunAsync(args, new InvocationConfiguration { Output = output, Error = error });
        return new CliRun(code, output.ToString(), error.ToString());
    }

    public static CliRun Run(params string[] args) => RunAsync(args).GetAwaiter().GetResult();
}

/// <summary>A fresh temporary folder, deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "zklora-cli-tests-" + Guid.NewGuid().ToString("N"));

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
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
            var outcome = Assert.Single(await client.EndInferenceAsync(cts.Token));
            Assert.Null(outcome.Error);
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
