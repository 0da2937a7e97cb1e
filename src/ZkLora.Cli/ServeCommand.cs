using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using ZkLora.Api;
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
        var host = new Option<string>("--host") { Description = "Address (or host name, e.g. localhost) to listen on.", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "TCP port (0: any free port).", DefaultValueFactory = _ => 30000 };
        var baseModel = new Option<string?>("--base-model") { Description = "Base model folder or Hugging Face cache name; if given, the adapter's shapes are checked against it." };
        var adapter = new Option<string>("--adapter") { Description = "PEFT LoRA adapter folder or Hugging Face cache name.", Required = true };
        var outDir = new Option<string>("--out-dir") { Description = "Output folder: proofs/ (to share) and secret/ (commitment salts; never share).", DefaultValueFactory = _ => "a-out" };
        var manifest = new Option<string?>("--manifest") { Description = "Where to write the adapter manifest (default <out-dir>/manifest.json)." };
        var modules = new Option<string[]>("--module") { Description = "Serve only this adapter module (repeatable; default all).", AllowMultipleArgumentsPerToken = false };
        var maxConnections = new Option<int>("--max-connections") { Description = "Most connections served at once.", DefaultValueFactory = _ => 64 };
        var maxPerClient = new Option<int>("--max-connections-per-client") { Description = "Most connections from one address at once.", DefaultValueFactory = _ => 8 };
        var idleTimeout = new Option<double>("--idle-timeout") { Description = "Seconds a connection may sit idle between requests before it is closed.", DefaultValueFactory = _ => 60 };
        var readTimeout = new Option<double>("--read-timeout") { Description = "Seconds allowed to receive the rest of a request frame.", DefaultValueFactory = _ => 120 };
        var writeTimeout = new Option<double>("--write-timeout") { Description = "Seconds allowed to send one response.", DefaultValueFactory = _ => 120 };
        var maxRows = new Option<int>("--max-rows-per-call") { Description = "Most rows (tokens) one lora_forward may carry.", DefaultValueFactory = _ => 1024 };
        var maxSessionValues = new Option<long>("--max-session-values") { Description = "Most recorded values (inputs and deltas) per session.", DefaultValueFactory = _ => 1L << 22 };
        var maxTotalValues = new Option<long>("--max-total-values") { Description = "Most recorded values over all open sessions.", DefaultValueFactory = _ => 1L << 25 };
        var maxSessions = new Option<int>("--max-sessions") { Description = "Most open sessions in total.", DefaultValueFactory = _ => 64 };
        var maxSessionsPerClient = new Option<int>("--max-sessions-per-client") { Description = "Most open sessions per client address.", DefaultValueFactory = _ => 4 };
        var proveMemory = new Option<long?>("--prove-memory-mb") { Description = "Proving memory budget in MiB (default: ZKLORA_PROVE_MEMORY_MB, else 4096); calls whose proof would need more are refused." };
        var sessionIdle = new Option<double>("--session-idle-timeout") { Description = "Minutes after which an unused open session expires (its calls are discarded; 0: never).", DefaultValueFactory = _ => 30 };
        var quiet = new Option<bool>("--quiet") { Description = "Do not log connections and errors." };
        var tlsCert = new Option<string?>("--tls-cert") { Description = "Serve over TLS with this certificate: a PEM file (with --tls-key, or with its key inside; intermediates may follow the certificate) or a PKCS#12 .pfx/.p12 (password from ZKLORA_TLS_PFX_PASSWORD)." };
        var tlsKey = new Option<string?>("--tls-key") { Description = "PEM private key of --tls-cert." };
        var tlsHandshake = new Option<double>("--tls-handshake-timeout") { Description = "Seconds a connection may take to complete its TLS handshake.", DefaultValueFactory = _ => 10 };
        var backend = BackendOption.Create();
        var json = new Option<bool>("--json")
        {
            Description = "Write one JSON object per event on standard output instead of text: {\"event\":\"manifest\",…}, " +
                          "{\"event\":\"listening\",\"address\":…,\"port\":…} (read the port of --port 0 from it), {\"event\":\"stopping\"}.",
        };
        var command = new Command("serve",
            "Serve a LoRA adapter to base-model users (party A): commit to it, write the manifest, answer lora_forward requests " +
            "with exact fixed-point deltas and record them for proving at end_inference. Runs until Ctrl+C.")
        {
            host, port, baseModel, adapter, outDir, manifest, modules, maxConnections, maxPerClient, idleTimeout, readTimeout, writeTimeout,
            maxRows, maxSessionValues, maxTotalValues, maxSessions, maxSessionsPerClient, proveMemory, sessionIdle, quiet, backend, json,
        };
        command.Options.Add(tlsCert);
        command.Options.Add(tlsKey);
        command.Options.Add(tlsHandshake);
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            try
            {
                var address = ListenAddress(parse.GetValue(host)!);
                int p = parse.GetValue(port);
                if (p is < 0 or > 65535) throw new ArgumentException("--port must be in 0–65535.");
                bool asJson = parse.GetValue(json);
                var endpoint = new IPEndPoint(address, p);
                // A port that is taken is reported now, before the adapter is loaded and committed (which
                // can take minutes); the real bind below still reports a port taken in between.
                if (p != 0) CheckBindable(endpoint);
                string dir = parse.GetValue(outDir)!;
                var selected = parse.GetValue(modules);
                static TimeSpan Seconds(double v, string name) => v > 0 && v <= int.MaxValue / 1000.0
                    ? TimeSpan.FromSeconds(v) : throw new ArgumentException($"{name} must be a positive number of seconds.");
                double idleMinutes = parse.GetValue(sessionIdle);
                if (!(idleMinutes >= 0 && idleMinutes <= int.MaxValue / 60000.0)) throw new ArgumentException("--session-idle-timeout must be a non-negative number of minutes.");
                long? memoryMb = parse.GetValue(proveMemory);
                if (memoryMb is < 1 or > (1L << 40)) throw new ArgumentException("--prove-memory-mb must be positive.");
                // The libraries log through ILogger; its lines go to stderr as plain text (none with --quiet).
                var log = parse.GetValue(quiet) ? null : PlainLineLogger.Serve(parse.InvocationConfiguration.Error);
                var progress = new ServeProgress(output, asJson, terminal: ReferenceEquals(output, Console.Out) && ServeProgress.ConsoleIsInteractive);
                string? certPath = parse.GetValue(tlsCert);
                if (certPath is null && parse.GetValue(tlsKey) is not null) throw new ArgumentException("--tls-key needs --tls-cert.");
                (System.Security.Cryptography.X509Certificates.X509Certificate2? Certificate, System.Security.Cryptography.X509Certificates.X509Certificate2Collection? Intermediates) tls =
                    certPath is null ? (null, null) : LoRAServerSocket.LoadCertificate(certPath, parse.GetValue(tlsKey),
                    Environment.GetEnvironmentVariable("ZKLORA_TLS_PFX_PASSWORD"));
                var handshakeTimeout = Seconds(parse.GetValue(tlsHandshake), "--tls-handshake-timeout");
                var server = LoRAServer.Load(parse.GetRequiredValue(adapter), dir, parse.GetValue(baseModel),
                    TuningEnvironment.Apply(new LoRAServerOptions
                    {
                        Modules = selected is { Length: > 0 } ? selected : null,
                        MaxRowsPerCall = parse.GetValue(maxRows),
                        MaxRecordedValuesPerSession = parse.GetValue(maxSessionValues),
                        MaxTotalRecordedValues = parse.GetValue(maxTotalValues),
                        MaxOpenSessions = parse.GetValue(maxSessions),
                        MaxOpenSessionsPerClient = parse.GetValue(maxSessionsPerClient),
                        MaxProvingMemoryBytes = memoryMb * (1L << 20),
                        SessionIdleTimeout = idleMinutes == 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMinutes(idleMinutes),
                        Logger = log,
                        Backend = BackendOption.Read(parse, backend),
                        ProofProgress = progress,
                    }));
                string manifestPath = Path.GetFullPath(parse.GetValue(manifest) ?? Path.Combine(dir, "manifest.json"));

                // Bind first: a manifest is written and announced only for a server that is listening.
                await using var socket = new LoRAServerSocket(server, endpoint, new LoRAServerSocketOptions
                {
                    MaxConnections = parse.GetValue(maxConnections),
                    MaxConnectionsPerClient = parse.GetValue(maxPerClient),
                    IdleTimeout = Seconds(parse.GetValue(idleTimeout), "--idle-timeout"),
                    ReadTimeout = Seconds(parse.GetValue(readTimeout), "--read-timeout"),
                    WriteTimeout = Seconds(parse.GetValue(writeTimeout), "--write-timeout"),
                    Logger = log,
                    TlsCertificate = tls.Certificate,
                    TlsIntermediates = tls.Intermediates,
                    TlsHandshakeTimeout = handshakeTimeout,
                });
                try
                {
                    await socket.StartAsync(ct);
                }
                catch (SocketException e)
                {
                    throw new IOException(BindFailure(endpoint, e), e);
                }
                server.WriteManifest(manifestPath);

                if (asJson)
                {
                    CliJson.Write(output, w =>
                    {
                        w.WriteString("event", "manifest");
                        w.WriteString("manifest", manifestPath);
                        w.WriteString("manifest_sha256", server.ManifestDigest);
                        w.WriteStartArray("modules");
                        foreach (var ip in server.InjectionPoints)
                        {
                            w.WriteStartObject();
                            w.WriteString("module", ip.ModuleName);
                            w.WriteNumber("in_dim", ip.InDim);
                            w.WriteNumber("out_dim", ip.OutDim);
                            w.WriteNumber("rank", ip.Rank);
                            w.WriteEndObject();
                        }
                        w.WriteEndArray();
                        w.WriteString("proofs", server.ProofDirectory);
                        w.WriteString("secret", server.SecretDirectory);
                        if (server.Manifest.ProofBackend == ProofBackend.Projection)
                            w.WriteString("adapter_proofs", AdapterManifest.AdapterProofsPath(manifestPath));
                        if (tls.Certificate is { } cert)
                            w.WriteString("tls_certificate_sha256", ContributorTlsOptions.Fingerprint(cert));
                    });
                }
                else
                {
                    output.WriteLine($"manifest:        {manifestPath}");
                    output.WriteLine($"manifest sha256: {server.ManifestDigest}");
                    if (server.Manifest.ProofBackend == ProofBackend.Projection)
                        output.WriteLine($"adapter proof:   {AdapterManifest.AdapterProofsPath(manifestPath)}");
                    output.WriteLine("The verifier must pin this manifest (the file or its SHA-256 digest) BEFORE inference;");
                    output.WriteLine("a manifest first seen after inference, or shipped with the proofs, proves nothing.");
                    foreach (var ip in server.InjectionPoints)
                        output.WriteLine($"serving:         {ip.ModuleName} ({ip.InDim}→{ip.OutDim}, rank {ip.Rank})");
                    output.WriteLine($"proofs go to:    {server.ProofDirectory}");
                    output.WriteLine(server.Manifest.ProofBackend == ProofBackend.Projection ? $"blinds (secret): {server.SecretDirectory}" : $"salts (secret):  {server.SecretDirectory}");
                    if (tls.Certificate is { } served)
                        output.WriteLine($"tls certificate: {served.Subject}, sha256 {ContributorTlsOptions.Fingerprint(served)} (clients: --tls-pin, or --tls-ca with its CA), valid until {served.NotAfter:yyyy-MM-dd}");
                }

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
                if (asJson)
                {
                    CliJson.Write(output, w =>
                    {
                        w.WriteString("event", "listening");
                        w.WriteString("address", socket.LocalEndPoint.Address.ToString());
                        w.WriteNumber("port", socket.LocalEndPoint.Port);
                        w.WriteString("manifest_sha256", server.ManifestDigest);
                    });
                }
                else output.WriteLine($"listening on {socket.LocalEndPoint} (Ctrl+C to stop)");
                try
                {
                    await Task.Delay(Timeout.Infinite, stop.Token);
                }
                catch (OperationCanceledException) { }
                if (asJson) CliJson.Write(output, w => w.WriteString("event", "stopping"));
                else output.WriteLine("stopping (requests in progress get a \"shutting down\" answer; accepted end_inference calls are finished after a restart)");
                await socket.StopAsync();
                return 0;
            }
            catch (Exception e) when (e is IOException or FormatException or ArgumentException or UnauthorizedAccessException
                                          or NotSupportedException or SocketException)
            {
                parse.InvocationConfiguration.Error.WriteLine($"zklora serve: {CliErrors.Describe(e)}");
                return ExitCodes.UsageOrInput;
            }
        });
        return command;
    }

    /// <summary>The address to listen on: an IP address, or a host name (e.g. localhost) resolved to its first IPv4 (else IPv6) address.</summary>
    /// <exception cref="ArgumentException">The name does not resolve.</exception>
    internal static IPAddress ListenAddress(string host)
    {
        if (IPAddress.TryParse(host, out var address)) return address;
        IPAddress[] all;
        try
        {
            all = Dns.GetHostAddresses(host);
        }
        catch (SocketException e)
        {
            throw new ArgumentException($"--host '{host}' is neither an IP address nor a host name that resolves: {e.Message}");
        }
        return all.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? all.FirstOrDefault()
            ?? throw new ArgumentException($"--host '{host}' resolves to no address.");
    }

    private static void CheckBindable(IPEndPoint endpoint)
    {
        var probe = new TcpListener(endpoint);
        try
        {
            probe.Start();
        }
        catch (SocketException e)
        {
            throw new IOException(BindFailure(endpoint, e), e);
        }
        finally
        {
            probe.Stop();
        }
    }

    private static string BindFailure(IPEndPoint endpoint, SocketException e) =>
        $"cannot listen on {endpoint.Address}:{endpoint.Port}: {e.Message}" + e.SocketErrorCode switch
        {
            SocketError.AddressAlreadyInUse => " (another process has this port; choose another with --port, or --port 0 for any free one)",
            SocketError.AddressNotAvailable => " (this machine has no such address; see --host)",
            SocketError.AccessDenied => " (ports below 1024 need privileges)",
            _ => "",
        };
}
