namespace ZkLora.Api;

/// <summary>
/// An artifact file (adapter manifest, transcript) exists and was read, but its content is not a
/// valid artifact of its kind: not canonical JSON, an unknown schema or backend, a missing or extra
/// member, a value out of bounds, a duplicate entry, or a file above the size limit.
/// </summary>
public sealed class ArtifactFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Full message, naming the file.</param>
    /// <param name="filePath">The artifact file.</param>
    /// <param name="problem">What is wrong and where (a JSON path such as <c>$.entries[3].delta</c>), without the file name.</param>
    public ArtifactFormatException(string message, string filePath, string problem)
        : base(message)
    {
        FilePath = filePath;
        Problem = problem;
    }

    /// <summary>The artifact file.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong and where, without the file name.</summary>
    public string Problem { get; }
}
