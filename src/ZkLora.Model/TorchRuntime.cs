using TorchSharp;

namespace ZkLora.Model;

/// <summary>Loads TorchSharp's native runtime once and turns a load failure into an actionable message.</summary>
public static class TorchRuntime
{
    private static readonly Lazy<Exception?> LoadError = new(TryLoad, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Makes sure libtorch and TorchSharp's native shim are loaded.</summary>
    /// <exception cref="InvalidOperationException">They cannot be loaded on this machine.</exception>
    public static void EnsureLoaded()
    {
        if (LoadError.Value is { } e)
        {
            throw new InvalidOperationException(
                "TorchSharp's native runtime (libtorch + libLibTorchSharp) could not be loaded: " + e.Message +
                " On Linux hosts whose libstdc++ predates GCC 13 (e.g. Debian 12) the build patches the copy of " +
                "libLibTorchSharp.so in the output folder: build or publish this application with the ZkLora.Model " +
                "package's build targets (imported automatically, transitively; in the zkLoRA repository through " +
                "Directory.Build.targets) rather than copying binaries from elsewhere, do not set " +
                "ZkLoraSkipTorchSharpPatch, and make sure the TorchSharp-cpu runtime package was restored.", e);
        }
    }

    private static Exception? TryLoad()
    {
        try
        {
            using var t = torch.zeros(1);
            return null;
        }
        catch (Exception e) when (e is NotSupportedException or DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or BadImageFormatException)
        {
            return e;
        }
    }
}
