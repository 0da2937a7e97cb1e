using System.CommandLine;
using ZkLora.Api;

namespace ZkLora.Cli;

/// <summary><c>zklora commit &lt;file&gt;</c>: prints the commitment JSON of an activation file.</summary>
internal static class CommitCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "Activation JSON file (an object with \"input_data\")." };
        var command = new Command(
            "commit",
            "Commit to an activation file: prints {\"root\":\"0x…\",\"nonce\":\"0x…\"}. " +
            "Publish only the root; the nonce is the key that verifies and opens the commitment.")
        {
            file,
        };
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            string path = InputPaths.RequireFile(parse.GetRequiredValue(file), "the activation file");
            parse.InvocationConfiguration.Output.WriteLine(ActivationCommitments.CommitActivations(path));
            return ExitCodes.Ok;
        }));
        return command;
    }
}
