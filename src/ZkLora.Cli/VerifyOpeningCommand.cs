using System.CommandLine;
using System.Globalization;
using ZkLora.Api;

namespace ZkLora.Cli;

/// <summary><c>zklora verify-opening &lt;opening&gt; --root 0x… [--json]</c>: exit 0 when the opening checks out.</summary>
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
        var json = CliJson.Option("the outcome: {\"status\":\"verified\",\"exit_code\":0,\"value\":…,\"index\":…,\"count\":…,\"root\":…} or {\"status\":\"rejected\",\"exit_code\":1,\"reason\":…}");
        var command = new Command(
            "verify-opening",
            "Check an opening against a root in O(log n), without the other values. Exit code 0 when valid, 1 when rejected, 2 for a usage or input error.")
        {
            opening,
            root,
            json,
        };
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            var openingJson = JsonOrFile.Read(parse.GetRequiredValue(opening), "opening");
            // The root is the verifier's own trusted input: a malformed one is a usage error (2);
            // the opening comes from the other party: a malformed one is a rejection (1).
            var rootHex = HexDigest.Require(parse.GetRequiredValue(root), "--root", allow0x: true);
            var output = parse.InvocationConfiguration.Output;
            bool asJson = parse.GetValue(json);
            if (ActivationCommitments.VerifyOpening(openingJson, rootHex, out var reason))
            {
                var o = ActivationCommitments.ParseOpening(openingJson);
                if (asJson)
                {
                    CliJson.Write(output, w =>
                    {
                        w.WriteString("status", "verified");
                        w.WriteNumber("exit_code", ExitCodes.Ok);
                        w.Number("value", o.Value);
                        w.WriteNumber("index", o.Index);
                        w.WriteNumber("count", o.Count);
                        w.WriteString("root", rootHex);
                    });
                }
                else
                {
                    output.WriteLine(
                        $"opening verified: value {o.Value.ToString("R", CultureInfo.InvariantCulture)} at index {o.Index} " +
                        $"of {o.Count} under root {rootHex}");
                }
                return ExitCodes.Ok;
            }
            parse.InvocationConfiguration.Error.WriteLine($"opening rejected: {reason}");
            if (asJson)
            {
                CliJson.Write(output, w =>
                {
                    w.WriteString("status", "rejected");
                    w.WriteNumber("exit_code", ExitCodes.Rejected);
                    w.WriteString("reason", reason);
                    w.WriteString("root", rootHex);
                });
            }
            return ExitCodes.Rejected;
        }, parse.GetValue(json)));
        return command;
    }
}
