// An ILogger that keeps what it receives, for tests that check what a library logs (linked into
// the C# test projects that reference the libraries; ZkLora.Model.Tests, which links TestSupport.cs,
// does not need it).
using Microsoft.Extensions.Logging;

namespace ZkLora.Tests;

/// <summary>One message as <see cref="CapturingLogger"/> received it.</summary>
/// <param name="Level">Its level.</param>
/// <param name="EventId">Its event id and name.</param>
/// <param name="Message">The rendered message.</param>
/// <param name="Values">The named values of its template (<c>{OriginalFormat}</c> is the template).</param>
/// <param name="Exception">The exception logged with it, if any.</param>
internal sealed record LogEntry(LogLevel Level, EventId EventId, string Message, IReadOnlyDictionary<string, object?> Values, Exception? Exception);

/// <summary>Keeps every message at or above a level, in order. Thread-safe.</summary>
internal sealed class CapturingLogger(LogLevel minimum = LogLevel.Trace) : ILogger
{
    private readonly List<LogEntry> _entries = new();

    /// <summary>What was logged so far, in order.</summary>
    public IReadOnlyList<LogEntry> Entries
    {
        get { lock (_entries) return _entries.ToArray(); }
    }

    /// <summary>The rendered messages so far, in order.</summary>
    public IReadOnlyList<string> Messages => Entries.Select(e => e.Message).ToArray();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= minimum;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
            foreach (var p in pairs) values[p.Key] = p.Value;
        var entry = new LogEntry(logLevel, eventId, formatter(state, exception), values, exception);
        lock (_entries) _entries.Add(entry);
    }
}

/// <summary>Passes every message to each of several loggers (for a test that captures values and renders lines at once).</summary>
internal sealed class TeeLogger(params ILogger[] loggers) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => loggers.Any(l => l.IsEnabled(logLevel));

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        foreach (var l in loggers)
            if (l.IsEnabled(logLevel)) l.Log(logLevel, eventId, state, exception, formatter);
    }
}
