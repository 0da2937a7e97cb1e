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
        var arch = new Option<string>("--arch") { Description = "gpt2 (default) or llama: which built-in demo architecture to write.", DefaultValueFactory = _ => "gpt2" };
        arch.AcceptOnlyFromAmong("gpt2", "llama");
        var command = new Command("init-demo", "Write the built-in demo model (GPT-2 or Llama architecture) and its LoRA adapter (same bytes every time).");
        command.Arguments.Add(dir);
        command.Options.Add(force);
        command.Options.Add(arch);
        command.SetAction(parse =>
        {
            string target = parse.GetValue(dir)!;
            try
            {
                if (parse.GetValue(arch) == "llama")
                {
                    var llama = LlamaDemoModel.Create(target, parse.GetValue(force));
                    Console.WriteLine($"model:   {llama.ModelDirectory}");
                    Console.WriteLine($"         Llama (3.2 layout, BF16), {LlamaDemoModel.Layers} layers, hidden {LlamaDemoModel.HiddenSize}, {LlamaDemoModel.Heads} heads / " +
                                      $"{LlamaDemoModel.KeyValueHeads} kv heads, vocab {LlamaDemoModel.VocabSize}, tokenizer.json");
                    Console.WriteLine($"adapter: {llama.AdapterDirectory}");
                    Console.WriteLine($"         PEFT LoRA r={LlamaDemoModel.LoraRank}, lora_alpha={LlamaDemoModel.LoraAlpha} on {string.Join(", ", LlamaDemoModel.AdapterModules)}");
                    Console.WriteLine($"sample:  \"{DemoModel.SampleText}\"");
                    return 0;
                }
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
