using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using ZkLora.Api.Multiparty;
using ZkLora.Model;

namespace ZkLora.Cli;

/// <summary>
/// <c>zklora serve</c>: the LoRA contributor. Commits to the adapter, writes the manifest the
/// verifier must pin, and serves <c>lora_forward</c> / <c>end_inference</c> over TCP until Ctrl+C.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var host = new Option<string>("--host") { Description = "Address to listen on.", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "TCP port (0: any free port).", DefaultValueFactory = _ => 30000 };
        var baseModel = new Option<string?>("--base-model") { Description = "Base model folder or Hugging Face cache name; if given, the adapter's shapes are checked against it." };
        var adapter = new Option<string>("--adapter") { Description = "PEFT LoRA adapter folder or Hugging Face cache name.", Required = true };
        var outDir = new Option<string>("--out-dir") { Description = "Output folder: proofs/ (to share) and secret/ (commitment salts; never share).", DefaultValueFactory = _ => "a-out" };
        var manifest = new Option<string?>("--manifest") { Description = "Where to write the adapter manifest (default <out-dir>/manifest.json)." };
        var modules = new Option<string[]>("--module") { Description = "Serve only this adapter module (repeatable; default all).", AllowMultipleArgumentsPerToken = false };
        var maxConnections = new Option<int>("--max-connections") { Description = "Most connections served at once.", DefaultValueFactory = _ => 64 };
        var quiet = new Option<bool>("--quiet") { Description = "Do not log connections and errors." };
        var command = new Command("serve",
            "Serve a LoRA adapter to base-model users (party A): commit to it, write the manifest, answer lora_forward requests " +
            "with exact fixed-point deltas and record them for proving at end_inference. Runs until Ctrl+C.")
        {
            host, port, baseModel, adapter, outDir, manifest, modules, maxConnections, quiet,
        };
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                if (!IPAddress.TryParse(parse.GetValue(host), out var address))
                    throw new ArgumentException($"--host '{parse.GetValue(host)}' is not an IP address.");
                int p = parse.GetValue(port);
                if (p is < 0 or > 65535) throw new ArgumentException("--port must be in 0–65535.");
                string dir = parse.GetValue(outDir)!;
                var selected = parse.GetValue(modules);
                var server = LoRAServer.Load(parse.GetRequiredValue(adapter), dir, parse.GetValue(baseModel),
                    new LoRAServerOptions { Modules = selected is { Length: > 0 } ? selected : null });
                string manifestPath = Path.GetFullPath(parse.GetValue(manifest) ?? Path.Combine(dir, "manifest.json"));
                server.WriteManifest(manifestPath);

                Console.WriteLine($"manifest:        {manifestPath}");
                Console.WriteLine($"manifest sha256: {server.ManifestDigest}");
                Console.WriteLine("The verifier must pin this manifest (the file or its SHA-256 digest) BEFORE inference;");
                Console.WriteLine("a manifest first seen after inference, or shipped with the proofs, proves nothing.");
                foreach (var ip in server.InjectionPoints)
                    Console.WriteLine($"serving:         {ip.ModuleName} ({ip.InDim}→{ip.OutDim}, rank {ip.Rank})");
                Console.WriteLine($"proofs go to:    {server.ProofDirectory}");
                Console.WriteLine($"salts (secret):  {server.SecretDirectory}");

                await using var socket = new LoRAServerSocket(server, new IPEndPoint(address, p), new LoRAServerSocketOptions
                {
                    MaxConnections = parse.GetValue(maxConnections),
                    Log = parse.GetValue(quiet) ? null : Console.Error,
                });
                // Stop on Ctrl+C (SIGINT) and SIGTERM; cancelling the signal keeps the process alive
                // until the server has closed its connections.
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
                void OnSignal(PosixSignalContext context)
                {
                    context.Cancel = true;
                    stop.Cancel();
                }
                using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
                using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
                await socket.StartAsync(ct);
                Console.WriteLine($"listening on {socket.LocalEndPoint} (Ctrl+C to stop)");
                try
                {
                    await Task.Delay(Timeout.Infinite, stop.Token);
                }
                catch (OperationCanceledException) { }
                Console.WriteLine("stopping");
                await socket.StopAsync();
                return 0;
            }
            catch (Exception e) when (e is IOException or FormatException or ArgumentException or UnauthorizedAccessException
                                          or NotSupportedException or SocketException)
            {
                Console.Error.WriteLine($"zklora serve: {CliErrors.Describe(e)}");
                return 1;
            }
        });
        return command;
    }
}
