namespace ZkLora.Api;

/// <summary>Version and identity information for the zkLoRA for .NET library.</summary>
public static class ZkLoraInfo
{
    /// <summary>The informational version of the ZkLora.Api assembly.</summary>
    public static string Version =>
        typeof(ZkLoraInfo).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}
