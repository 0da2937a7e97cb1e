using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ZkLora.Api.Multiparty;

/// <summary>
/// Whom a client trusts when it connects to a contributor with TLS (<see cref="ContributorEndpoint.UseTls"/>).
/// Without options (or with empty ones) the certificate must chain to the system's trusted roots
/// and name the host. With <see cref="TrustedCertificates"/> the chain must end at one of them
/// instead (a private CA, or a self-signed certificate itself) and still name the host. With
/// <see cref="PinnedSha256"/> the certificate's SHA-256 must be one of the pins; the pin then
/// identifies the contributor, and the chain and name are checked only when trusted certificates
/// are given too (then both must hold).
/// </summary>
public sealed class ContributorTlsOptions
{
    private readonly IReadOnlyList<string> _pins = [];

    /// <summary>Root certificates (CA or self-signed) to trust instead of the system's roots; empty: the system's.</summary>
    public X509Certificate2Collection TrustedCertificates { get; init; } = new();

    /// <summary>SHA-256 fingerprints of the DER certificate (64 hex digits; colons and case ignored) that are accepted.</summary>
    /// <exception cref="FormatException">A pin is not 64 hex digits.</exception>
    public IReadOnlyList<string> PinnedSha256
    {
        get => _pins;
        init => _pins = (value ?? throw new ArgumentNullException(nameof(value))).Select(NormalizePin).ToArray();
    }

    /// <summary>Time allowed for the handshake (null: the request's own time limit).</summary>
    public TimeSpan? HandshakeTimeout { get; init; }

    /// <summary>The SHA-256 fingerprint of a certificate's DER encoding, 64 lowercase hex digits (what <see cref="PinnedSha256"/> takes).</summary>
    /// <param name="certificate">The certificate.</param>
    /// <returns>The fingerprint.</returns>
    public static string Fingerprint(X509Certificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Convert.ToHexStringLower(SHA256.HashData(certificate.GetRawCertData()));
    }

    /// <summary>Reads the certificates of a PEM file (one or more <c>CERTIFICATE</c> blocks) or a DER file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The certificates.</returns>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="ArgumentException">It holds no certificate.</exception>
    public static X509Certificate2Collection LoadCertificates(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var all = new X509Certificate2Collection();
        try
        {
            string text = File.ReadAllText(path);
            if (text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal)) all.ImportFromPem(text);
            else all.Add(X509CertificateLoader.LoadCertificateFromFile(path));
        }
        catch (CryptographicException e)
        {
            throw new ArgumentException($"'{path}' holds no readable certificate: {e.Message}", e);
        }
        if (all.Count == 0) throw new ArgumentException($"'{path}' holds no certificate.");
        return all;
    }

    private static string NormalizePin(string pin)
    {
        ArgumentNullException.ThrowIfNull(pin);
        string hex = pin.Replace(":", "", StringComparison.Ordinal).Trim().ToLowerInvariant();
        if (hex.Length != 64 || !hex.All(Uri.IsHexDigit))
            throw new FormatException($"'{WireMessages.Printable(pin)}' is not a SHA-256 fingerprint (64 hex digits).");
        return hex;
    }

    /// <summary>The certificate check; on refusal, <paramref name="reason"/> says why.</summary>
    internal bool Accepts(X509Certificate? certificate, SslPolicyErrors errors, out string reason)
    {
        if (certificate is null)
        {
            reason = "it presented no certificate";
            return false;
        }
        string fingerprint = Fingerprint(certificate);
        bool chainChecked = _pins.Count == 0 || TrustedCertificates.Count > 0;
        if (_pins.Count > 0 && !_pins.Contains(fingerprint))
        {
            reason = $"its certificate (sha256 {fingerprint}) is not a pinned one";
            return false;
        }
        if (chainChecked && errors != SslPolicyErrors.None)
        {
            string what = errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors)
                ? TrustedCertificates.Count > 0 ? "its certificate does not chain to a trusted certificate given (--tls-ca)" : "its certificate does not chain to a trusted root of this system"
                : errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch) ? "its certificate does not name the host connected to"
                : $"its certificate is not acceptable ({errors})";
            reason = $"{what} (certificate {certificate.Subject}, sha256 {fingerprint}); trust its CA with --tls-ca <pem> or pin it with --tls-pin <sha256>";
            return false;
        }
        reason = "";
        return true;
    }
}
