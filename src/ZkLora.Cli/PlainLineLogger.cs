using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace ZkLora.Cli;

/// <summary>
/// The CLI's logger: the libraries log through <see cref="ILogger"/> (they never write to the console);
/// this host writes each message as one plain line to the <see cref="TextWriter"/> the command used
/// before the libraries logged (stderr for <c>serve</c>, stdout or stderr for <c>verify --verbose</c>),
/// so the lines read exactly as they did. A line is the optional prefix, then the formatted message,
/// then <c>": "</c> and the exception when one is logged; control characters are escaped (one message,
/// one line, nothing a peer sends can move the cursor). Thread-safe: lines from several threads do not interleave.
/// </summary>
internal sealed class PlainLineLogger : ILogger
{
    private readonly TextWriter _writer;
    private readonly Func<string> _prefix;
    private readonly LogLevel _minimum;
    private readonly int _maxChars;

    /// <param name="writer">Where lines go.</param>
    /// <param name="minimum">The least level written.</param>
    /// <param name="prefix">Computed for each line and written before it (null: none).</param>
    /// <param name="maxChars">Longest message written (longer ones end in "…").</param>
    public PlainLineLogger(TextWriter writer, LogLevel minimum = LogLevel.Information, Func<string>? prefix = null, int maxChars = 8192)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _writer = writer;
        _minimum = minimum;
        _prefix = prefix ?? (() => "");
        _maxChars = maxChars;
    }

    /// <summary><c>zklora serve</c>'s logger: <c>[zklora serve HH:mm:ss] message</c> (UTC), information and above.</summary>
    public static PlainLineLogger Serve(TextWriter writer) =>
        new(writer, LogLevel.Information, () => $"[zklora serve {DateTime.UtcNow.ToString("HH:mm:ss", CultureInfo.InvariantCulture)}] ");

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= _minimum;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        ArgumentNullException.ThrowIfNull(formatter);
        string message = formatter(state, exception);
        if (exception is not null) message += ": " + exception;
        string line = _prefix() + Escape(message, _maxChars);
        lock (_writer) _writer.WriteLine(line);
    }

    /// <summary>
    /// At most <paramref name="max"/> characters of <paramref name="text"/> with control characters (C0, DEL, C1),
    /// the Unicode line/paragraph separators and the bidirectional overrides written as <c>\uXXXX</c>: the rule
    /// the libraries apply to values a peer chose, applied here to the whole line.
    /// </summary>
    internal static string Escape(string text, int max)
    {
        var sb = new StringBuilder(System.Math.Min(text.Length, max) + 8);
        foreach (char c in text.Length > max ? text[..max] : text)
        {
            if (char.IsControl(c) || c is '\u2028' or '\u2029' || (c >= '\u202a' && c <= '\u202e') || (c >= '\u2066' && c <= '\u2069'))
                sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            else sb.Append(c);
        }
        if (text.Length > max) sb.Append('…');
        return sb.ToString();
    }
}
