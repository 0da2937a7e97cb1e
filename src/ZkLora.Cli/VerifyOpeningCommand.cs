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
            "Check an opening against a root in O(log n), without the other values. Exit code 0 when valid, 1 when rejected, 2 for a usage or input error.")
        {
            opening,
            root,
        };
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            var json = JsonOrFile.Read(parse.GetRequiredValue(opening), "opening");
            // The root is the verifier's own trusted input: a malformed one is a usage error (2);
            // the opening comes from the other party: a malformed one is a rejection (1).
            var rootHex = HexDigest.Require(parse.GetRequiredValue(root), "--root", allow0x: true);
            if (ActivationCommitments.VerifyOpening(json, rootHex, out var reason))
            {
                var o = ActivationCommitments.ParseOpening(json);
                parse.InvocationConfiguration.Output.WriteLine(
                    $"opening verified: value {o.Value.ToString("R", CultureInfo.InvariantCulture)} at index {o.Index} " +
                    $"of {o.Count} under root {rootHex}");
                return ExitCodes.Ok;
            }
            parse.InvocationConfiguration.Error.WriteLine($"opening rejected: {reason}");
            return ExitCodes.Rejected;
        }));
        return command;
    }
}
