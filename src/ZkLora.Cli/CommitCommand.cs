using System.CommandLine;
using ZkLora.Api;

namespace ZkLora.Cli;

/// <summary><c>zklora commit &lt;file&gt; [--json]</c>: prints the commitment JSON of an activation file.</summary>
internal static class CommitCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "Activation JSON file (an object with \"input_data\")." };
        var json = CliJson.Option("the result: {\"status\":\"ok\",\"exit_code\":0,\"file\":…,\"commitment\":{\"root\",\"nonce\"}}");
        var command = new Command(
            "commit",
            "Commit to an activation file: prints {\"root\":\"0x…\",\"nonce\":\"0x…\"}. " +
            "Publish only the root; the nonce is the key that verifies and opens the commitment.")
        {
            file,
            json,
        };
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            string path = InputPaths.RequireFile(parse.GetRequiredValue(file), "the activation file");
            string commitment = ActivationCommitments.CommitActivations(path);
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                CliJson.Write(output, w =>
                {
                    w.WriteString("status", "ok");
                    w.WriteNumber("exit_code", ExitCodes.Ok);
                    w.WriteString("file", Path.GetFullPath(path));
                    w.Raw("commitment", commitment);
                });
            }
            else output.WriteLine(commitment);
            return ExitCodes.Ok;
        }, parse.GetValue(json)));
        return command;
    }
}
