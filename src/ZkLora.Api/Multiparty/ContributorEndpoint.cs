using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ZkLora.Api.Multiparty;

/// <summary>
/// A contributor's address, <c>host:port</c> (IPv6 as <c>[addr]:port</c>); <c>tls://host:port</c>
/// when the connection must use TLS (<see cref="UseTls"/>).
/// </summary>
/// <param name="Host">Host name or address (also the name the TLS certificate must carry).</param>
/// <param name="Port">TCP port.</param>
public sealed record ContributorEndpoint(string Host, int Port)
{
    /// <summary>True: connect with TLS (see <see cref="ContributorTlsOptions"/> for whom to trust).</summary>
    public bool UseTls { get; init; }

    /// <summary>Parses <c>host:port</c> or <c>[ipv6]:port</c>, optionally prefixed by <c>tls://</c> (TLS) or <c>tcp://</c> (plain).</summary>
    /// <exception cref="FormatException">Not of that form, or the port is not in 1–65535.</exception>
    public static ContributorEndpoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        bool tls = false;
        string original = text;
        if (text.StartsWith("tls://", StringComparison.OrdinalIgnoreCase)) { tls = true; text = text[6..]; }
        else if (text.StartsWith("tcp://", StringComparison.OrdinalIgnoreCase)) text = text[6..];
        else if (text.Contains("://", StringComparison.Ordinal)) throw new FormatException($"'{original}': the only schemes are tls:// and tcp://.");
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1) throw new FormatException($"'{original}' is not host:port.");
        string host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
        else if (host.Contains(':')) throw new FormatException($"'{original}': write an IPv6 address in brackets, [addr]:port.");
        if (host.Length == 0) throw new FormatException($"'{original}' has an empty host.");
        if (!int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
            throw new FormatException($"'{original}': the port must be an integer in 1–65535.");
        return new ContributorEndpoint(host, port) { UseTls = tls };
    }

    /// <inheritdoc />
    public override string ToString() => (UseTls ? "tls://" : "") + (Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}");
}
