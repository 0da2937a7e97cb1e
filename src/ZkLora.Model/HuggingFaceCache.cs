using System.Text.RegularExpressions;

namespace ZkLora.Model;

/// <summary>
/// Finds model and adapter folders: an existing directory path is used as is; otherwise the text is
/// taken as a Hugging Face repository id (<c>distilgpt2</c>, <c>openai-community/gpt2</c>) and looked
/// up, offline, in the standard Hugging Face cache layout:
/// <c>{hub}/models--{org}--{name}/snapshots/{commit}/</c> with the commit read from
/// <c>refs/{revision}</c>. The hub folder is <c>$HF_HUB_CACHE</c>, else <c>$HF_HOME/hub</c>, else
/// <c>$XDG_CACHE_HOME/huggingface/hub</c>, else <c>~/.cache/huggingface/hub</c>.
/// Nothing is ever downloaded.
/// </summary>
public static partial class HuggingFaceCache
{
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?$")]
    private static partial Regex RepoIdPattern();

    [GeneratedRegex(@"^[0-9a-f]{40}$")]
    private static partial Regex CommitPattern();

    /// <summary>The hub cache folder this process would use (it may not exist).</summary>
    public static string HubDirectory =>
        HubDirectoryFrom(Environment.GetEnvironmentVariable, Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    internal static string HubDirectoryFrom(Func<string, string?> env, string home)
    {
        string? hubCache = env("HF_HUB_CACHE");
        if (!string.IsNullOrEmpty(hubCache)) return hubCache;
        string? hfHome = env("HF_HOME");
        if (!string.IsNullOrEmpty(hfHome)) return System.IO.Path.Combine(hfHome, "hub");
        string? xdg = env("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(xdg)) return System.IO.Path.Combine(xdg, "huggingface", "hub");
        return System.IO.Path.Combine(home, ".cache", "huggingface", "hub");
    }

    /// <summary>
    /// Resolves a directory path or a Hugging Face repository id to a local folder.
    /// </summary>
    /// <param name="pathOrRepoId">A directory, or a repository id such as <c>distilgpt2</c> or <c>openai-community/gpt2</c>.</param>
    /// <param name="revision">Branch or tag (read from <c>refs/</c>) or a 40-hex commit; default <c>main</c>.</param>
    /// <param name="hubDirectory">The hub cache folder to search; default <see cref="HubDirectory"/>.</param>
    /// <exception cref="ModelNotFoundException">Neither a directory nor a cached repository.</exception>
    public static string Resolve(string pathOrRepoId, string revision = "main", string? hubDirectory = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pathOrRepoId);
        ArgumentException.ThrowIfNullOrWhiteSpace(revision);
        if (pathOrRepoId == "~" || pathOrRepoId.StartsWith("~/", StringComparison.Ordinal))
            pathOrRepoId = System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), pathOrRepoId.TrimStart('~').TrimStart('/'));
        if (Directory.Exists(pathOrRepoId)) return System.IO.Path.GetFullPath(pathOrRepoId);

        bool looksLikePath = pathOrRepoId.StartsWith('.') || pathOrRepoId.StartsWith('/') || pathOrRepoId.StartsWith('~')
            || pathOrRepoId.Contains('\\') || pathOrRepoId.Count(c => c == '/') > 1;
        if (looksLikePath || !RepoIdPattern().IsMatch(pathOrRepoId))
            throw new ModelNotFoundException($"'{pathOrRepoId}' is not an existing directory (and is not a Hugging Face repository id to look up in the cache).");

        string hub = hubDirectory ?? HubDirectory;
        string repoDir = System.IO.Path.Combine(hub, "models--" + pathOrRepoId.Replace("/", "--", StringComparison.Ordinal));
        string hint = $"No directory '{pathOrRepoId}', and the Hugging Face cache has no snapshot of it at {repoDir}. " +
                      "This tool never downloads; fetch it on a connected machine (e.g. `huggingface-cli download " + pathOrRepoId +
                      "`) and copy the cache, set HF_HOME/HF_HUB_CACHE, or pass the model folder's path.";
        if (!Directory.Exists(repoDir)) throw new ModelNotFoundException(hint);

        string commit;
        if (CommitPattern().IsMatch(revision))
        {
            commit = revision;
        }
        else
        {
            if (revision.Contains("..", StringComparison.Ordinal) || revision.StartsWith('/'))
                throw new ModelNotFoundException($"Revision '{revision}' is not a valid branch, tag or commit.");
            string refFile = System.IO.Path.Combine(repoDir, "refs", revision);
            if (!File.Exists(refFile))
                throw new ModelNotFoundException($"{repoDir} has no refs/{revision}; cached revisions: " + ListRefs(repoDir) + ".");
            commit = File.ReadAllText(refFile).Trim();
            if (!CommitPattern().IsMatch(commit))
                throw new ModelNotFoundException($"{refFile} does not hold a commit hash.");
        }
        string snapshot = System.IO.Path.Combine(repoDir, "snapshots", commit);
        if (!Directory.Exists(snapshot))
            throw new ModelNotFoundException($"{repoDir}: refs point at snapshot {commit}, which is not in snapshots/. {hint}");
        return snapshot;
    }

    private static string ListRefs(string repoDir)
    {
        string refs = System.IO.Path.Combine(repoDir, "refs");
        if (!Directory.Exists(refs)) return "none";
        var names = Directory.EnumerateFiles(refs, "*", SearchOption.AllDirectories)
            .Select(f => System.IO.Path.GetRelativePath(refs, f)).OrderBy(n => n, StringComparer.Ordinal).ToList();
        return names.Count == 0 ? "none" : string.Join(", ", names);
    }
}
