using System.CommandLine;
using ZkLora.Api;

namespace ZkLora.Cli;

/// <summary><c>zklora open &lt;file&gt; --index i --commitment c [--json]</c>: prints the opening JSON of one position.</summary>
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
        var json = CliJson.Option("the result: {\"status\":\"ok\",\"exit_code\":0,\"file\":…,\"index\":…,\"opening\":{…}}");
        var command = new Command(
            "open",
            "Prove the value at one position of a committed activation file; prints the opening JSON. " +
            "The opening reveals the nonce: treat the neighbouring value (index xor 1) as disclosed too.")
        {
            file,
            index,
            commitment,
            json,
        };
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            string path = InputPaths.RequireFile(parse.GetRequiredValue(file), "the activation file");
            var commitmentJson = JsonOrFile.Read(parse.GetRequiredValue(commitment), "commitment");
            long i = parse.GetValue(index);
            string opening = ActivationCommitments.OpenActivation(path, commitmentJson, i);
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                CliJson.Write(output, w =>
                {
                    w.WriteString("status", "ok");
                    w.WriteNumber("exit_code", ExitCodes.Ok);
                    w.WriteString("file", Path.GetFullPath(path));
                    w.WriteNumber("index", i);
                    w.Raw("opening", opening);
                });
            }
            else output.WriteLine(opening);
            return ExitCodes.Ok;
        }, parse.GetValue(json)));
        return command;
    }
}
