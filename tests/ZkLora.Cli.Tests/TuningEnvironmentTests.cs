using ZkLora.Api;
using ZkLora.Api.Multiparty;
using Xunit;

namespace ZkLora.Cli.Tests;

/// <summary>
/// The ZKLORA_* tuning variables are read by the CLI (the libraries read no environment) and
/// mapped onto the library options, with their documented names and defaults.
/// </summary>
public class TuningEnvironmentTests
{
    private static readonly string[] Names =
        ["ZKLORA_PROVE_PARALLELISM", "ZKLORA_PROVE_MEMORY_MB", "ZKLORA_PROJECTION_CALLS_PER_PROOF", "ZKLORA_KEY_CACHE_SIZE", "ZKLORA_VK_CACHE_SIZE"];

    private static void WithVariables(string?[] values, Action body)
    {
        var saved = Names.Select(Environment.GetEnvironmentVariable).ToArray();
        try
        {
            for (int i = 0; i < Names.Length; i++) Environment.SetEnvironmentVariable(Names[i], values[i]);
            body();
        }
        finally
        {
            for (int i = 0; i < Names.Length; i++) Environment.SetEnvironmentVariable(Names[i], saved[i]);
        }
    }

    [Fact]
    public void The_variables_become_server_and_verifier_options()
    {
        WithVariables(["3", "512", "2", "7", "5"], () =>
        {
            var o = TuningEnvironment.Apply(new LoRAServerOptions());
            Assert.Equal(3, o.MaxProofParallelism);
            Assert.Equal(512L << 20, o.MaxProvingMemoryBytes);
            Assert.Equal(2, o.ProjectionCallsPerProof);
            Assert.Equal(7, o.ProvingKeyCacheSize);
            Assert.Equal(5, TuningEnvironment.NewVerificationContext().VerifyingKeyCacheSize);
            // a command-line value (already in the options) wins over the variable
            Assert.Equal(64L << 20, TuningEnvironment.Apply(new LoRAServerOptions { MaxProvingMemoryBytes = 64L << 20 }).MaxProvingMemoryBytes);
        });
    }

    [Fact]
    public void The_generator_cache_variable_chooses_the_directory_or_turns_it_off()
    {
        string?[] saved = [Environment.GetEnvironmentVariable("ZKLORA_GENERATOR_CACHE"), Environment.GetEnvironmentVariable("XDG_CACHE_HOME")];
        try
        {
            string dir = Path.Combine(Path.GetTempPath(), "zklora-gencache-" + Guid.NewGuid().ToString("N"));
            Environment.SetEnvironmentVariable("ZKLORA_GENERATOR_CACHE", dir);
            Assert.Equal(dir, TuningEnvironment.Apply(new LoRAServerOptions()).CommitmentParameters!.GeneratorCacheDirectory);
            Assert.Equal(dir, TuningEnvironment.NewVerificationContext().Parameters.GeneratorCacheDirectory);
            Environment.SetEnvironmentVariable("ZKLORA_GENERATOR_CACHE", "off");
            Assert.Null(TuningEnvironment.Apply(new LoRAServerOptions()).CommitmentParameters!.GeneratorCacheDirectory);
            Assert.Null(TuningEnvironment.NewVerificationContext().Parameters.GeneratorCacheDirectory);
            Environment.SetEnvironmentVariable("ZKLORA_GENERATOR_CACHE", null);
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", "/var/cache/someone");
            Assert.Equal(Path.Combine("/var/cache/someone", "zklora", "generators"), TuningEnvironment.GeneratorCacheDirectory);
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", "relative/ignored");
            Assert.Equal(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "zklora", "generators"), TuningEnvironment.GeneratorCacheDirectory);
            // parameters the host already chose are kept
            var mine = new CommitmentParameters();
            Assert.Same(mine, TuningEnvironment.Apply(new LoRAServerOptions { CommitmentParameters = mine }).CommitmentParameters);
        }
        finally
        {
            Environment.SetEnvironmentVariable("ZKLORA_GENERATOR_CACHE", saved[0]);
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", saved[1]);
        }
    }

    [Fact]
    public void Unset_or_malformed_variables_mean_the_defaults()
    {
        foreach (var values in new[] { new string?[] { null, null, null, null, null }, ["0", "-1", "-1", "0", "x"], ["", "", "", "", ""] })
        {
            WithVariables(values, () =>
            {
                var o = TuningEnvironment.Apply(new LoRAServerOptions());
                Assert.Null(o.MaxProofParallelism); // the library's default: the processor count
                Assert.Null(o.MaxProvingMemoryBytes); // 4096 MiB
                Assert.Equal(0, o.ProjectionCallsPerProof);
                Assert.Equal(4, o.ProvingKeyCacheSize);
                Assert.Equal(16, TuningEnvironment.NewVerificationContext().VerifyingKeyCacheSize);
            });
        }
    }
}
