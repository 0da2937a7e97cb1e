using Xunit;

namespace ZkLora.Model.Tests;

public class HuggingFaceCacheTests
{
    private const string Commit = "0123456789abcdef0123456789abcdef01234567";

    private static string MakeCachedRepo(TempDir hub, string repoFolder, string refName = "main")
    {
        string repo = hub.Combine(repoFolder);
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", refName), Commit + "\n");
        string snapshot = Path.Combine(repo, "snapshots", Commit);
        Directory.CreateDirectory(snapshot);
        return snapshot;
    }

    [Fact]
    public void ResolvesRepositoryIdsThroughRefs()
    {
        using var hub = new TempDir();
        string snapshot = MakeCachedRepo(hub, "models--distilgpt2");
        Assert.Equal(snapshot, HuggingFaceCache.Resolve("distilgpt2", hubDirectory: hub.Path));
        string org = MakeCachedRepo(hub, "models--openai-community--gpt2");
        Assert.Equal(org, HuggingFaceCache.Resolve("openai-community/gpt2", hubDirectory: hub.Path));
        Assert.Equal(org, HuggingFaceCache.Resolve("openai-community/gpt2", Commit, hub.Path));
    }

    [Fact]
    public void ExistingDirectoriesWin()
    {
        using var dir = new TempDir();
        Assert.Equal(Path.GetFullPath(dir.Path), HuggingFaceCache.Resolve(dir.Path, hubDirectory: "/nonexistent"));
    }

    [Fact]
    public void MissingModelsFailClearly()
    {
        using var hub = new TempDir();
        var e = Assert.Throws<ModelNotFoundException>(() => HuggingFaceCache.Resolve("distilgpt2", hubDirectory: hub.Path));
        Assert.Contains("models--distilgpt2", e.Message);
        Assert.Contains("never downloads", e.Message);

        MakeCachedRepo(hub, "models--gpt2", refName: "v1");
        e = Assert.Throws<ModelNotFoundException>(() => HuggingFaceCache.Resolve("gpt2", hubDirectory: hub.Path));
        Assert.Contains("cached revisions: v1", e.Message);

        Assert.Throws<ModelNotFoundException>(() => HuggingFaceCache.Resolve("./no/such/dir", hubDirectory: hub.Path));
        Assert.Throws<ModelNotFoundException>(() => HuggingFaceCache.Resolve("a/b/c", hubDirectory: hub.Path));
        Assert.Throws<ModelNotFoundException>(() => HuggingFaceCache.Resolve("gpt2", "../../etc", hub.Path));
        Assert.Throws<ModelNotFoundException>(() => Gpt2Model.Load("distilgpt2", new Gpt2LoadOptions { HubDirectory = hub.Path }));
        Assert.Throws<ModelNotFoundException>(() => LoraAdapter.Load("someone/adapter", hubDirectory: hub.Path));
    }

    [Fact]
    public void HubFolderFollowsTheHuggingFaceEnvironmentVariables()
    {
        string? Env(Dictionary<string, string> d, string k) => d.TryGetValue(k, out var v) ? v : null;
        var all = new Dictionary<string, string> { ["HF_HUB_CACHE"] = "/a", ["HF_HOME"] = "/b", ["XDG_CACHE_HOME"] = "/c" };
        Assert.Equal("/a", HuggingFaceCache.HubDirectoryFrom(k => Env(all, k), "/home/u"));
        all.Remove("HF_HUB_CACHE");
        Assert.Equal("/b/hub", HuggingFaceCache.HubDirectoryFrom(k => Env(all, k), "/home/u"));
        all.Remove("HF_HOME");
        Assert.Equal("/c/huggingface/hub", HuggingFaceCache.HubDirectoryFrom(k => Env(all, k), "/home/u"));
        all.Remove("XDG_CACHE_HOME");
        Assert.Equal("/home/u/.cache/huggingface/hub", HuggingFaceCache.HubDirectoryFrom(k => Env(all, k), "/home/u"));
    }

    [Fact]
    public void ModelsLoadFromTheCacheByName()
    {
        using var hub = new TempDir();
        string snapshot = MakeCachedRepo(hub, "models--tiny--gpt2");
        foreach (var f in Directory.GetFiles(TestPaths.Vector("gpt2_tiny", "base"))) File.Copy(f, Path.Combine(snapshot, Path.GetFileName(f)));
        using var model = Gpt2Model.Load("tiny/gpt2", new Gpt2LoadOptions { HubDirectory = hub.Path });
        Assert.Equal(snapshot, model.Directory);
        Assert.Equal(11, model.Config.VocabSize);
    }
}
