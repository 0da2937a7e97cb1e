using System.Text;
using Microsoft.FSharp.Core;
using ZkLora.Proofs;

namespace ZkLora.Api;

/// <summary>
/// Reads and writes artifact files with the limits and messages of the F# artifact readers
/// (<c>ArtifactCommon.readFile</c> / <c>writeFile</c>), but doing the I/O here so that it can be
/// asynchronous and each failure surfaces as its own exception type instead of one message.
/// </summary>
internal static class ArtifactFiles
{
    private static long MaxBytes => ArtifactCommon.maxArtifactBytes;

    /// <summary>The bytes of an artifact file, or the exception that says why they cannot be had.</summary>
    public static byte[] ReadBytes(string what, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        // Only a regular file, at most MaxBytes counted while reading (no FIFO, device or symlink).
        var r = SafeFile.tryReadBytes(what, MaxBytes, path);
        if (r.IsOk) return r.ResultValue;
        var failure = r.ErrorValue;
        if (failure.Kind.Tag == SafeFile.ReadFailureKind.Tags.Missing) throw new FileNotFoundException(failure.Message, path);
        if (failure.Kind.Tag == SafeFile.ReadFailureKind.Tags.TooLarge) throw new ArtifactFormatException(failure.Message, path, $"larger than {MaxBytes} bytes");
        throw new IOException(failure.Message);
    }

    /// <summary>As <see cref="ReadBytes"/> (the read itself is synchronous: artifacts are bounded and local).</summary>
    public static Task<byte[]> ReadBytesAsync(string what, string path, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(ReadBytes(what, path));
    }

    /// <summary>Runs a strict artifact parser; a rejection becomes an <see cref="ArtifactFormatException"/>.</summary>
    public static T Parse<T>(string what, string path, byte[] bytes, Func<ReadOnlyMemory<byte>, FSharpResult<T, string>> parse)
    {
        var r = parse(bytes);
        if (r.IsError) throw new ArtifactFormatException($"{what} file {path}: {r.ErrorValue}", path, r.ErrorValue);
        return r.ResultValue;
    }

    /// <summary>Writes canonical JSON (ASCII) to a file, replacing it.</summary>
    public static void WriteText(string what, string path, string canonicalJson)
    {
        try
        {
            File.WriteAllBytes(path, Encoding.ASCII.GetBytes(canonicalJson));
        }
        catch (Exception e) when (WriteFailure(what, path, e) is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>As <see cref="WriteText"/>, writing asynchronously.</summary>
    public static async Task WriteTextAsync(string what, string path, string canonicalJson, CancellationToken cancellationToken)
    {
        try
        {
            await File.WriteAllBytesAsync(path, Encoding.ASCII.GetBytes(canonicalJson), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (WriteFailure(what, path, e) is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>Creates the folder a file is about to be written into.</summary>
    public static void CreateParentDirectory(string path)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
    }

    private static void CheckSize(string what, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        FileInfo info;
        try
        {
            info = new FileInfo(path);
        }
        catch (Exception e) when (ReadFailure(what, path, e) is { } failure)
        {
            throw failure;
        }
        if (!info.Exists) throw new FileNotFoundException($"{what} file {path} does not exist", path);
        if (info.Length > MaxBytes)
        {
            string problem = $"larger than {MaxBytes} bytes";
            throw new ArtifactFormatException($"{what} file {path} is {problem}", path, problem);
        }
    }

    private static Exception? ReadFailure(string what, string path, Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => new FileNotFoundException($"{what} file {path} does not exist", path, e),
        IOException => new IOException($"cannot read {what} file {path}: {e.Message}", e),
        UnauthorizedAccessException => new UnauthorizedAccessException($"cannot read {what} file {path}: {e.Message}", e),
        ArgumentException => new ArgumentException($"invalid {what} file path {path}: {e.Message}", e),
        _ => null,
    };

    private static Exception? WriteFailure(string what, string path, Exception e) => e switch
    {
        IOException => new IOException($"cannot write {what} file {path}: {e.Message}", e),
        UnauthorizedAccessException => new UnauthorizedAccessException($"cannot write {what} file {path}: {e.Message}", e),
        ArgumentException => new ArgumentException($"invalid {what} file path {path}: {e.Message}", e),
        _ => null,
    };
}
