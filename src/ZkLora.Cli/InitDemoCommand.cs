using System.CommandLine;
using ZkLora.Model;

namespace ZkLora.Cli;

/// <summary>
/// <c>zklora init-demo &lt;dir&gt;</c>: writes the built-in deterministic tiny GPT-2 and its PEFT LoRA
/// adapter in standard Hugging Face / PEFT folder formats, for machines that cannot download checkpoints.
/// </summary>
internal static class InitDemoCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("dir") { Description = "Folder to write the demo into (model/ and adapter/ are created inside)." };
        var force = new Option<bool>("--force") { Description = "Overwrite existing files whose content differs." };
        var command = new Command("init-demo", "Write the built-in demo GPT-2 model and LoRA adapter (same bytes every time).");
        command.Arguments.Add(dir);
        command.Options.Add(force);
        command.SetAction(parse =>
        {
            string target = parse.GetValue(dir)!;
            try
            {
                var paths = DemoModel.Create(target, parse.GetValue(force));
                Console.WriteLine($"model:   {paths.ModelDirectory}");
                Console.WriteLine($"         GPT-2, {DemoModel.Layers} layers, n_embd {DemoModel.EmbeddingSize}, {DemoModel.Heads} heads, " +
                                  $"n_positions {DemoModel.Positions}, vocab {DemoModel.VocabSize} (256 bytes + {DemoModel.Merges.Count} merges + <|endoftext|>)");
                Console.WriteLine($"adapter: {paths.AdapterDirectory}");
                Console.WriteLine($"         PEFT LoRA r={DemoModel.LoraRank}, lora_alpha={DemoModel.LoraAlpha} on {string.Join(", ", DemoModel.AdapterModules)}");
                Console.WriteLine($"sample:  \"{DemoModel.SampleText}\"");
                return 0;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                Console.Error.WriteLine($"zklora init-demo: {e.Message}");
                return 1;
            }
        });
        return command;
    }
}
