using ZkLora.Api;
using ZkLora.Api.Multiparty;

namespace ZkLora.Cli;

/// <summary>
/// The <c>ZKLORA_*</c> tuning variables (docs/proving-and-verification.md). The libraries read no
/// environment: the CLI, as the host, reads these here and passes them on as options. An unset,
/// empty or malformed value (or one below the minimum) means the default.
/// </summary>
internal static class TuningEnvironment
{
    /// <summary>Most statements proved at once (<c>ZKLORA_PROVE_PARALLELISM</c>; null: the processor count).</summary>
    internal static int? ProveParallelism => Read("ZKLORA_PROVE_PARALLELISM", 1);

    /// <summary>Proving memory budget in bytes (<c>ZKLORA_PROVE_MEMORY_MB</c>; null: 4096 MiB).</summary>
    internal static long? ProveMemoryBytes => Read("ZKLORA_PROVE_MEMORY_MB", 1) * (1L << 20);

    /// <summary>Most calls per projection proof (<c>ZKLORA_PROJECTION_CALLS_PER_PROOF</c>, default 0: all calls of a module in a session).</summary>
    internal static int ProjectionCallsPerProof => Read("ZKLORA_PROJECTION_CALLS_PER_PROOF", 0) ?? 0;

    /// <summary>Proving keys a server keeps (<c>ZKLORA_KEY_CACHE_SIZE</c>, default 4).</summary>
    internal static int KeyCacheSize => Read("ZKLORA_KEY_CACHE_SIZE", 1) ?? 4;

    /// <summary>Verifying keys a verifier keeps (<c>ZKLORA_VK_CACHE_SIZE</c>, default 16).</summary>
    internal static int VerifyingKeyCacheSize => Read("ZKLORA_VK_CACHE_SIZE", 1) ?? VerificationContext.DefaultVerifyingKeyCacheSize;

    /// <summary>
    /// Where derived commitment generators are kept between runs (<c>ZKLORA_GENERATOR_CACHE</c>: a directory, or
    /// <c>off</c>; default <c>$XDG_CACHE_HOME/zklora/generators</c>, else <c>~/.cache/zklora/generators</c>; null when
    /// off or no home is known). Stored points are checked when loaded, so the directory needs no trust.
    /// </summary>
    internal static string? GeneratorCacheDirectory
    {
        get
        {
            string? set = Environment.GetEnvironmentVariable("ZKLORA_GENERATOR_CACHE");
            if (string.Equals(set, "off", StringComparison.OrdinalIgnoreCase)) return null;
            if (!string.IsNullOrWhiteSpace(set)) return set;
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string root = !string.IsNullOrWhiteSpace(xdg) && Path.IsPathFullyQualified(xdg)
                ? xdg
                : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) is { Length: > 0 } home ? Path.Combine(home, ".cache") : "";
            return root.Length == 0 ? null : Path.Combine(root, "zklora", "generators");
        }
    }

    /// <summary>Commitment parameters backed by <see cref="GeneratorCacheDirectory"/>.</summary>
    internal static CommitmentParameters NewCommitmentParameters() => new(GeneratorCacheDirectory);

    /// <summary>The server options with the proving variables applied where the command line set nothing.</summary>
    internal static LoRAServerOptions Apply(LoRAServerOptions options) => options with
    {
        MaxProofParallelism = options.MaxProofParallelism ?? ProveParallelism,
        MaxProvingMemoryBytes = options.MaxProvingMemoryBytes ?? ProveMemoryBytes,
        ProjectionCallsPerProof = ProjectionCallsPerProof,
        ProvingKeyCacheSize = KeyCacheSize,
        CommitmentParameters = options.CommitmentParameters ?? NewCommitmentParameters(),
    };

    /// <summary>A verifier context sized by <c>ZKLORA_VK_CACHE_SIZE</c>, its generators in <paramref name="parameters"/>
    /// (null: new ones kept in <see cref="GeneratorCacheDirectory"/>).</summary>
    internal static VerificationContext NewVerificationContext(CommitmentParameters? parameters = null) =>
        new(VerifyingKeyCacheSize, parameters ?? NewCommitmentParameters());

    private static int? Read(string name, int minimum) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out int n) && n >= minimum ? n : null;
}
