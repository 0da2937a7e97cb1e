using System.CommandLine;
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
}

/// <summary><c>zklora info</c>: prints the library version and what this build can do.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Print the library version and the available capabilities.");
        command.SetAction(_ =>
        {
            var fp = FixedPointSettings.Default;
            Console.WriteLine($"zkLoRA for .NET {ZkLoraInfo.Version}");
            Console.WriteLine("  proof system           PLONKish circuits, IPA commitments over Vesta (Pasta curves), BLAKE3 Fiat-Shamir; no trusted setup");
            Console.WriteLine($"  adapter commitment     {AdapterManifest.CommitmentScheme} (manifest {AdapterManifest.SchemaVersion}, backend {AdapterManifest.Backend})");
            Console.WriteLine($"  activation commitment  {ActivationCommitments.OpeningScheme}");
            Console.WriteLine($"  transcript             {InferenceTranscript.SchemaVersion}");
            Console.WriteLine($"  wire protocol          {WireMessages.ProtocolId} (frames up to {WireFraming.MaxFrameBytes / (1024 * 1024)} MiB)");
            Console.WriteLine($"  fixed point (default)  scale {fp.ScaleBits} bits, values {fp.ValueBits} bits, intermediates {fp.IntermediateBits} bits");
            Console.WriteLine($"  models                 gpt2, llama, mistral, qwen2, phi3 + PEFT LoRA on TorchSharp: {TorchStatus()}");
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
