using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ZkLora.Api.Multiparty;

/// <summary>
/// One TCP connection to a contributor, carrying requests one at a time (concurrent callers
/// queue). Every request has a time limit; a failed exchange closes the connection, and the next
/// request reconnects. Disposing aborts a request in flight and closes the connection for good.
/// </summary>
public sealed class ContributorConnection : IAsyncDisposable, IDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly CancellationTokenSource _disposing = new();
    private TcpClient? _client;
    private Stream? _stream;
    private ContributorTlsOptions? _tlsOptions;
    private volatile bool _disposed;

    /// <summary>Creates a connection (connected lazily on the first request).</summary>
    /// <param name="endpoint">The contributor.</param>
    /// <param name="requestTimeout">Time limit of one request/response exchange (default 2 minutes).</param>
    /// <exception cref="ArgumentOutOfRangeException">The timeout is not positive (nor <see cref="Timeout.InfiniteTimeSpan"/>).</exception>
    public ContributorConnection(ContributorEndpoint endpoint, TimeSpan? requestTimeout = null)
    {
        Endpoint = endpoint ?? throw new ArgumentNullException(nameof(endpoint));
        RequestTimeout = CheckTimeout(requestTimeout ?? TimeSpan.FromMinutes(2), nameof(requestTimeout));
    }

    private static TimeSpan CheckTimeout(TimeSpan timeout, string name) =>
        timeout == Timeout.InfiniteTimeSpan || (timeout > TimeSpan.Zero && timeout.TotalMilliseconds <= int.MaxValue)
            ? timeout
            : throw new ArgumentOutOfRangeException(name, timeout, "A timeout must be positive (at most int.MaxValue ms) or Timeout.InfiniteTimeSpan.");

    /// <summary>The contributor.</summary>
    public ContributorEndpoint Endpoint { get; }

    /// <summary>Whom to trust when <see cref="ContributorEndpoint.UseTls"/> is set (null: the system's trusted roots and the host name).</summary>
    public ContributorTlsOptions? TlsOptions
    {
        get => _tlsOptions;
        init => _tlsOptions = value;
    }

    internal void SetTlsOptions(ContributorTlsOptions? options) => _tlsOptions = options;

    /// <summary>Time limit of one exchange (end_inference uses <see cref="EndInferenceTimeout"/>).</summary>
    public TimeSpan RequestTimeout { get; }

    /// <summary>Time limit of <c>end_inference</c> (proving may take long); default 2 hours.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive (nor <see cref="Timeout.InfiniteTimeSpan"/>).</exception>
    public TimeSpan EndInferenceTimeout
    {
        get => _endInferenceTimeout;
        init => _endInferenceTimeout = CheckTimeout(value, nameof(EndInferenceTimeout));
    }

    private readonly TimeSpan _endInferenceTimeout = TimeSpan.FromHours(2);

    /// <summary>Sends one frame and returns the response frame.</summary>
    /// <param name="request">The request payload (UTF-8 JSON, see <see cref="WireMessages"/>).</param>
    /// <param name="cancellationToken">Cancels the exchange (the connection is then closed).</param>
    /// <returns>The response payload.</returns>
    /// <exception cref="IOException">The connection failed, or the contributor closed it without answering.</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    /// <exception cref="ObjectDisposedException">The connection is disposed, or was disposed during the exchange.</exception>
    public Task<byte[]> ExchangeAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken = default) =>
        ExchangeAsync(request, RequestTimeout, cancellationToken);

    private async Task<byte[]> ExchangeAsync(ReadOnlyMemory<byte> request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        cts.CancelAfter(timeout);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_stream is not null)
            {
                // A reused connection may have been closed by the server while idle; then the
                // request was never read, and it is sent again once on a fresh connection. (A
                // lora_forward the server did process is never answered twice: its invocation
                // index would not match, which the client checks.)
                try
                {
                    return await SendAndReceiveAsync(request, cts.Token).ConfigureAwait(false);
                }
                catch (IOException e) when (e is not WireFrameException)
                {
                    CloseLocked();
                }
            }
            return await SendAndReceiveAsync(request, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            CloseLocked();
            if (_disposed && e is not ObjectDisposedException)
                throw new ObjectDisposedException(nameof(ContributorConnection), $"The connection to contributor {Endpoint} was disposed during the request.");
            if (e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
                throw new TimeoutException($"Contributor {Endpoint} did not answer within {timeout.TotalSeconds:0} s.", e);
            if (e is SocketException se) throw new IOException($"Connection to contributor {Endpoint} failed: {se.Message}", se);
            throw;
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<byte[]> SendAndReceiveAsync(ReadOnlyMemory<byte> request, CancellationToken token)
    {
        if (_stream is null)
            {
                var client = new TcpClient { NoDelay = true };
                try
                {
                    await client.ConnectAsync(Endpoint.Host, Endpoint.Port, token).ConfigureAwait(false);
                }
                catch (SocketException e)
                {
                    client.Dispose();
                    throw new IOException($"Cannot connect to contributor {Endpoint}: {e.Message}", e);
                }
                _client = client;
                _stream = client.GetStream();
                if (Endpoint.UseTls) _stream = await HandshakeAsync(_stream, token).ConfigureAwait(false);
            }
            await WireFraming.WriteFrameAsync(_stream, request, token).ConfigureAwait(false);
            var response = await WireFraming.ReadFrameAsync(_stream, WireFraming.MaxFrameBytes, token).ConfigureAwait(false);
            return response ?? throw new IOException($"Contributor {Endpoint} closed the connection without answering.");
    }

    /// <summary>The client side of the TLS handshake, bounded by the request's time limit (and <see cref="ContributorTlsOptions.HandshakeTimeout"/>).</summary>
    private async Task<SslStream> HandshakeAsync(Stream inner, CancellationToken token)
    {
        var options = _tlsOptions ?? new ContributorTlsOptions();
        string reason = "";
        var ssl = new SslStream(inner, leaveInnerStreamOpen: false);
        using var handshake = CancellationTokenSource.CreateLinkedTokenSource(token);
        if (options.HandshakeTimeout is { } limit) handshake.CancelAfter(limit);
        var auth = new SslClientAuthenticationOptions
        {
            TargetHost = Endpoint.Host,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = (_, certificate, _, errors) => options.Accepts(certificate, errors, out reason),
        };
        if (options.TrustedCertificates.Count > 0)
        {
            var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
            policy.CustomTrustStore.AddRange(options.TrustedCertificates);
            auth.CertificateChainPolicy = policy;
        }
        try
        {
            await ssl.AuthenticateAsClientAsync(auth, handshake.Token).ConfigureAwait(false);
            return ssl;
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw new IOException(reason.Length > 0
                ? $"TLS: contributor {Endpoint} is not trusted: {reason}."
                : $"TLS handshake with contributor {Endpoint} failed: {e.Message} (does it serve TLS? zklora serve --tls-cert).", e);
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw new TimeoutException($"TLS handshake with contributor {Endpoint} did not complete within {options.HandshakeTimeout!.Value.TotalSeconds:0.###} s.");
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Asks for the injection points.</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The contributor's answer.</returns>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    /// <exception cref="WireProtocolException">The contributor answered with an error or a malformed response.</exception>
    public async Task<InitResponse> InitAsync(CancellationToken cancellationToken = default) =>
        WireMessages.ParseInitResponse(await ExchangeAsync(WireMessages.InitRequestBytes(), cancellationToken).ConfigureAwait(false));

    private readonly Dictionary<string, string> _tokens = new(StringComparer.Ordinal);

    /// <summary>
    /// Opens a session on the contributor and keeps its secret token for the session's later
    /// requests (<see cref="LoraForwardAsync"/> opens the session by itself when needed).
    /// </summary>
    /// <param name="sessionId">A new session id.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The contributor's answer (with the token).</returns>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    /// <exception cref="WireProtocolException">The contributor refused (e.g. the id is taken or a limit is reached) or answered malformed.</exception>
    public async Task<OpenSessionResponse> OpenSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        var r = WireMessages.ParseOpenSessionResponse(await ExchangeAsync(WireMessages.OpenSessionRequestBytes(sessionId), cancellationToken).ConfigureAwait(false));
        if (r.SessionId != sessionId) throw new WireProtocolException($"open_session_response: the contributor answered for session '{WireMessages.Printable(r.SessionId)}', not '{sessionId}'.");
        lock (_tokens) _tokens[sessionId] = r.SessionToken;
        return r;
    }

    private async Task<string> TokenAsync(string sessionId, CancellationToken cancellationToken)
    {
        lock (_tokens)
            if (_tokens.TryGetValue(sessionId, out var t)) return t;
        return (await OpenSessionAsync(sessionId, cancellationToken).ConfigureAwait(false)).SessionToken;
    }

    /// <summary>Sends one module call (opening the session first if this connection has no token for it).</summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="moduleName">The injection point.</param>
    /// <param name="inputShape">[rows, in_dim] or [batch, seq, in_dim].</param>
    /// <param name="rows">The input as rows × in_dim.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The contributor's answer.</returns>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    /// <exception cref="WireProtocolException">The contributor answered with an error or a malformed response.</exception>
    public async Task<LoraForwardResponse> LoraForwardAsync(string sessionId, string moduleName, long[] inputShape, IReadOnlyList<double[]> rows, CancellationToken cancellationToken = default)
    {
        string token = await TokenAsync(sessionId, cancellationToken).ConfigureAwait(false);
        return WireMessages.ParseLoraForwardResponse(await ExchangeAsync(WireMessages.LoraForwardRequestBytes(sessionId, token, moduleName, inputShape, rows), cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Ends a session (the contributor proves its calls), presenting the token from <see cref="OpenSessionAsync"/>.</summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The contributor's answer.</returns>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="TimeoutException">No answer within <see cref="EndInferenceTimeout"/>.</exception>
    /// <exception cref="WireProtocolException">The contributor answered with an error (e.g. proving is unavailable) or a malformed response.</exception>
    /// <exception cref="InvalidOperationException">This connection never opened the session.</exception>
    public Task<EndInferenceResponse> EndInferenceAsync(string sessionId, CancellationToken cancellationToken = default) =>
        EndInferenceAsync(sessionId, EndInferenceTimeout, cancellationToken);

    /// <summary>Ends a session, waiting at most <paramref name="timeout"/> for the contributor's answer.</summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="timeout">How long to wait for the answer (proving can take long; Timeout.InfiniteTimeSpan: no limit).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The contributor's answer.</returns>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="TimeoutException">No answer within <paramref name="timeout"/>.</exception>
    /// <exception cref="WireProtocolException">The contributor answered with an error or a malformed response.</exception>
    /// <exception cref="InvalidOperationException">This connection never opened the session.</exception>
    internal async Task<EndInferenceResponse> EndInferenceAsync(string sessionId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        CheckTimeout(timeout, nameof(timeout));
        string? token;
        lock (_tokens) _tokens.TryGetValue(sessionId, out token);
        if (token is null) throw new InvalidOperationException($"Session '{WireMessages.Printable(sessionId)}' was not opened through this connection (no session token).");
        return WireMessages.ParseEndInferenceResponse(await ExchangeAsync(WireMessages.EndInferenceRequestBytes(sessionId, token), timeout, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Asks how far the proving of a session whose <c>end_inference</c> is in flight has come. Uses a
    /// short-lived connection of its own, so it can be called while this connection waits for the
    /// <c>end_inference</c> answer. A contributor that predates <c>proof_progress</c> answers with an
    /// error (a <see cref="WireProtocolException"/> whose <see cref="WireProtocolException.Code"/> is
    /// <see cref="WireErrorCode.UnknownRequestType"/>, or <see cref="WireErrorCode.Unspecified"/> from a
    /// <c>zklora.wire.v2</c> contributor).
    /// </summary>
    /// <param name="sessionId">The session (opened through this connection: its token is presented).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The contributor's answer.</returns>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="TimeoutException">No answer within <see cref="RequestTimeout"/>.</exception>
    /// <exception cref="WireProtocolException">The contributor answered with an error (unknown request, session not being proved) or a malformed response.</exception>
    /// <exception cref="InvalidOperationException">This connection never opened the session.</exception>
    public async Task<ProofProgressResponse> ProofProgressAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        string? token;
        lock (_tokens) _tokens.TryGetValue(sessionId, out token);
        if (token is null) throw new InvalidOperationException($"Session '{WireMessages.Printable(sessionId)}' was not opened through this connection (no session token).");
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        cts.CancelAfter(RequestTimeout);
        using var client = new TcpClient { NoDelay = true };
        try
        {
            await client.ConnectAsync(Endpoint.Host, Endpoint.Port, cts.Token).ConfigureAwait(false);
            // The same transport as the session's own connection: TLS with the same trust when the endpoint asks for it.
            await using Stream stream = Endpoint.UseTls
                ? await HandshakeAsync(client.GetStream(), cts.Token).ConfigureAwait(false)
                : client.GetStream();
            await WireFraming.WriteFrameAsync(stream, WireMessages.ProofProgressRequestBytes(sessionId, token), cts.Token).ConfigureAwait(false);
            var response = await WireFraming.ReadFrameAsync(stream, WireFraming.MaxFrameBytes, cts.Token).ConfigureAwait(false)
                ?? throw new IOException($"Contributor {Endpoint} closed the connection without answering.");
            return WireMessages.ParseProofProgressResponse(response);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested && !_disposing.IsCancellationRequested)
        {
            throw new TimeoutException($"Contributor {Endpoint} did not answer proof_progress within {RequestTimeout.TotalSeconds:0} s.", e);
        }
        catch (SocketException e)
        {
            throw new IOException($"Connection to contributor {Endpoint} failed: {e.Message}", e);
        }
    }

    private void CloseLocked()
    {
        _stream?.Dispose();
        _client?.Dispose();
        _stream = null;
        _client = null;
    }

    /// <summary>Aborts a request in flight and closes the connection for good.</summary>
    public void Dispose()
    {
        if (!BeginDispose()) return;
        _lock.Wait();
        try { CloseLocked(); }
        finally { _lock.Release(); }
    }

    /// <summary>Aborts a request in flight and closes the connection for good.</summary>
    /// <returns>Completes once the connection is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (!BeginDispose()) return;
        await _lock.WaitAsync().ConfigureAwait(false);
        try { CloseLocked(); }
        finally { _lock.Release(); }
    }

    private bool BeginDispose()
    {
        lock (_disposing)
        {
            if (_disposed) return false;
            _disposed = true;
        }
        // Wakes an exchange waiting on the network, which then releases the lock. (The source is
        // not disposed: an exchange queued on the lock still links to its token.)
        _disposing.Cancel();
        return true;
    }
}
