using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using ZkLora.Api.Multiparty;

namespace ZkLora.Cli;

/// <summary>
/// Shows the contributor's proving progress while <c>end_inference</c> runs (issue 16: <c>serve</c>
/// was silent for minutes). On an interactive terminal, a Spectre.Console progress bar per session;
/// otherwise plain lines (<c>proving: 3/12 proofs …</c>) or, with <c>--json</c>,
/// <c>{"event":"proof_progress",…}</c> lines — at the start, at most one every
/// <see cref="LineInterval"/> while proving, and at the end. Reports come from prover threads.
/// </summary>
internal sealed class ServeProgress : IProgress<ProofProgress>
{
    /// <summary>The least time between two progress lines (the first and last are always written).</summary>
    public static readonly TimeSpan LineInterval = TimeSpan.FromSeconds(2);

    private readonly object _gate = new();
    private readonly TextWriter _output;
    private readonly bool _json;
    private readonly bool _terminal;
    private readonly Stopwatch _elapsed = new();
    private TimeSpan _lastLine;
    private LiveBar? _bar;

    /// <param name="output">Where lines go.</param>
    /// <param name="json">Write JSON events instead of text.</param>
    /// <param name="terminal">Draw a live Spectre.Console bar on the console instead of lines.</param>
    public ServeProgress(TextWriter output, bool json, bool terminal)
    {
        _output = output;
        _json = json;
        _terminal = terminal && !json;
    }

    /// <summary>Whether the console can show a live bar: an interactive terminal, output not redirected.</summary>
    public static bool ConsoleIsInteractive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    public void Report(ProofProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        lock (_gate)
        {
            bool start = value.Done == 0 && value.Current is null;
            if (start)
            {
                _elapsed.Restart();
                _lastLine = TimeSpan.Zero;
                _bar?.Finish();
                _bar = _terminal ? LiveBar.Start(value.Total) : null;
            }
            bool end = value.Done >= value.Total;
            if (_bar is not null)
            {
                _bar.Update(value);
                if (end)
                {
                    _bar.Finish();
                    _bar = null;
                }
                return;
            }
            if (!start && !end && _elapsed.Elapsed - _lastLine < LineInterval) return;
            _lastLine = _elapsed.Elapsed;
            double seconds = _elapsed.Elapsed.TotalSeconds;
            if (_json)
            {
                CliJson.Write(_output, w =>
                {
                    w.WriteString("event", "proof_progress");
                    w.WriteNumber("done", value.Done);
                    w.WriteNumber("total", value.Total);
                    if (value.Current is not null) w.WriteString("proved", value.Current);
                    w.Number("elapsed_seconds", seconds);
                });
            }
            else
            {
                string s = seconds.ToString("F1", CultureInfo.InvariantCulture);
                _output.WriteLine(start
                    ? $"proving:         {value.Total} proof(s) for an end_inference"
                    : end
                        ? $"proved:          {value.Done}/{value.Total} proofs in {s} s"
                        : $"proving:         {value.Done}/{value.Total} proofs ({value.Current} done, {s} s)");
            }
        }
    }

    /// <summary>One session's live bar: Spectre's display runs on its own task until <see cref="Finish"/>.</summary>
    private sealed class LiveBar
    {
        private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource<ProgressTask> _task = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Task _display = Task.CompletedTask;

        public static LiveBar Start(int total)
        {
            var bar = new LiveBar();
            bar._display = AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .StartAsync(async ctx =>
                {
                    bar._task.SetResult(ctx.AddTask($"proving {total} proof(s)", maxValue: System.Math.Max(1, total)));
                    await bar._finished.Task.ConfigureAwait(false);
                });
            return bar;
        }

        public void Update(ProofProgress p)
        {
            var task = _task.Task.Wait(TimeSpan.FromSeconds(5)) ? _task.Task.Result : null;
            if (task is null) return;
            task.MaxValue = System.Math.Max(1, p.Total);
            task.Value = p.Done;
            if (p.Current is not null) task.Description = Markup.Escape($"proved {p.Current} ({p.Done}/{p.Total})");
        }

        /// <summary>Ends the display (a session that failed to prove leaves its bar where it stopped).</summary>
        public void Finish()
        {
            _finished.TrySetResult();
            try
            {
                _display.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
                // A display that failed to draw must not stop the server.
            }
        }
    }
}
