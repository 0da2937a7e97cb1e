namespace ZkLora.Cli;

/// <summary>Arguments that take either inline JSON or the path of a file holding it.</summary>
internal static class JsonOrFile
{
    /// <summary>
    /// Inline JSON when the text starts with '{' (after white space), else the content of the
    /// file it names.
    /// </summary>
    /// <exception cref="FileNotFoundException">Neither JSON nor an existing file.</exception>
    public static string Read(string argument, string what)
    {
        if (argument.TrimStart().StartsWith('{'))
        {
            return argument;
        }
        if (!File.Exists(argument))
        {
            throw new FileNotFoundException($"the {what} '{argument}' is neither inline JSON nor an existing file", argument);
        }
        return File.ReadAllText(argument);
    }
}

/// <summary>Uniform error reporting for sub-commands: message on stderr, exit code 1.</summary>
internal static class CliErrors
{
    /// <summary>Runs <paramref name="body"/>, turning expected failures into "error: …" and exit code 1.</summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is IOException or FormatException or ArgumentException
                                      or UnauthorizedAccessException or Api.CommitmentMismatchException)
        {
            Console.Error.WriteLine($"error: {Describe(e)}");
            return 1;
        }
    }

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
