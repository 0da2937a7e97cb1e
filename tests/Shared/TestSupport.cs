// Test support shared by the C# test projects (linked into each as Shared/TestSupport.cs; each
// assembly compiles its own internal copy). Only the BCL and ZkLora.Model are used here, so every
// C# test project can link it.
global using ZkLora.Tests;

using ZkLora.Model;

namespace ZkLora.Tests;

/// <summary>A fresh temporary folder, deleted (best effort) on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    /// <summary>Creates <c>&lt;temp&gt;/&lt;prefix&gt;&lt;guid&gt;</c>.</summary>
    public TempDir(string prefix = "zklora-tests-")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>The demo model and its adapter, written once per test class into a temporary folder.</summary>
public sealed class DemoFixture : IDisposable
{
    private readonly TempDir _dir = new("zklora-demo-");

    public DemoFixture()
    {
        Paths = DemoModel.Create(_dir.Combine("demo"));
        Adapter = LoraAdapter.Load(Paths.AdapterDirectory);
    }

    public DemoModelPaths Paths { get; }
    public LoraAdapter Adapter { get; }

    /// <summary>A path inside the fixture's temporary folder.</summary>
    public string Combine(params string[] parts) => _dir.Combine(parts);

    public void Dispose() => _dir.Dispose();
}

/// <summary>Per-test timeouts (generous: the machine running the suite may be loaded).</summary>
internal static class Timeouts
{
    public static CancellationTokenSource Test() => new(TimeSpan.FromSeconds(30));
}
