using Microsoft.Extensions.Logging;

namespace ZkLora.Api;

/// <summary>
/// Passes every message on to the host's logger, and first throws <see cref="OperationCanceledException"/> when
/// the verification is cancelled: the verifier logs after each step it finished, whatever the host's level
/// filter, so each message is a point where a cancellation is observed.
/// </summary>
internal sealed class CancellationObservingLogger(ILogger inner, CancellationToken cancellationToken) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // Always "enabled" so that Log is reached (and cancellation observed) for every step; Log filters.
        return true;
    }

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (inner.IsEnabled(logLevel)) inner.Log(logLevel, eventId, state, exception, formatter);
    }
}
