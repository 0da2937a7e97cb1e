using System.CommandLine;
using ZkLora.Api;

namespace ZkLora.Cli;

/// <summary><c>zklora verify-commitment &lt;file&gt; &lt;commitment&gt;</c>: exit 0 when the file matches.</summary>
internal static class VerifyCommitmentCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "Activation JSON file." };
        var commitment = new Argument<string>("commitment") { Description = "Commitment JSON, inline or a file holding it." };
        var json = CliJson.Option("the outcome: {\"status\":\"verified\"|\"rejected\",\"exit_code\":…,\"file\":…,\"root\":…}");
        var command = new Command(
            "verify-commitment",
            "Check an activation file against a commitment (root and nonce). Exit code 0 when it matches, 1 when it does not, 2 when an input is missing or malformed.")
        {
            file,
            commitment,
            json,
        };
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            var path = InputPaths.RequireFile(parse.GetRequiredValue(file), "the activation file");
            var commitmentJson = JsonOrFile.Read(parse.GetRequiredValue(commitment), "commitment");
            var root = ActivationCommitments.GetRoot(commitmentJson); // a malformed commitment is an error, not a mismatch
            bool matches = ActivationCommitments.VerifyCommitment(path, commitmentJson);
            if (parse.GetValue(json))
            {
                CliJson.Write(parse.InvocationConfiguration.Output, w =>
                {
                    w.WriteString("status", matches ? "verified" : "rejected");
                    w.WriteNumber("exit_code", matches ? ExitCodes.Ok : ExitCodes.Rejected);
                    w.WriteString("file", Path.GetFullPath(path));
                    w.WriteString("root", root);
                });
            }
            if (matches)
            {
                if (!parse.GetValue(json)) parse.InvocationConfiguration.Output.WriteLine($"commitment verified: '{path}' matches root {root}");
                return ExitCodes.Ok;
            }
            parse.InvocationConfiguration.Error.WriteLine($"commitment NOT verified: '{path}' does not match root {root} under the given nonce");
            return ExitCodes.Rejected;
        }, parse.GetValue(json)));
        return command;
    }
}
