using System.CommandLine;
using System.CommandLine.Invocation;

namespace ZkLora.Cli;

/// <summary>
/// The exit codes of every <c>zklora</c> command: 0 success (verified), 1 a proof, commitment or
/// opening was checked and rejected (or a contributor failed), 2 the command could not run as
/// asked (usage error, or an input that is missing, of the wrong kind or malformed).
/// </summary>
internal static class ExitCodes
{
    /// <summary>Everything asked for was done (and verified, for the verifying commands).</summary>
    public const int Ok = 0;

    /// <summary>A proof, commitment or opening was checked and rejected; for <c>infer</c>, a contributor failed.</summary>
    public const int Rejected = 1;

    /// <summary>Usage error, or an input file or folder that is missing, of the wrong kind, unreadable or malformed.</summary>
    public const int UsageOrInput = 2;
}

/// <summary>An input the user named cannot be used; the message names it and says why.</summary>
internal sealed class InputException(string message) : Exception(message);

/// <summary>Checks of the paths a user gives, with messages that name the path and what is wrong with it.</summary>
internal static class InputPaths
{
    /// <summary>The path when it names an existing file.</summary>
    /// <param name="path">The path as given.</param>
    /// <param name="what">How to name it in a message, e.g. <c>--transcript</c>.</param>
    /// <exception cref="InputException">It does not exist, or it is a folder.</exception>
    public static string RequireFile(string path, string what)
    {
        if (File.Exists(path)) return path;
        if (Directory.Exists(path)) throw new InputException($"{what} '{path}' is a directory, not a file");
        throw new InputException($"{what} '{path}' does not exist{MissingParent(path)}");
    }

    /// <summary>The path when it names an existing folder.</summary>
    /// <param name="path">The path as given.</param>
    /// <param name="what">How to name it in a message, e.g. <c>--proof-dir</c>.</param>
    /// <exception cref="InputException">It does not exist, or it is a file.</exception>
    public static string RequireDirectory(string path, string what)
    {
        if (Directory.Exists(path)) return path;
        if (File.Exists(path)) throw new InputException($"{what} '{path}' is a file, not a directory");
        throw new InputException($"{what} '{path}' does not exist{MissingParent(path)}");
    }

    // "does not exist" is more useful when the user can see which part of the path is wrong.
    private static string MissingParent(string path)
    {
        string? parent = Path.GetDirectoryName(Path.GetFullPath(path));
        return parent is not null && !Directory.Exists(parent) ? $" (neither does the folder '{parent}')" : "";
    }
}

/// <summary>Digests and roots given on the command line: exactly 64 hexadecimal digits.</summary>
internal static class HexDigest
{
    /// <summary>
    /// The digest in lower case, when <paramref name="text"/> is exactly 64 hex digits (either case;
    /// with <paramref name="allow0x"/>, optionally after "0x").
    /// </summary>
    /// <exception cref="InputException">Anything else: wrong length, a non-hex character, white space.</exception>
    public static string Require(string text, string what, bool allow0x = false)
    {
        string digits = allow0x && text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text;
        if (digits.Length != 64 || !digits.All(char.IsAsciiHexDigit))
            throw new InputException($"{what} '{text}' is not a SHA-256 digest: expected exactly 64 hexadecimal digits{(allow0x ? " (0x optional)" : "")}");
        return (allow0x && digits.Length != text.Length ? "0x" : "") + digits.ToLowerInvariant();
    }
}

/// <summary>Arguments that take either inline JSON or the path of a file holding it.</summary>
internal static class JsonOrFile
{
    /// <summary>
    /// Inline JSON when the text starts with '{' (after white space), else the content of the
    /// file it names.
    /// </summary>
    /// <exception cref="InputException">Neither JSON nor an existing file (a folder is named as such).</exception>
    public static string Read(string argument, string what)
    {
        if (argument.TrimStart().StartsWith('{'))
        {
            return argument;
        }
        if (Directory.Exists(argument))
        {
            throw new InputException($"the {what} '{argument}' is a directory, not a file or inline JSON");
        }
        if (!File.Exists(argument))
        {
            throw new InputException($"the {what} '{argument}' is neither inline JSON nor an existing file");
        }
        return File.ReadAllText(argument);
    }
}

/// <summary>Uniform error reporting for sub-commands: message on stderr, exit code 2.</summary>
internal static class CliErrors
{
    /// <summary>
    /// Runs <paramref name="body"/>, turning expected failures (bad input, unreadable files) into
    /// "zklora &lt;command&gt;: …" on the error writer and exit code 2.
    /// </summary>
    /// <param name="parse">The parsed command line (its writers receive the output).</param>
    /// <param name="body">The command.</param>
    /// <param name="json">With <c>--json</c>, an error is also written as a JSON object on standard output.</param>
    public static int Run(ParseResult parse, Func<int> body, bool json = false)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (IsInputError(e))
        {
            parse.InvocationConfiguration.Error.WriteLine($"zklora {parse.CommandResult.Command.Name}: {Describe(e)}");
            if (json) CliJson.Error(parse.InvocationConfiguration.Output, Describe(e));
            return ExitCodes.UsageOrInput;
        }
    }

    /// <summary>The exceptions that mean the input was unusable (exit code 2), not that a check failed.</summary>
    public static bool IsInputError(Exception e) =>
        e is InputException or IOException or FormatException or ArgumentException or UnauthorizedAccessException
            or Api.CommitmentMismatchException;

    // ArgumentException appends " (Parameter 'x')" and the actual value: keep the sentence only.
    public static string Describe(Exception e)
    {
        if (e is ArgumentException { ParamName: { } name } argument)
        {
            var first = argument.Message.Split('\n')[0];
            return first.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal);
        }
        return e.Message;
    }
}
