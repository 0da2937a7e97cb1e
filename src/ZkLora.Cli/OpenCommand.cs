using System.CommandLine;
using ZkLora.Api;

namespace ZkLora.Cli;

/// <summary><c>zklora open &lt;file&gt; --index i --commitment c</c>: prints the opening JSON of one position.</summary>
internal static class OpenCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "Activation JSON file." };
        var index = new Option<long>("--index")
        {
            Description = "Position to open: the value's number in depth-first order, from 0.",
            Required = true,
        };
        var commitment = new Option<string>("--commitment")
        {
            Description = "Commitment JSON of the file, inline or a file holding it (its nonce is needed to open).",
            Required = true,
        };
        var command = new Command(
            "open",
            "Prove the value at one position of a committed activation file; prints the opening JSON. " +
            "The opening reveals the nonce: treat the neighbouring value (index xor 1) as disclosed too.")
        {
            file,
            index,
            commitment,
        };
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            string path = InputPaths.RequireFile(parse.GetRequiredValue(file), "the activation file");
            var json = JsonOrFile.Read(parse.GetRequiredValue(commitment), "commitment");
            parse.InvocationConfiguration.Output.WriteLine(ActivationCommitments.OpenActivation(path, json, parse.GetValue(index)));
            return ExitCodes.Ok;
        }));
        return command;
    }
}
