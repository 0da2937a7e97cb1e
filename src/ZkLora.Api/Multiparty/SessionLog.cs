using System.Text;
using Microsoft.Extensions.Logging;
using ZkLora.Proofs;
using FsEntry = ZkLora.Proofs.TranscriptEntry;

namespace ZkLora.Api.Multiparty;

/// <summary>
/// A session's write-ahead log, <c>{out}/sessions/{id}.wal</c>: one line per record, each flushed to
/// the disk (fsync) before the server answers. Lines: <c>open {token-sha256|-} {client|-}</c>,
/// <c>call {one-entry canonical transcript JSON}</c>, <c>end</c> (end_inference accepted),
/// <c>end_failed</c> (proving failed; the session is open again). A last line without its newline
/// was never acknowledged and is ignored on recovery. <c>ended.txt</c> lists ended or expired ids.
/// </summary>
internal sealed class SessionLog
{
    private readonly string _path;
    private readonly FileStream _stream;
    private readonly object _gate = new();

    private SessionLog(string path, FileStream stream)
    {
        _path = path;
        _stream = stream;
    }

    private static string PathOf(string dir, string sessionId) => Path.Combine(dir, sessionId + ".wal");

    /// <summary>
    /// Opens a file of the store for unbuffered writing: how the server does it. Tests pass another
    /// opener (<see cref="LoRAServerTestHooks.StoreFileOpener"/>) whose stream fails as a full disk does.
    /// </summary>
    public static FileStream OpenForWrite(string path, FileMode mode) =>
        new(path, mode, FileAccess.Write, FileShare.Read, 1, FileOptions.None);

    public static SessionLog Create(string dir, string sessionId, byte[]? tokenHash, string? client, Func<string, FileMode, FileStream> open)
    {
        string path = PathOf(dir, sessionId);
        var stream = open(path, FileMode.Create);
        var log = new SessionLog(path, stream);
        try
        {
            string c = client is null ? "-" : Convert.ToHexStringLower(Encoding.UTF8.GetBytes(client));
            log.Append($"open {(tokenHash is null ? "-" : Convert.ToHexStringLower(tokenHash))} {c}");
        }
        catch
        {
            // No log means no session: an empty or torn file would only be moved aside as corrupt on the next start.
            stream.Dispose();
            try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
        return log;
    }

    private void Append(string line)
    {
        var bytes = Encoding.ASCII.GetBytes(line + "\n");
        lock (_gate)
        {
            long before = _stream.Length;
            _stream.Seek(0, SeekOrigin.End);
            try
            {
                _stream.Write(bytes);
                _stream.Flush(flushToDisk: true);
            }
            catch
            {
                // A record that did not reach the disk whole is cut off, so the next one starts on a clean line.
                try { _stream.SetLength(before); } catch (IOException) { }
                throw;
            }
        }
    }

    public void AppendCall(FsEntry entry)
    {
        var json = InferenceTranscriptModule.toJson(new ZkLora.Proofs.InferenceTranscript(Microsoft.FSharp.Collections.ListModule.OfSeq([entry])));
        if (json.IsError) throw new IOException($"cannot serialise the call: {json.ErrorValue}");
        Append("call " + json.ResultValue);
    }

    public void AppendEnd() => Append("end");

    public void AppendEndFailed() => Append("end_failed");

    public void Delete()
    {
        lock (_gate)
        {
            _stream.Dispose();
            try { File.Delete(_path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Appends an ended id to <c>ended.txt</c>, flushed to disk.</summary>
    public static void AppendEnded(string dir, string sessionId, Func<string, FileMode, FileStream> open)
    {
        using var s = open(Path.Combine(dir, "ended.txt"), FileMode.Append);
        s.Write(Encoding.ASCII.GetBytes(sessionId + "\n"));
        s.Flush(flushToDisk: true);
    }

    public static IEnumerable<string> ReadEnded(string dir)
    {
        string path = Path.Combine(dir, "ended.txt");
        if (!File.Exists(path)) yield break;
        foreach (var line in File.ReadAllLines(path))
            if (ArtifactNames.validateSessionId(line).IsOk) yield return line;
    }

    public sealed record Restored(string SessionId, byte[]? TokenHash, string? Client, List<FsEntry> Calls, bool EndAccepted, SessionLog Log);

    /// <summary>Every session log of the directory; an unreadable log is renamed to <c>.corrupt</c> and reported to <paramref name="logger"/>.</summary>
    public static List<Restored> ReadAll(string dir, ILogger logger, Func<string, FileMode, FileStream> open)
    {
        var result = new List<Restored>();
        foreach (var path in Directory.EnumerateFiles(dir, "*.wal"))
        {
            string id = Path.GetFileNameWithoutExtension(path);
            try
            {
                if (ArtifactNames.validateSessionId(id).IsError) throw new InvalidDataException("the file name is not a session id");
                result.Add(Read(path, id, open));
            }
            catch (Exception e) when (e is InvalidDataException or IOException or FormatException or UnauthorizedAccessException)
            {
                ServerLog.SessionLogUnreadable(logger, path, ServerLog.Printable(e.Message));
                try { File.Move(path, path + ".corrupt", overwrite: true); } catch (IOException) { }
            }
        }
        return result;
    }

    private static Restored Read(string path, string id, Func<string, FileMode, FileStream> open)
    {
        string text = File.ReadAllText(path, Encoding.ASCII);
        var lines = text.Split('\n').ToList();
        // The piece after the last newline was never acknowledged (or is empty): drop it.
        long keep = text.Length - lines[^1].Length;
        lines.RemoveAt(lines.Count - 1);
        if (lines.Count == 0 || !lines[0].StartsWith("open ", StringComparison.Ordinal)) throw new InvalidDataException("no open record");
        var head = lines[0].Split(' ');
        if (head.Length != 3) throw new InvalidDataException("bad open record");
        byte[]? hash = head[1] == "-" ? null : Convert.FromHexString(head[1]);
        string? client = head[2] == "-" ? null : Encoding.UTF8.GetString(Convert.FromHexString(head[2]));
        var calls = new List<FsEntry>();
        bool end = false;
        foreach (var line in lines.Skip(1))
        {
            if (line == "end") end = true;
            else if (line == "end_failed") end = false;
            else if (line.StartsWith("call ", StringComparison.Ordinal))
            {
                var t = InferenceTranscriptModule.parse(line[5..]);
                if (t.IsError || t.ResultValue.Entries.Length != 1) throw new InvalidDataException($"bad call record: {(t.IsError ? t.ErrorValue : "not one entry")}");
                var e = t.ResultValue.Entries.Head;
                if (e.SessionId != id) throw new InvalidDataException("a call record of another session");
                calls.Add(e);
            }
            else throw new InvalidDataException("unknown record");
        }
        var stream = open(path, FileMode.Open);
        stream.SetLength(keep);
        return new Restored(id, hash, client, calls, end, new SessionLog(path, stream));
    }
}
