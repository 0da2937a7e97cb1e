using System.CommandLine;
using ZkLora.Api;

namespace ZkLora.Cli;

/// <summary>Builds the <c>zklora</c> command tree. Each sub-command lives in its own file.</summary>
internal static class ZkLoraCommand
{
    public static RootCommand Build()
    {
        var root = new RootCommand(
            "zkLoRA for .NET: commit to a LoRA adapter, serve it to a base-model user, " +
            "prove every returned delta in zero knowledge, and verify the proofs.");
        root.Subcommands.Add(InfoCommand.Create());
        root.Subcommands.Add(CommitCommand.Create());
        root.Subcommands.Add(VerifyCommitmentCommand.Create());
        root.Subcommands.Add(OpenCommand.Create());
        root.Subcommands.Add(VerifyOpeningCommand.Create());
        root.Subcommands.Add(InitDemoCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(InferCommand.Create());
        root.Subcommands.Add(VerifyCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        return root;
    }
}

/// <summary><c>zklora info</c>: prints the library version and what this build can do.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Print the library version and the available capabilities.");
        command.SetAction(_ =>
        {
            Console.WriteLine($"zkLoRA for .NET {ZkLoraInfo.Version}");
            return 0;
        });
        return command;
    }
}
