/// An ILogger that keeps what it receives (level, event, rendered message, named values, exception),
/// for tests that check what a library logs. Linked into the F# test projects that need it
/// (tests/Shared is not a project of its own). Thread-safe.
module ZkLora.Tests.CapturingLogger

open System
open System.Collections.Generic
open Microsoft.Extensions.Logging

/// One message as the logger received it.
type LogEntry =
    { Level: LogLevel
      EventId: EventId
      Message: string
      /// The named values of the message template ("{OriginalFormat}" is the template itself).
      Values: IReadOnlyDictionary<string, obj>
      Exception: exn option }

/// Keeps every message at or above `minimum`.
type CapturingLogger(minimum: LogLevel) =
    let entries = List<LogEntry>()
    new() = CapturingLogger(LogLevel.Trace)

    /// What was logged so far, in order.
    member _.Entries : LogEntry list = lock entries (fun () -> List.ofSeq entries)

    /// The rendered messages, in order.
    member this.Messages = this.Entries |> List.map (fun e -> e.Message)

    interface ILogger with
        member _.BeginScope<'TState>(_state: 'TState) : IDisposable = null
        member _.IsEnabled(level) = level <> LogLevel.None && level >= minimum
        member _.Log<'TState>(level: LogLevel, eventId: EventId, state: 'TState, ex: exn, formatter: Func<'TState, exn, string>) =
            if level <> LogLevel.None && level >= minimum then
                let values = Dictionary<string, obj>()
                match box state with
                | :? IEnumerable<KeyValuePair<string, obj>> as kv -> for p in kv do values[p.Key] <- p.Value
                | _ -> ()
                let e =
                    { Level = level; EventId = eventId; Message = formatter.Invoke(state, ex)
                      Values = values; Exception = Option.ofObj ex }
                lock entries (fun () -> entries.Add e)
