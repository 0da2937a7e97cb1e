using System.CommandLine;
using System.Text;
using System.Text.Json;

namespace ZkLora.Cli;

/// <summary>
/// The <c>--json</c> output of the commands: one JSON object per line on standard output (System.Text.Json,
/// default escaping, so every non-ASCII or control character arrives escaped). Every result object
/// has <c>status</c> (<c>ok</c>, <c>verified</c>, <c>rejected</c>, <c>failed</c> or <c>error</c>) and
/// <c>exit_code</c>; human-readable lines still go to standard error.
/// </summary>
internal static class CliJson
{
    /// <summary>The <c>--json</c> option of a command.</summary>
    public static Option<bool> Option(string what) => new("--json")
    {
        Description = $"Write {what} as one JSON object per line on standard output (status, exit_code, …) instead of text.",
    };

    /// <summary>Writes one JSON object, on one line.</summary>
    public static void Write(TextWriter output, Action<Utf8JsonWriter> body)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        lock (output) output.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
    }

    /// <summary>A number, or null when it is not finite (JSON has no NaN or infinity).</summary>
    public static void Number(this Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value);
        else w.WriteNull(name);
    }

    /// <summary>Writes <c>{"status":"error","exit_code":2,"error":…}</c>.</summary>
    public static void Error(TextWriter output, string message, int exitCode = ExitCodes.UsageOrInput) => Write(output, w =>
    {
        w.WriteString("status", "error");
        w.WriteNumber("exit_code", exitCode);
        w.WriteString("error", message);
    });

    /// <summary>Writes a raw JSON value (already validated JSON text, e.g. a commitment) as a property.</summary>
    public static void Raw(this Utf8JsonWriter w, string name, string json)
    {
        w.WritePropertyName(name);
        w.WriteRawValue(json);
    }
}
