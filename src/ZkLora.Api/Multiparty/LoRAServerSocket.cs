using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ZkLora.Api.Multiparty;

/// <summary>
/// The contributor's TCP endpoint (docs/wire-protocol.md): frames of 8-byte big-endian length + UTF-8 JSON,
/// one request and one response per frame, several requests per connection. Connections are
/// served concurrently up to a limit; every bad frame or request is answered with
/// <c>{"type":"error","code":…,"error":…}</c> and the server keeps serving (a connection is closed only when
/// its byte stream can no longer be trusted: an oversized or truncated frame, or a read timeout).
/// Disposing stops it; a disposed endpoint cannot be started again.
/// </summary>
public sealed class LoRAServerSocket : IAsyncDisposable, IDisposable
{
    private readonly LoRAServer _server;
    private readonly IPEndPoint _endpoint;
    private readonly LoRAServerSocketOptions _options;
    private readonly SemaphoreSlim _slots;
    private readonly object _gate = new();
    private readonly HashSet<Task> _connections = new();
    private readonly HashSet<TcpClient> _clients = new();
    private readonly Dictionary<string, int> _perClient = new(StringComparer.Ordinal);
    private TcpListener? _listener;
    private CancellationTokenSource? _stopping;
    private Task? _acceptLoop;
    private long _connectionCounter;
    private bool _disposed;
    private readonly SslStreamCertificateContext? _tls;

    /// <summary>True when connections must use TLS (<see cref="LoRAServerSocketOptions.TlsCertificate"/> is set).</summary>
    public bool UsesTls => _tls is not null;

    /// <summary>
    /// Loads a TLS server certificate with its private key: a PEM certificate file (optionally
    /// followed by its intermediates) with a PEM key file (PKCS#8, RSA or EC; null when the key is in
    /// <paramref name="certificatePath"/>), or a PKCS#12 file (<c>.pfx</c>/<c>.p12</c>, no key file; the
    /// password, if any, from <paramref name="pkcs12Password"/>).
    /// </summary>
    /// <param name="certificatePath">PEM or PKCS#12 file.</param>
    /// <param name="keyPath">PEM private key file, or null.</param>
    /// <param name="pkcs12Password">Password of a PKCS#12 file, or null.</param>
    /// <returns>The certificate (with its key) and the intermediates found in the file.</returns>
    /// <exception cref="IOException">A file cannot be read.</exception>
    /// <exception cref="ArgumentException">The files do not hold a certificate with a matching private key.</exception>
    public static (X509Certificate2 Certificate, X509Certificate2Collection Intermediates) LoadCertificate(string certificatePath, string? keyPath, string? pkcs12Password = null)
    {
        ArgumentNullException.ThrowIfNull(certificatePath);
        try
        {
            string ext = Path.GetExtension(certificatePath).ToLowerInvariant();
            if (ext is ".pfx" or ".p12")
            {
                if (keyPath is not null) throw new ArgumentException($"'{certificatePath}' is PKCS#12 (it carries its key); do not give a key file with it.");
                var all = X509CertificateLoader.LoadPkcs12CollectionFromFile(certificatePath, pkcs12Password);
                var leaf = all.FirstOrDefault(c => c.HasPrivateKey)
                    ?? throw new ArgumentException($"'{certificatePath}' holds no certificate with a private key.");
                var rest = new X509Certificate2Collection();
                foreach (var c in all) if (!ReferenceEquals(c, leaf)) rest.Add(c);
                return (leaf, rest);
            }
            var cert = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
            var chain = new X509Certificate2Collection();
            chain.ImportFromPemFile(certificatePath);
            var intermediates = new X509Certificate2Collection();
            foreach (var c in chain) if (c.Thumbprint != cert.Thumbprint) intermediates.Add(c);
            return (cert, intermediates);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new ArgumentException($"Cannot load the TLS certificate from '{certificatePath}'{(keyPath is null ? "" : $" and '{keyPath}'")}: {e.Message}", e);
        }
    }

    /// <summary>Creates the endpoint (not yet listening; see <see cref="StartAsync"/>).</summary>
    /// <param name="server">The contributor.</param>
    /// <param name="endpoint">Address and port; port 0 lets the system choose (see <see cref="LocalEndPoint"/>).</param>
    /// <param name="options">Limits; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">A limit or timeout in <paramref name="options"/> is out of range.</exception>
    public LoRAServerSocket(LoRAServer server, IPEndPoint endpoint, LoRAServerSocketOptions? options = null)
    {
        _server = server ?? throw new ArgumentNullException(nameof(server));
        _endpoint = endpoint ?? throw new ArgumentNullException(nameof(endpoint));
        _options = options ?? new LoRAServerSocketOptions();
        if (_options.MaxFrameBytes < 1 || _options.MaxFrameBytes > WireFraming.MaxFrameBytes)
            throw new ArgumentOutOfRangeException(nameof(options), $"MaxFrameBytes must be in [1, {WireFraming.MaxFrameBytes}].");
        if (_options.MaxConnections < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxConnections must be at least 1.");
        if (_options.MaxConnectionsPerClient < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxConnectionsPerClient must be at least 1.");
        if (_options.MaxResponseBytes < 1 || _options.MaxResponseBytes > WireFraming.MaxFrameBytes)
            throw new ArgumentOutOfRangeException(nameof(options), $"MaxResponseBytes must be in [1, {WireFraming.MaxFrameBytes}].");
        CheckTimeout(_options.ShutdownGrace, nameof(LoRAServerSocketOptions.ShutdownGrace));
        CheckTimeout(_options.IdleTimeout, nameof(LoRAServerSocketOptions.IdleTimeout));
        CheckTimeout(_options.ReadTimeout, nameof(LoRAServerSocketOptions.ReadTimeout));
        CheckTimeout(_options.WriteTimeout, nameof(LoRAServerSocketOptions.WriteTimeout));
        CheckTimeout(_options.TlsHandshakeTimeout, nameof(LoRAServerSocketOptions.TlsHandshakeTimeout));
        if (_options.TlsCertificate is { } certificate)
        {
            if (!certificate.HasPrivateKey)
                throw new ArgumentException("The TLS certificate has no private key (give the key file, or a PKCS#12 file that contains it).", nameof(options));
            _tls = SslStreamCertificateContext.Create(certificate, _options.TlsIntermediates, offline: true);
        }
        _slots = new SemaphoreSlim(_options.MaxConnections, _options.MaxConnections);
    }

    // Checked here rather than when the first connection arrives, where a bad value would fail every connection.
    private static void CheckTimeout(TimeSpan timeout, string name)
    {
        if (timeout != Timeout.InfiniteTimeSpan && (timeout <= TimeSpan.Zero || timeout.TotalMilliseconds > int.MaxValue))
            throw new ArgumentOutOfRangeException("options", timeout, $"{name} must be positive (at most {int.MaxValue} ms) or Timeout.InfiniteTimeSpan.");
    }

    /// <summary>
    /// The largest request frame read: <see cref="LoRAServerSocketOptions.MaxFrameBytes"/>, lowered to
    /// what the server's budgets can use (rows per call × widest input × 32 bytes per value, the
    /// length of a shortest-round-trip double with its separator, plus 64 KiB), so a connection
    /// cannot make the server buffer more than a legitimate request needs.
    /// </summary>
    public int RequestFrameLimit =>
        (int)System.Math.Min(_options.MaxFrameBytes, (64L << 10) + _server.MaxInputValuesPerCall * 32 + _server.MaxRowsPerCall * 16);

    /// <summary>The bound address once started (with the actual port when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint?)_listener?.LocalEndpoint ?? throw new InvalidOperationException("The server is not started.");

    /// <summary>Connections being served right now.</summary>
    public int ActiveConnections { get { lock (_gate) return _clients.Count; } }

    /// <summary>Binds and starts accepting connections.</summary>
    /// <param name="cancellationToken">Checked before binding.</param>
    /// <returns>Completes once the endpoint listens.</returns>
    /// <exception cref="SocketException">The address cannot be bound (e.g. the port is in use).</exception>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_listener is not null) throw new InvalidOperationException("The server is already started.");
            var listener = new TcpListener(_endpoint);
            listener.Start();
            _listener = listener;
            _stopping = new CancellationTokenSource();
            _acceptLoop = AcceptLoopAsync(listener, _stopping.Token);
        }
        if (UsesTls) ServerLog.ListeningTls(Logger, LocalEndPoint);
        else ServerLog.Listening(Logger, LocalEndPoint);
        return Task.CompletedTask;
    }

    /// <summary>Stops accepting, closes every connection and waits for their handlers to finish (no-op when not started).</summary>
    /// <param name="cancellationToken">Stops waiting for the handlers (they still finish in the background).</param>
    /// <returns>Completes when the server has stopped.</returns>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        Task? accept;
        lock (_gate)
        {
            if (_listener is null || _stopping is null) return;
            _stopping.Cancel();
            _listener.Stop();
            accept = _acceptLoop;
        }
        if (accept is not null) await accept.WaitAsync(cancellationToken).ConfigureAwait(false);
        Task[] pending;
        lock (_gate) pending = _connections.ToArray();
        // Handlers in the middle of a request (proving, say) answer "shutting down" first; idle
        // ones return at once. Connections still open after the grace period are closed.
        try
        {
            await Task.WhenAll(pending).WaitAsync(_options.ShutdownGrace, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException) { }
        lock (_gate)
            foreach (var c in _clients) c.Close();
        await Task.WhenAll(pending).WaitAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _stopping.Dispose();
            _stopping = null;
            _listener = null;
            _acceptLoop = null;
        }
        ServerLog.Stopped(Logger);
    }

    /// <summary>Stops the server (see <see cref="StopAsync"/>); it cannot be started again.</summary>
    /// <returns>Completes when every connection handler has finished.</returns>
    public async ValueTask DisposeAsync()
    {
        lock (_gate) _disposed = true;
        await StopAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Stops the server, blocking until every connection handler has finished (prefer
    /// <see cref="DisposeAsync"/> in asynchronous code). It cannot be started again.
    /// </summary>
    public void Dispose()
    {
        // Safe to block: nothing in StopAsync needs the calling thread (ConfigureAwait(false) throughout).
        DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private async Task AcceptLoopAsync(TcpListener listener, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { break; }
            catch (ObjectDisposedException) { break; }
            catch (SocketException e) when (stop.IsCancellationRequested || e.SocketErrorCode == SocketError.OperationAborted) { break; }
            catch (SocketException e)
            {
                ServerLog.AcceptFailed(Logger, e.Message);
                continue;
            }
            long id = Interlocked.Increment(ref _connectionCounter);
            Task handler;
            lock (_gate)
            {
                if (stop.IsCancellationRequested) { client.Close(); break; }
                _clients.Add(client);
                handler = Task.Run(() => ServeConnectionAsync(client, id, stop));
                _connections.Add(handler);
            }
            _ = handler.ContinueWith(t => { lock (_gate) _connections.Remove(t); }, TaskScheduler.Default);
        }
    }

    private async Task ServeConnectionAsync(TcpClient client, long id, CancellationToken stop)
    {
        string peer = client.Client.RemoteEndPoint?.ToString() ?? "?";
        string address = (client.Client.RemoteEndPoint as IPEndPoint)?.Address.ToString() ?? "?";
        bool slot = _slots.Wait(0);
        bool counted = false;
        Stream? stream = null;
        try
        {
            client.NoDelay = true;
            stream = client.GetStream();
            if (!slot)
            {
                ServerLog.RefusedBusy(Logger, id, peer, _options.MaxConnections);
                // Over TLS the refusal would cost a handshake, which is what a flood is after: close at once.
                if (_tls is null)
                    await TrySendAsync(stream, WireMessages.ErrorBytes(WireErrorCode.Busy, $"The server is busy: {_options.MaxConnections} connections are open; try again later."), stop).ConfigureAwait(false);
                return;
            }
            lock (_gate)
            {
                _perClient.TryGetValue(address, out int n);
                if (n < _options.MaxConnectionsPerClient)
                {
                    _perClient[address] = n + 1;
                    counted = true;
                }
            }
            if (!counted)
            {
                ServerLog.RefusedPerClient(Logger, id, peer, _options.MaxConnectionsPerClient);
                if (_tls is null)
                    await TrySendAsync(stream, WireMessages.ErrorBytes(WireErrorCode.Busy, $"Too many connections from your address ({_options.MaxConnectionsPerClient}); close one or try again later."), stop).ConfigureAwait(false);
                return;
            }
            if (_tls is not null)
            {
                stream = await HandshakeAsync(client, (NetworkStream)stream, id, peer, stop).ConfigureAwait(false);
                if (stream is null) return;
            }
            if (_tls is null) ServerLog.Connected(Logger, id, peer);
            else ServerLog.ConnectedTls(Logger, id, peer, ((SslStream)stream).SslProtocol);
            while (!stop.IsCancellationRequested)
            {
                // Wait for the next request's first byte (a zero-byte read completes when data is
                // available). An idle connection is closed silently: there is no request to answer,
                // and an unsolicited error frame would be read as the answer to the client's next request.
                using (var idle = CancellationTokenSource.CreateLinkedTokenSource(stop))
                {
                    idle.CancelAfter(_options.IdleTimeout);
                    try
                    {
                        await stream.ReadAsync(Memory<byte>.Empty, idle.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                    {
                        ServerLog.IdleClosing(Logger, id, peer, _options.IdleTimeout.TotalSeconds);
                        return;
                    }
                }
                byte[]? frame;
                using (var read = CancellationTokenSource.CreateLinkedTokenSource(stop))
                {
                    read.CancelAfter(_options.ReadTimeout);
                    try
                    {
                        frame = await WireFraming.ReadFrameAsync(stream, RequestFrameLimit, read.Token).ConfigureAwait(false);
                    }
                    catch (WireFrameException e)
                    {
                        ServerLog.BadFrame(Logger, id, peer, ServerLog.Printable(e.Message));
                        await TrySendAsync(stream, WireMessages.ErrorBytes(e.Code, e.Message), stop).ConfigureAwait(false);
                        if (e.StreamDesynchronized) return;
                        continue;
                    }
                    catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                    {
                        ServerLog.ReadTimeout(Logger, id, peer);
                        await TrySendAsync(stream, WireMessages.ErrorBytes(WireErrorCode.ReadTimeout, $"Read timeout: the request frame did not arrive completely within {_options.ReadTimeout.TotalSeconds:0} s; closing the connection."), stop).ConfigureAwait(false);
                        return;
                    }
                }
                if (frame is null) return; // the peer closed the connection between frames
                byte[] response = await HandleAsync(frame, id, peer, address, stop).ConfigureAwait(false);
                frame = null;
                // Not linked to the stop signal: a request being answered when shutdown begins still
                // gets its answer (or the "shutting down" error) within the write timeout.
                if (!await TrySendAsync(stream, response, CancellationToken.None).ConfigureAwait(false)) return;
                if (stop.IsCancellationRequested) return;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            ServerLog.ConnectionError(Logger, id, peer, ServerLog.Printable(e.Message));
        }
        catch (Exception e)
        {
            // Never let one connection's failure fault the server.
            ServerLog.UnexpectedError(Logger, id, peer, e);
        }
        finally
        {
            if (slot) _slots.Release();
            lock (_gate)
            {
                _clients.Remove(client);
                if (counted)
                {
                    if (_perClient[address] <= 1) _perClient.Remove(address);
                    else _perClient[address]--;
                }
            }
            if (stream is SslStream ssl) await ssl.DisposeAsync().ConfigureAwait(false);
            client.Dispose();
            ServerLog.Closed(Logger, id, peer);
        }
    }

    /// <summary>
    /// The server side of a connection's TLS handshake, bounded by <see cref="LoRAServerSocketOptions.TlsHandshakeTimeout"/>
    /// (the slot is held meanwhile, so a peer that never finishes is cut off). A peer that starts
    /// with a plain frame (its first byte is a length prefix's high byte, 0, where a TLS record
    /// starts with 0x16) is told in a plain frame to use TLS. Returns null when the connection is to be closed.
    /// </summary>
    private async Task<SslStream?> HandshakeAsync(TcpClient client, NetworkStream stream, long id, string peer, CancellationToken stop)
    {
        using var handshake = CancellationTokenSource.CreateLinkedTokenSource(stop);
        handshake.CancelAfter(_options.TlsHandshakeTimeout);
        var first = new byte[1];
        try
        {
            int n = await client.Client.ReceiveAsync(first, SocketFlags.Peek, handshake.Token).ConfigureAwait(false);
            if (n == 0) return null;
            if (first[0] == 0)
            {
                ServerLog.PlainFrameOnTls(Logger, id, peer);
                await TrySendAsync(stream, WireMessages.ErrorBytes(WireErrorCode.TlsRequired, "This contributor requires TLS: connect with TLS (zklora infer --tls, or a tls://host:port contributor)."), stop).ConfigureAwait(false);
                // Closing with the client's frame unread would reset the connection, and the client,
                // perhaps still sending, would see "broken pipe" instead of the answer: end our side,
                // then discard what it sends (at most 1 MiB, within the handshake timeout) until it closes.
                try
                {
                    client.Client.Shutdown(SocketShutdown.Send);
                    var sink = new byte[16 << 10];
                    for (int total = 0; total < 1 << 20;)
                    {
                        int read = await stream.ReadAsync(sink, handshake.Token).ConfigureAwait(false);
                        if (read == 0) break;
                        total += read;
                    }
                }
                catch (Exception e) when (e is IOException or SocketException or OperationCanceledException) { }
                return null;
            }
            var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
            try
            {
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = _tls,
                    ClientCertificateRequired = false,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                }, handshake.Token).ConfigureAwait(false);
                return ssl;
            }
            catch
            {
                await ssl.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            ServerLog.TlsHandshakeTimeout(Logger, id, peer, _options.TlsHandshakeTimeout.TotalSeconds);
            return null;
        }
        catch (Exception e) when (e is AuthenticationException or IOException or SocketException)
        {
            ServerLog.TlsHandshakeFailed(Logger, id, peer, ServerLog.Printable(e.Message));
            return null;
        }
    }

    /// <summary>Answers one request frame; never throws for bad input.</summary>
    private async Task<byte[]> HandleAsync(byte[] frame, long id, string peer, string address, CancellationToken stop)
    {
        string? ending = null;
        try
        {
            switch (WireMessages.ParseRequest(frame, _server.MaxInputValuesPerCall, _server.MaxRowsPerCall))
            {
                case InitRequest:
                    return WireMessages.InitResponseBytes(_server.Describe());
                case OpenSessionRequest o:
                {
                    string token = _server.OpenSession(o.SessionId, address);
                    ServerLog.SessionOpened(Logger, id, peer, ServerLog.Printable(o.SessionId));
                    return WireMessages.OpenSessionResponseBytes(new OpenSessionResponse(o.SessionId, token));
                }
                case LoraForwardRequest f:
                {
                    int limit = _options.MaxResponseBytes;
                    _server.LoraForwardCore(f.SessionId, f.SessionToken, f.SubmoduleName, f.InputShape, f.Rows, r =>
                    {
                        var c = r.Call.ToFSharp();
                        var bytes = WireMessages.LoraForwardResponseBytes(new LoraForwardResponse(c.SessionId, c.ModuleName, c.InvocationIndex,
                            c.InputShape, c.OutputShape, r.Output, c.Delta, c.Scaling.Num, c.Scaling.Den, r.Call.FixedPoint));
                        // Refused before the call is committed: nothing is recorded, the index does not advance.
                        return bytes.Length <= limit ? bytes
                            : throw new LoraRequestException($"The response would be {bytes.Length} bytes, above the {limit}-byte frame limit; nothing was recorded. Send fewer rows per call.", WireErrorCode.BudgetExceeded);
                    }, out var rendered);
                    return rendered!;
                }
                case EndInferenceRequest e:
                {
                    ending = e.SessionId;
                    ServerLog.EndInferenceReceived(Logger, id, peer, ServerLog.Printable(e.SessionId));
                    var r = await _server.EndInferenceCoreAsync(e.SessionId, e.SessionToken, null, stop).ConfigureAwait(false);
                    ServerLog.SessionProved(Logger, id, peer, ServerLog.Printable(e.SessionId), r.RecordedCalls, r.ProofsWritten);
                    return WireMessages.EndInferenceResponseBytes(r);
                }
                case ProofProgressRequest pp:
                    return WireMessages.ProofProgressResponseBytes(_server.GetProofProgress(pp.SessionId, pp.SessionToken));
                default:
                    return WireMessages.ErrorBytes(WireErrorCode.InternalError, "Unsupported request.");
            }
        }
        catch (WireProtocolException e) { return Refuse(e.Code, e.Message); }
        catch (LoraRequestException e) { return Refuse(e.Code, e.Message); }
        catch (ProofGenerationException e)
        {
            return Refuse(WireErrorCode.ProofFailed, $"end_inference: {e.Message}; the session's calls stay recorded.");
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            ServerLog.ShuttingDownDuringRequest(Logger, id, peer);
            return WireMessages.ErrorBytes(WireErrorCode.ShuttingDown, ending is not null && _server.Durable
                ? "The server is shutting down. end_inference was accepted and logged: the proofs will be written when the server restarts."
                : "The server is shutting down.");
        }
        catch (Exception e)
        {
            // A bug or an environment failure (disk full while writing proofs, ...): report it to the
            // peer without a stack trace and keep serving.
            ServerLog.InternalError(Logger, id, peer, e);
            return WireMessages.ErrorBytes(WireErrorCode.InternalError, $"Internal server error ({e.GetType().Name}): {e.Message}");
        }

        byte[] Refuse(WireErrorCode code, string message)
        {
            ServerLog.RequestRefused(Logger, id, peer, ServerLog.Printable(message));
            return WireMessages.ErrorBytes(code, message);
        }
    }

    private async Task<bool> TrySendAsync(Stream stream, byte[] payload, CancellationToken stop)
    {
        using var write = CancellationTokenSource.CreateLinkedTokenSource(stop);
        write.CancelAfter(_options.WriteTimeout);
        try
        {
            await WireFraming.WriteFrameAsync(stream, payload, write.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            return false;
        }
    }

    // Peers choose ids, module names and bytes that end up in log values: ServerLog.Printable escapes them.
    private ILogger Logger => _options.Logger ?? NullLogger.Instance;
}
