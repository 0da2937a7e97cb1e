using System.CommandLine;
using System.CommandLine.Invocation;
using ZkLora.Api;
using ZkLora.Api.Multiparty;

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

    /// <summary>
    /// Parses and runs a command line. A usage error (unknown option, missing or malformed value)
    /// is reported on the error writer and gives exit code 2 (<see cref="ExitCodes.UsageOrInput"/>);
    /// otherwise the command's own exit code.
    /// </summary>
    /// <param name="args">The arguments, without the program name.</param>
    /// <param name="configuration">Where output and errors go (default: the console).</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    public static async Task<int> RunAsync(string[] args, InvocationConfiguration? configuration = null, CancellationToken cancellationToken = default)
    {
        configuration ??= new InvocationConfiguration();
        var parse = Build().Parse(args);
        if (parse.Action is ParseErrorAction)
        {
            string name = parse.CommandResult.Command is RootCommand ? "zklora" : "zklora " + parse.CommandResult.Command.Name;
            foreach (var error in parse.Errors)
                configuration.Error.WriteLine($"{name}: {error.Message}");
            configuration.Error.WriteLine($"(see: {name} --help)");
            return ExitCodes.UsageOrInput;
        }
        return await parse.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary><c>zklora info</c>: prints the library version and what this build can do.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Print the library version and the available capabilities.");
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var fp = FixedPointSettings.Default;
            output.WriteLine($"zkLoRA for .NET {ZkLoraInfo.Version}");
            output.WriteLine("  proof system           PLONKish circuits, IPA commitments over Vesta (Pasta curves), BLAKE3 Fiat-Shamir; no trusted setup");
            output.WriteLine($"  adapter commitment     {AdapterManifest.CommitmentScheme} (manifest {AdapterManifest.SchemaVersion}, backend {AdapterManifest.Backend})");
            output.WriteLine($"  activation commitment  {ActivationCommitments.OpeningScheme}");
            output.WriteLine($"  transcript             {InferenceTranscript.SchemaVersion}");
            output.WriteLine($"  wire protocol          {WireMessages.ProtocolId} (frames up to {WireFraming.MaxFrameBytes / (1024 * 1024)} MiB)");
            output.WriteLine($"  fixed point (default)  scale {fp.ScaleBits} bits, values {fp.ValueBits} bits, intermediates {fp.IntermediateBits} bits");
            output.WriteLine($"  models                 gpt2, llama, mistral, qwen2, phi3 + PEFT LoRA on TorchSharp: {TorchStatus()}");
            return 0;
        });
        return command;
    }

    // Loading libtorch is the check users need on a new machine (e.g. Debian 12's libstdc++).
    private static string TorchStatus()
    {
        try
        {
            ZkLora.Model.TorchRuntime.EnsureLoaded();
            return "native runtime loads";
        }
        catch (InvalidOperationException e)
        {
            return "NOT AVAILABLE - " + e.Message;
        }
    }
}
