using System.Security.Cryptography;
using System.Text;
using Microsoft.FSharp.Collections;
using ZkLora.Proofs;
using FsManifest = ZkLora.Proofs.Manifest;

namespace ZkLora.Api;

/// <summary>The proof backend a manifest commits its adapters for.</summary>
public enum ProofBackend
{
    /// <summary>PLONKish LoRA circuit over the Vesta IPA; Poseidon adapter commitment (<see cref="AdapterManifest.Backend"/>, <see cref="AdapterManifest.CommitmentScheme"/>).</summary>
    Plonk,
    /// <summary>
    /// Commit-once Pedersen weights with a one-time adapter range proof and per-call projection proofs
    /// (docs/projection-protocol.md; <see cref="AdapterManifest.ProjectionBackendId"/>, <see cref="AdapterManifest.ProjectionCommitmentScheme"/>).
    /// </summary>
    Projection,
}

/// <summary>
/// One LoRA module of an <see cref="AdapterManifest"/>: its shape, fixed-point configuration,
/// scaling and the hiding commitment to its quantized weights. Entries come from a manifest
/// (<see cref="AdapterManifest.Adapters"/>); there is no way to make one up.
/// </summary>
public sealed record AdapterManifestEntry
{
    private readonly ManifestAdapter _adapter;

    internal AdapterManifestEntry(ManifestAdapter adapter)
    {
        _adapter = adapter;
        ModuleName = adapter.ModuleName;
        InDim = adapter.Shape.InDim;
        Rank = adapter.Shape.Rank;
        OutDim = adapter.Shape.OutDim;
        FixedPoint = FixedPointSettings.FromFSharp(adapter.FixedPoint);
        Scaling = LoraScaling.FromFSharp(adapter.Scaling);
        if (adapter.Commitment is ArtifactCommon.AdapterCommitmentValue.PoseidonCommitment poseidon)
        {
            Backend = ProofBackend.Plonk;
            Commitment = AdapterCommitment.toHex(poseidon.Item);
        }
        else
        {
            Backend = ProofBackend.Projection;
            Commitment = ArtifactCommon.pointToHex(((ArtifactCommon.AdapterCommitmentValue.PedersenCommitment)adapter.Commitment).Item);
        }
    }

    /// <summary>The backend this entry's commitment is for.</summary>
    public ProofBackend Backend { get; }

    /// <summary>The module's name in the base model, e.g. <c>transformer.h.0.attn.c_attn</c>.</summary>
    public string ModuleName { get; }

    /// <summary>Input width.</summary>
    public int InDim { get; }

    /// <summary>LoRA rank.</summary>
    public int Rank { get; }

    /// <summary>Output width.</summary>
    public int OutDim { get; }

    /// <summary>The fixed-point configuration the weights were quantized with.</summary>
    public FixedPointSettings FixedPoint { get; }

    /// <summary>The LoRA scaling as an exact reduced fraction (e.g. lora_alpha / r).</summary>
    public LoraScaling Scaling { get; }

    /// <summary>
    /// The adapter commitment: for <see cref="ProofBackend.Plonk"/> (scheme <see cref="AdapterManifest.CommitmentScheme"/>)
    /// <c>"0x"</c> + 64 lower-case hex digits, a Pallas field element; for <see cref="ProofBackend.Projection"/>
    /// (scheme <see cref="AdapterManifest.ProjectionCommitmentScheme"/>) <c>"0x"</c> + the 32-byte compressed Vesta point in lower-case hex.
    /// </summary>
    public string Commitment { get; }

    // Entries are only ever built from validated F# entries; the entry is kept as read.
    internal ManifestAdapter ToFSharp() => _adapter;
}

/// <summary>
/// The adapter manifest a verifier pins before inference (docs/design.md §1.2, §4.3): one entry per LoRA
/// module a contributor serves, each with its hiding adapter commitment. Its canonical JSON and
/// <see cref="Digest"/> are exactly what <c>zklora serve</c> writes and announces. Immutable; two
/// manifests are equal when their canonical JSON is.
/// </summary>
public sealed class AdapterManifest : IEquatable<AdapterManifest>
{
    private const string What = "manifest";
    private readonly FsManifest _manifest;
    private readonly string _json;

    private AdapterManifest(FsManifest manifest, string json)
    {
        _manifest = manifest;
        _json = json;
        Adapters = manifest.Adapters.Select(a => new AdapterManifestEntry(a)).ToList().AsReadOnly();
        // The artifact digest: SHA-256 of the canonical JSON's ASCII bytes (CanonicalJson.digest).
        Digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(json)));
    }

    /// <summary>
    /// A manifest listing <paramref name="adapters"/> in order, e.g. the union of several
    /// contributors' manifests.
    /// </summary>
    /// <param name="adapters">Entries taken from other manifests; at least one, module names unique.</param>
    /// <exception cref="ArgumentException">No entry, or a module listed twice.</exception>
    public AdapterManifest(IEnumerable<AdapterManifestEntry> adapters)
        : this(Validated(adapters))
    {
    }

    private AdapterManifest((FsManifest Manifest, string Json) validated)
        : this(validated.Manifest, validated.Json)
    {
    }

    /// <summary>The manifest schema this library reads and writes.</summary>
    public static string SchemaVersion => ArtifactCommon.manifestSchema;

    /// <summary>The id of the PLONK proof backend (<see cref="ProofBackend.Plonk"/>).</summary>
    public static string Backend => ArtifactCommon.backend;

    /// <summary>The PLONK backend's adapter commitment scheme (Poseidon over Pasta Fp, salted, packed weights).</summary>
    public static string CommitmentScheme => AdapterCommitment.scheme;

    /// <summary>The id of the projection proof backend (<see cref="ProofBackend.Projection"/>).</summary>
    public static string ProjectionBackendId => ArtifactCommon.projectionBackend;

    /// <summary>The projection backend's adapter commitment scheme (Pedersen vector commitment on Vesta).</summary>
    public static string ProjectionCommitmentScheme => ArtifactCommon.projectionScheme;

    /// <summary>The backend this manifest commits its adapters for (one backend per manifest).</summary>
    public ProofBackend ProofBackend => Adapters[0].Backend;

    /// <summary>
    /// Where the one-time adapter proofs of a projection manifest file live: next to it,
    /// <c>&lt;name&gt;.adapter-proofs.json</c> (<c>&lt;name&gt;</c> = the manifest's file name without a final <c>.json</c>).
    /// </summary>
    /// <param name="manifestPath">The manifest file.</param>
    /// <returns>The adapter-proof file's full path.</returns>
    public static string AdapterProofsPath(string manifestPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(manifestPath);
        return ProjectionArtifacts.adapterProofsPath(manifestPath);
    }

    /// <summary>The modules, in the order of the file.</summary>
    public IReadOnlyList<AdapterManifestEntry> Adapters { get; }

    /// <summary>SHA-256 (64 lower-case hex digits) of the canonical JSON: what a verifier may pin instead of the file.</summary>
    public string Digest { get; }

    /// <summary>The entry of a module, or null when the manifest does not list it.</summary>
    /// <param name="moduleName">The module name, exactly as listed.</param>
    /// <returns>The entry, or null.</returns>
    public AdapterManifestEntry? Find(string moduleName) => Adapters.FirstOrDefault(a => a.ModuleName == moduleName);

    /// <summary>The canonical JSON text (keys sorted, no spaces, ASCII).</summary>
    /// <returns>The text whose SHA-256 is <see cref="Digest"/>.</returns>
    public string ToJson() => _json;

    /// <summary>Parses manifest JSON strictly.</summary>
    /// <param name="json">Manifest JSON.</param>
    /// <returns>The manifest.</returns>
    /// <exception cref="FormatException">It is not a valid manifest; the message says where.</exception>
    public static AdapterManifest Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        var r = ManifestModule.parse(json);
        if (r.IsError) throw new FormatException($"{What}: {r.ErrorValue}");
        return FromFSharp(r.ResultValue);
    }

    /// <summary>Reads and validates a manifest file.</summary>
    /// <param name="path">The manifest file.</param>
    /// <returns>The manifest.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">It cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">It may not be read.</exception>
    /// <exception cref="ArtifactFormatException">It is not a valid manifest (or exceeds the artifact size limit).</exception>
    public static AdapterManifest Read(string path) =>
        FromFSharp(ArtifactFiles.Parse(What, path, ArtifactFiles.ReadBytes(What, path), ManifestModule.parseBytes));

    /// <summary>As <see cref="Read"/>, reading asynchronously.</summary>
    /// <param name="path">The manifest file.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The manifest.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">It cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">It may not be read.</exception>
    /// <exception cref="ArtifactFormatException">It is not a valid manifest.</exception>
    public static async Task<AdapterManifest> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        var bytes = await ArtifactFiles.ReadBytesAsync(What, path, cancellationToken).ConfigureAwait(false);
        return FromFSharp(ArtifactFiles.Parse(What, path, bytes, ManifestModule.parseBytes));
    }

    /// <summary>Writes the canonical JSON, replacing the file (its folder is created if needed).</summary>
    /// <param name="path">Where to write.</param>
    /// <exception cref="IOException">It cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">It may not be written.</exception>
    public void Write(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArtifactFiles.CreateParentDirectory(path);
        ArtifactFiles.WriteText(What, path, _json);
    }

    /// <summary>As <see cref="Write"/>, writing asynchronously.</summary>
    /// <param name="path">Where to write.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The write.</returns>
    /// <exception cref="IOException">It cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">It may not be written.</exception>
    public Task WriteAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArtifactFiles.CreateParentDirectory(path);
        return ArtifactFiles.WriteTextAsync(What, path, _json, cancellationToken);
    }

    /// <inheritdoc />
    public bool Equals(AdapterManifest? other) => other is not null && string.Equals(_json, other._json, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as AdapterManifest);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Digest);

    /// <inheritdoc />
    public override string ToString() => $"AdapterManifest({Adapters.Count} module(s), sha256 {Digest})";

    internal FsManifest ToFSharp() => _manifest;

    /// <summary>Wraps a manifest; it must validate (it was read strictly or built by the contributor).</summary>
    /// <exception cref="ArgumentException">It does not validate.</exception>
    internal static AdapterManifest FromFSharp(FsManifest manifest)
    {
        var json = ManifestModule.toJson(manifest);
        if (json.IsError) throw new ArgumentException($"The manifest does not validate: {json.ErrorValue}", nameof(manifest));
        return new AdapterManifest(manifest, json.ResultValue);
    }

    private static (FsManifest, string) Validated(IEnumerable<AdapterManifestEntry> adapters)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        var list = adapters.ToList();
        if (list.Count == 0) throw new ArgumentException("A manifest lists at least one adapter.", nameof(adapters));
        if (list.Any(a => a is null)) throw new ArgumentException("An adapter entry is null.", nameof(adapters));
        var manifest = new FsManifest(ListModule.OfSeq(list.Select(a => a.ToFSharp())));
        var json = ManifestModule.toJson(manifest);
        if (json.IsError) throw new ArgumentException(json.ErrorValue, nameof(adapters));
        return (manifest, json.ResultValue);
    }
}
