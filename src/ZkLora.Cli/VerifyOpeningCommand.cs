using System.CommandLine;
using System.Globalization;
using ZkLora.Api;

namespace ZkLora.Cli;

/// <summary><c>zklora verify-opening &lt;opening&gt; --root 0x…</c>: exit 0 when the opening checks out.</summary>
internal static class VerifyOpeningCommand
{
    public static Command Create()
    {
        var opening = new Argument<string>("opening") { Description = "Opening JSON, inline or a file holding it." };
        var root = new Option<string>("--root")
        {
            Description = "The committed root you trust, 0x + 64 hex digits (obtained before the opening).",
            Required = true,
        };
        var command = new Command(
            "verify-opening",
            "Check an opening against a root in O(log n), without the other values. Exit code 0 when valid, 1 otherwise.")
        {
            opening,
            root,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var json = JsonOrFile.Read(parse.GetRequiredValue(opening), "opening");
            var rootHex = parse.GetRequiredValue(root);
            if (ActivationCommitments.VerifyOpening(json, rootHex, out var reason))
            {
                var o = ActivationCommitments.ParseOpening(json);
                Console.WriteLine(
                    $"opening verified: value {o.Value.ToString("R", CultureInfo.InvariantCulture)} at index {o.Index} " +
                    $"of {o.Count} under root {rootHex}");
                return 0;
            }
            Console.Error.WriteLine($"opening rejected: {reason}");
            return 1;
        }));
        return command;
    }
}
