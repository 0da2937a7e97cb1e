using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using ZkLora.Api.Multiparty;
using ZkLora.Model;
using Xunit;

namespace ZkLora.Multiparty.Tests;

/// <summary>Self-signed certificates made in the test, as PEM files and in memory.</summary>
internal sealed class TestCertificate : IDisposable
{
    private TestCertificate(X509Certificate2 withKey, string certPem, string keyPem)
    {
        WithKey = withKey;
        Public = X509CertificateLoader.LoadCertificate(withKey.RawData);
        CertPem = certPem;
        KeyPem = keyPem;
    }

    /// <summary>The certificate with its private key (what the server uses).</summary>
    public X509Certificate2 WithKey { get; }

    /// <summary>The certificate alone (what a client trusts).</summary>
    public X509Certificate2 Public { get; }

    public string CertPem { get; }
    public string KeyPem { get; }

    public string Sha256 => Convert.ToHexStringLower(SHA256.HashData(Public.RawData));

    /// <summary>A self-signed P-256 server certificate naming <paramref name="dnsName"/> and, optionally, 127.0.0.1.</summary>
    public static TestCertificate Create(string dnsName = "localhost", bool loopbackIp = true)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsName}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(dnsName);
        if (loopbackIp) san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        // A PKCS#12 round trip gives a key every platform's TLS stack can use.
        var withKey = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
        return new TestCertificate(withKey, created.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    public void Dispose()
    {
        WithKey.Dispose();
        Public.Dispose();
    }
}

/// <summary>The contributor endpoint over TLS: sessions, trust failures, mixed plain/TLS peers, stalled handshakes, limits.</summary>
public class TlsTests(DemoFixture fx) : IClassFixture<DemoFixture>
{
    private static LoRAServerSocketOptions Tls(TestCertificate cert, LoRAServerSocketOptions? options = null) =>
        (options ?? new LoRAServerSocketOptions()) with { TlsCertificate = cert.WithKey };

    private static ContributorEndpoint TlsEndpoint(RunningServer s) => s.Endpoint with { UseTls = true };

    private static ContributorTlsOptions Trusting(TestCertificate cert) => new() { TrustedCertificates = [cert.Public] };

    /// <summary>A TLS connection that trusts anything, for sending raw frames inside TLS.</summary>
    private static async Task<(TcpClient Tcp, SslStream Ssl)> RawTlsAsync(RunningServer s, CancellationToken ct)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, s.Socket.LocalEndPoint.Port, ct);
        var ssl = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, ct);
        return (tcp, ssl);
    }

    private static string ErrorOf(byte[]? frame)
    {
        Assert.NotNull(frame);
        using var d = JsonDocument.Parse(frame!);
        Assert.Equal("error", d.RootElement.GetProperty("type").GetString());
        return d.RootElement.GetProperty("error").GetString()!;
    }

    /// <summary>A full init over a fresh TLS connection that trusts <paramref name="cert"/>: the server still serves.</summary>
    private static async Task AssertServesOverTlsAsync(RunningServer s, TestCertificate cert, CancellationToken ct)
    {
        await using var conn = new ContributorConnection(TlsEndpoint(s)) { TlsOptions = Trusting(cert) };
        var init = await conn.InitAsync(ct);
        Assert.Equal(s.Server.ManifestDigest, init.ManifestDigest);
    }

    [Fact(Timeout = 240000)]
    public async Task A_session_over_TLS_gives_the_same_loss_and_records_as_over_plain_TCP()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(200));
        using var cert = TestCertificate.Create();
        await using var tls = await RunningServer.StartAsync(fx.Adapter, socketOptions: Tls(cert));
        await using var plain = await RunningServer.StartAsync(fx.Adapter);
        Assert.True(tls.Socket.UsesTls);
        Assert.False(plain.Socket.UsesTls);

        using var model = Gpt2Model.Load(fx.Paths.ModelDirectory);
        double tlsLoss;
        await using (var client = new BaseModelClient(model, [TlsEndpoint(tls)], CombineMode.AddDelta, "tls-1"))
        {
            client.TlsOptions = Trusting(cert);
            await client.InitAndPatchAsync(cts.Token);
            Assert.Equal(tls.Server.ManifestDigest, client.ManifestDigests[TlsEndpoint(tls)]);
            tlsLoss = await client.ForwardLossAsync(DemoModel.SampleText, cts.Token);
            Assert.Equal(client.GetTranscript().Entries.Count,
                DemoModel.AdapterModules.Sum(m => tls.Server.GetRecordedCalls("tls-1").Count(c => c.ModuleName == m)));
            Assert.NotEmpty(tls.Server.GetRecordedCalls("tls-1"));
        }
        await using (var client = new BaseModelClient(model, [plain.Endpoint], CombineMode.AddDelta, "plain-1"))
        {
            await client.InitAndPatchAsync(cts.Token);
            Assert.Equal(tlsLoss, await client.ForwardLossAsync(DemoModel.SampleText, cts.Token));
        }
    }

    [Fact(Timeout = 60000)]
    public async Task A_certificate_loaded_from_PEM_files_serves_and_a_pinned_client_connects()
    {
        using var cts = Timeouts.Test();
        using var cert = TestCertificate.Create();
        using var dir = new TempDir();
        string certPath = dir.Combine("server.crt"), keyPath = dir.Combine("server.key");
        File.WriteAllText(certPath, cert.CertPem);
        File.WriteAllText(keyPath, cert.KeyPem);
        var (loaded, intermediates) = LoRAServerSocket.LoadCertificate(certPath, keyPath);
        Assert.True(loaded.HasPrivateKey);
        Assert.Empty(intermediates);
        Assert.Equal(cert.Sha256, ContributorTlsOptions.Fingerprint(loaded));
        await using var s = await RunningServer.StartAsync(fx.Adapter, socketOptions: new LoRAServerSocketOptions { TlsCertificate = loaded });

        // Pinning alone accepts a self-signed certificate (chain and name are not checked)...
        string pin = string.Join(":", Enumerable.Range(0, 32).Select(i => cert.Sha256.Substring(2 * i, 2).ToUpperInvariant()));
        await using (var pinned = new ContributorConnection(TlsEndpoint(s)) { TlsOptions = new ContributorTlsOptions { PinnedSha256 = [pin] } })
            Assert.Equal(s.Server.ManifestDigest, (await pinned.InitAsync(cts.Token)).ManifestDigest);
        // ...and the PEM file itself can be the trusted certificate.
        await using (var trusting = new ContributorConnection(TlsEndpoint(s)) { TlsOptions = new ContributorTlsOptions { TrustedCertificates = ContributorTlsOptions.LoadCertificates(certPath) } })
            Assert.Equal(s.Server.ManifestDigest, (await trusting.InitAsync(cts.Token)).ManifestDigest);

        // A certificate file without its key is refused when the server is configured.
        File.WriteAllText(dir.Combine("nokey.pem"), cert.CertPem);
        Assert.Throws<ArgumentException>(() => LoRAServerSocket.LoadCertificate(dir.Combine("nokey.pem"), null));
        Assert.Throws<ArgumentException>(() => new LoRAServerSocket(s.Server, new IPEndPoint(IPAddress.Loopback, 0), new LoRAServerSocketOptions { TlsCertificate = cert.Public }));
    }

    public static TheoryData<string, string> Distrust => new()
    {
        { "system-roots", "does not chain to a trusted root of this system" },
        { "other-ca", "does not chain to a trusted certificate given" },
        { "wrong-pin", "is not a pinned one" },
        { "wrong-name", "does not name the host" },
    };

    [Theory(Timeout = 60000)]
    [MemberData(nameof(Distrust))]
    public async Task A_client_that_does_not_trust_the_certificate_fails_with_a_clear_error_and_the_server_keeps_serving(string trust, string expected)
    {
        using var cts = Timeouts.Test();
        using var cert = trust == "wrong-name" ? TestCertificate.Create("contributor.example", loopbackIp: false) : TestCertificate.Create();
        using var other = TestCertificate.Create();
        await using var s = await RunningServer.StartAsync(fx.Adapter, socketOptions: Tls(cert));
        ContributorTlsOptions? options = trust switch
        {
            "system-roots" => null,
            "other-ca" => Trusting(other),
            "wrong-pin" => new ContributorTlsOptions { PinnedSha256 = [other.Sha256] },
            "wrong-name" => Trusting(cert),
            _ => throw new ArgumentOutOfRangeException(nameof(trust)),
        };
        await using (var conn = new ContributorConnection(TlsEndpoint(s)) { TlsOptions = options })
        {
            var e = await Assert.ThrowsAsync<IOException>(() => conn.InitAsync(cts.Token));
            Assert.Contains($"TLS: contributor tls://127.0.0.1:{s.Socket.LocalEndPoint.Port} is not trusted", e.Message);
            Assert.Contains(expected, e.Message);
            Assert.Contains(cert.Sha256, e.Message); // so the user can check it and pin it
        }
        // Through BaseModelClient the failure names the contributor too.
        using var model = Gpt2Model.Load(fx.Paths.ModelDirectory);
        await using (var client = new BaseModelClient(model, [TlsEndpoint(s)]))
        {
            client.TlsOptions = options;
            var e = await Assert.ThrowsAsync<ContributorException>(() => client.InitAndPatchAsync(cts.Token));
            Assert.Contains(expected, e.Message);
        }
        if (trust != "wrong-name") await AssertServesOverTlsAsync(s, cert, cts.Token);
    }

    [Fact(Timeout = 60000)]
    public async Task A_plaintext_client_to_a_TLS_server_is_told_to_use_TLS_and_the_server_keeps_serving()
    {
        using var cts = Timeouts.Test();
        using var cert = TestCertificate.Create();
        await using var s = await RunningServer.StartAsync(fx.Adapter, socketOptions: Tls(cert));
        await using (var plain = new ContributorConnection(s.Endpoint))
        {
            var e = await Assert.ThrowsAsync<WireProtocolException>(() => plain.InitAsync(cts.Token));
            Assert.Contains("This contributor requires TLS", e.Message);
        }
        // Bytes that are neither a frame nor TLS (an HTTP request): the handshake fails, the connection is closed.
        using (var raw = await RawConnection.OpenAsync(s.Endpoint, cts.Token))
        {
            await raw.SendBytesAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), cts.Token);
            var buffer = new byte[64];
            int n;
            try { n = await raw.Stream.ReadAsync(buffer, cts.Token); }
            catch (IOException) { n = 0; } // a reset is a close too
            Assert.Equal(0, n);
        }
        await AssertServesOverTlsAsync(s, cert, cts.Token);
    }

    [Fact(Timeout = 60000)]
    public async Task A_TLS_client_to_a_plain_server_fails_with_a_clear_error()
    {
        using var cts = Timeouts.Test();
        using var cert = TestCertificate.Create();
        await using var s = await RunningServer.StartAsync(fx.Adapter);
        await using var conn = new ContributorConnection(TlsEndpoint(s)) { TlsOptions = Trusting(cert) };
        var e = await Assert.ThrowsAsync<IOException>(() => conn.InitAsync(cts.Token));
        Assert.Contains("TLS handshake with contributor", e.Message);
        Assert.Contains("does it serve TLS?", e.Message);
    }

    [Theory(Timeout = 60000)]
    [InlineData(0)]  // connects and sends nothing
    [InlineData(1)]  // sends the first byte of a TLS record, then stalls
    public async Task A_stalled_handshake_is_cut_off_and_frees_its_slot(int bytesSent)
    {
        using var cts = Timeouts.Test();
        using var cert = TestCertificate.Create();
        // One slot: while the stalled connection holds it, nobody else is served.
        await using var s = await RunningServer.StartAsync(fx.Adapter, socketOptions: Tls(cert,
            new LoRAServerSocketOptions { MaxConnections = 1, TlsHandshakeTimeout = TimeSpan.FromSeconds(1) }));
        using var stalled = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        if (bytesSent > 0) await stalled.SendBytesAsync([0x16], cts.Token);
        var buffer = new byte[16];
        int n;
        try { n = await stalled.Stream.ReadAsync(buffer, cts.Token); }
        catch (IOException) { n = 0; }
        Assert.Equal(0, n); // closed by the server, without a byte sent
        await AssertServesOverTlsAsync(s, cert, cts.Token);
    }

    [Fact(Timeout = 60000)]
    public async Task Frame_limits_and_the_idle_timeout_apply_inside_TLS()
    {
        using var cts = Timeouts.Test();
        using var cert = TestCertificate.Create();
        await using var s = await RunningServer.StartAsync(fx.Adapter, socketOptions: Tls(cert,
            new LoRAServerSocketOptions { IdleTimeout = TimeSpan.FromSeconds(1) }));

        // An oversized frame announced inside TLS: an error frame, then the connection is closed.
        var (tcp, ssl) = await RawTlsAsync(s, cts.Token);
        using (tcp)
        await using (ssl)
        {
            await ssl.WriteAsync(RawConnection.Header((ulong)WireFraming.MaxFrameBytes + 1), cts.Token);
            Assert.Contains("exceeds the limit", ErrorOf(await WireFraming.ReadFrameAsync(ssl, WireFraming.MaxFrameBytes, cts.Token)));
            Assert.Null(await WireFraming.ReadFrameAsync(ssl, WireFraming.MaxFrameBytes, cts.Token));
        }

        // A bad request inside TLS is answered and the connection stays usable; once idle, it is closed silently.
        (tcp, ssl) = await RawTlsAsync(s, cts.Token);
        using (tcp)
        await using (ssl)
        {
            await WireFraming.WriteFrameAsync(ssl, "{"u8.ToArray(), cts.Token);
            Assert.Contains("not valid JSON", ErrorOf(await WireFraming.ReadFrameAsync(ssl, WireFraming.MaxFrameBytes, cts.Token)));
            await WireFraming.WriteFrameAsync(ssl, "{\"type\":\"init_request\"}"u8.ToArray(), cts.Token);
            var init = WireMessages.ParseInitResponse((await WireFraming.ReadFrameAsync(ssl, WireFraming.MaxFrameBytes, cts.Token))!);
            Assert.Equal(s.Server.ManifestDigest, init.ManifestDigest);
            byte[]? after;
            try { after = await WireFraming.ReadFrameAsync(ssl, WireFraming.MaxFrameBytes, cts.Token); }
            catch (IOException) { after = null; }
            Assert.Null(after);
        }
    }

    [Fact]
    public void Endpoints_parse_tls_and_tcp_schemes_and_print_them_back()
    {
        var t = ContributorEndpoint.Parse("tls://example.org:443");
        Assert.Equal(new ContributorEndpoint("example.org", 443) { UseTls = true }, t);
        Assert.Equal("tls://example.org:443", t.ToString());
        Assert.Equal("tls://[::1]:9", ContributorEndpoint.Parse("TLS://[::1]:9").ToString());
        Assert.False(ContributorEndpoint.Parse("tcp://h:1").UseTls);
        Assert.NotEqual(ContributorEndpoint.Parse("h:1"), ContributorEndpoint.Parse("tls://h:1"));
        Assert.Throws<FormatException>(() => ContributorEndpoint.Parse("https://h:1"));
        Assert.Throws<FormatException>(() => ContributorEndpoint.Parse("tls://h"));
        Assert.Throws<FormatException>(() => new ContributorTlsOptions { PinnedSha256 = ["abc"] });
        Assert.Throws<FormatException>(() => new ContributorTlsOptions { PinnedSha256 = [new string('g', 64)] });
    }
}
