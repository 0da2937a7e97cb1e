using System.Diagnostics.CodeAnalysis;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using ZkLora.Proofs;
using FsCommitment = ZkLora.Proofs.ActivationCommitment;

namespace ZkLora.Api;

/// <summary>
/// Hiding BLAKE3 Merkle commitments to activation files, interoperable with the original
/// Python zkLoRA, plus single-position openings verified in O(log n).
/// </summary>
/// <remarks>
/// <para>An activation file is JSON with an <c>input_data</c> member: a number or nested lists
/// of numbers, flattened depth-first and read exactly as Python's <c>float()</c> reads them.
/// Leaf <c>i</c> is <c>BLAKE3(be64(value_i) ‖ nonce)</c>; parents are <c>BLAKE3(left ‖ right)</c>;
/// an odd level is padded with 32 zero bytes unless it is the root, and the leaf level is always
/// padded when odd (so one value commits to <c>BLAKE3(leaf ‖ 0³²)</c>, as in the original); an empty
/// list commits to 32 zero bytes. The nonce is 32 bytes from the operating system's CSPRNG.
/// Hex is read with or without a <c>0x</c>/<c>0X</c> prefix and written with <c>0x</c>.</para>
/// <para>The commitment JSON carries the nonce, i.e. it is the decommitment key: publish only
/// its <c>root</c> (see <see cref="GetRoot"/>) and keep the JSON until you verify or open.
/// An opening necessarily reveals the nonce (the original's leaf format shares one nonce among
/// all leaves), which lets its recipients brute-force the neighbouring leaf (index xor 1) when
/// values have low entropy; see the project README.</para>
/// <para>Each operation comes in two forms: on JSON strings (the formats above, as files and the
/// command line exchange them) and on the typed <see cref="ActivationCommitment"/> and
/// <see cref="ActivationOpening"/>, which parse and write exactly those strings.</para>
/// <para>Files are streamed (never loaded whole) and hashed in parallel blocks, so memory stays
/// bounded whatever the file size.</para>
/// </remarks>
public static class ActivationCommitments
{
    /// <summary>The version tag written into, and required in, every opening.</summary>
    public const string OpeningScheme = FsCommitment.OpeningScheme;

    /// <summary>Commits to the activations in <paramref name="path"/> under a fresh random nonce.</summary>
    /// <param name="path">Activation JSON file.</param>
    /// <returns>The commitment JSON <c>{"root":"0x…64 hex","nonce":"0x…64 hex"}</c>.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="ActivationsFormatException">The file is not valid activation JSON.</exception>
    public static string CommitActivations(string path) => CommitActivations(path, CancellationToken.None);

    /// <summary>Commits to the activations in <paramref name="path"/> under a fresh random nonce.</summary>
    /// <param name="path">Activation JSON file.</param>
    /// <param name="cancellationToken">Observed between 1 MiB reads.</param>
    /// <returns>The commitment JSON <c>{"root":"0x…64 hex","nonce":"0x…64 hex"}</c>.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="ActivationsFormatException">The file is not valid activation JSON.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static string CommitActivations(string path, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        var result = FsCommitment.commitFile(path, cancellationToken);
        return FsCommitment.commitmentToJson(Unwrap(result));
    }

    /// <summary>Runs <see cref="CommitActivations(string, CancellationToken)"/> on the thread pool.</summary>
    /// <param name="path">Activation JSON file.</param>
    /// <param name="cancellationToken">Observed between 1 MiB reads.</param>
    /// <returns>The commitment JSON.</returns>
    public static Task<string> CommitActivationsAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Task.Run(() => CommitActivations(path, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Checks that the activations in <paramref name="path"/> hash to the commitment's root under
    /// its nonce.
    /// </summary>
    /// <param name="path">Activation JSON file.</param>
    /// <param name="commitment">Commitment JSON; hex in either case, <c>0x</c>/<c>0X</c> prefix optional.</param>
    /// <returns>True when they match; false when they do not, or when the commitment is malformed
    /// (not JSON, other members, bad hex, wrong length, a prefix other than 0x/0X) — never an
    /// exception for that.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="ActivationsFormatException">The file is not valid activation JSON.</exception>
    public static bool VerifyCommitment(string path, string commitment) =>
        VerifyCommitment(path, commitment, CancellationToken.None);

    /// <summary>As <see cref="VerifyCommitment(string, string)"/>, with cancellation.</summary>
    /// <param name="path">Activation JSON file.</param>
    /// <param name="commitment">Commitment JSON.</param>
    /// <param name="cancellationToken">Observed between 1 MiB reads.</param>
    /// <returns>True when the file matches the commitment.</returns>
    public static bool VerifyCommitment(string path, string commitment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Unwrap(FsCommitment.verifyFile(path, commitment, cancellationToken));
    }

    /// <summary>Runs <see cref="VerifyCommitment(string, string, CancellationToken)"/> on the thread pool.</summary>
    /// <param name="path">Activation JSON file.</param>
    /// <param name="commitment">Commitment JSON.</param>
    /// <param name="cancellationToken">Observed between 1 MiB reads.</param>
    /// <returns>True when the file matches the commitment.</returns>
    public static Task<bool> VerifyCommitmentAsync(string path, string commitment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Task.Run(() => VerifyCommitment(path, commitment, cancellationToken), cancellationToken);
    }

    /// <summary>The public part of a commitment: its root, <c>"0x"</c> + 64 lower-case hex digits.</summary>
    /// <param name="commitment">Commitment JSON.</param>
    /// <returns>The root.</returns>
    /// <exception cref="FormatException">The commitment is malformed.</exception>
    public static string GetRoot(string commitment) => ParseCommitment(commitment).Root.ToHex();

    /// <summary>
    /// Opens one position: a proof that value number <paramref name="index"/> (depth-first, from 0)
    /// of the file is what the opening says, under the commitment's root.
    /// </summary>
    /// <param name="path">Activation JSON file.</param>
    /// <param name="commitment">The commitment JSON (its nonce is needed to open).</param>
    /// <param name="index">Position to open.</param>
    /// <returns>Opening JSON, scheme <see cref="OpeningScheme"/>: count, index, value, nonce and the
    /// sibling path. It reveals the nonce (see the class remarks).</returns>
    /// <exception cref="FormatException">The commitment is malformed.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The index is negative or not below the value count.</exception>
    /// <exception cref="CommitmentMismatchException">The file does not match the commitment.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="ActivationsFormatException">The file is not valid activation JSON.</exception>
    public static string OpenActivation(string path, string commitment, long index) =>
        OpenActivation(path, commitment, index, CancellationToken.None);

    /// <summary>As <see cref="OpenActivation(string, string, long)"/>, with cancellation.</summary>
    /// <param name="path">Activation JSON file.</param>
    /// <param name="commitment">The commitment JSON.</param>
    /// <param name="index">Position to open.</param>
    /// <param name="cancellationToken">Observed between 1 MiB reads.</param>
    /// <returns>Opening JSON.</returns>
    public static string OpenActivation(string path, string commitment, long index, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        ParseCommitment(commitment);
        var result = FsCommitment.openFile(path, commitment, index, cancellationToken);
        if (result.IsOk)
        {
            return FsCommitment.openingToJson(result.ResultValue);
        }
        var error = result.ErrorValue;
        var message = FsCommitment.describeOpenError(error);
        throw error switch
        {
            FsCommitment.OpenError.FileError f => ToException(f.Item),
            FsCommitment.OpenError.IndexOutOfRange r => new ArgumentOutOfRangeException(nameof(index), r.Index, message),
            _ when error.IsCommitmentMismatch => new CommitmentMismatchException(message),
            _ => new FormatException(message),
        };
    }

    /// <summary>Runs <see cref="OpenActivation(string, string, long, CancellationToken)"/> on the thread pool.</summary>
    /// <param name="path">Activation JSON file.</param>
    /// <param name="commitment">The commitment JSON.</param>
    /// <param name="index">Position to open.</param>
    /// <param name="cancellationToken">Observed between 1 MiB reads.</param>
    /// <returns>Opening JSON.</returns>
    public static Task<string> OpenActivationAsync(string path, string commitment, long index, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Task.Run(() => OpenActivation(path, commitment, index, cancellationToken), cancellationToken);
    }

    /// <summary>Checks an opening against a trusted root in O(log n), without the other values.</summary>
    /// <param name="opening">Opening JSON from <see cref="OpenActivation(string, string, long)"/>.</param>
    /// <param name="root">The root you trust, 64 hex digits (<c>0x</c> prefix optional), obtained before the opening.</param>
    /// <returns>True when the opening is well-formed and proves its value at its index under the root;
    /// false otherwise (never throws for malformed input).</returns>
    public static bool VerifyOpening(string opening, string root) => VerifyOpening(opening, root, out _);

    /// <summary>As <see cref="VerifyOpening(string, string)"/>, also saying why an opening was rejected.</summary>
    /// <param name="opening">Opening JSON.</param>
    /// <param name="root">The trusted root.</param>
    /// <param name="failureReason">Null when accepted, else a one-line reason.</param>
    /// <returns>True when the opening checks out.</returns>
    public static bool VerifyOpening(string opening, string root, out string? failureReason)
    {
        var result = FsCommitment.verifyOpeningJson(root, opening);
        failureReason = result.IsOk ? null : FsCommitment.describeRejection(result.ErrorValue);
        return result.IsOk;
    }

    /// <summary>Parses opening JSON strictly (without verifying it against any root).</summary>
    /// <param name="opening">Opening JSON.</param>
    /// <returns>The opening's fields.</returns>
    /// <exception cref="FormatException">The opening is malformed; the message says how.</exception>
    public static ActivationOpening ParseOpening(string opening)
    {
        var parsed = FsCommitment.parseOpening(opening);
        if (parsed.IsError)
        {
            throw new FormatException("malformed opening: " + parsed.ErrorValue);
        }
        var o = parsed.ResultValue;
        return new ActivationOpening(o.Count, o.Index, o.Value, o.Nonce.ToHex(), o.Siblings.Select(s => s.ToHex()).ToArray());
    }

    /// <summary>Commits to the activations in <paramref name="path"/> under a fresh random nonce.</summary>
    /// <param name="path">Activation JSON file.</param>
    /// <param name="cancellationToken">Observed between 1 MiB reads.</param>
    /// <returns>The commitment (<see cref="ActivationCommitment.ToJson"/> gives the same JSON as
    /// <see cref="CommitActivations(string, CancellationToken)"/>).</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="ActivationsFormatException">The file is not valid activation JSON.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static ActivationCommitment Commit(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        return new ActivationCommitment(Unwrap(FsCommitment.commitFile(path, cancellationToken)));
    }

    /// <summary>Runs <see cref="Commit(string, CancellationToken)"/> on the thread pool.</summary>
    /// <param name="path">Activation JSON file.</param>
    /// <param name="cancellationToken">Observed between 1 MiB reads.</param>
    /// <returns>The commitment.</returns>
    public static Task<ActivationCommitment> CommitAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Task.Run(() => Commit(path, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Checks that the activations in <paramref name="path"/> hash to the commitment's root under
    /// its nonce.
    /// </summary>
    /// <param name="path">Activation JSON file.</param>
    /// <param name="commitment">The commitment.</param>
    /// <param name="cancellationToken">Observed between 1 MiB reads.</param>
    /// <returns>True when the file matches the commitment.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="ActivationsFormatException">The file is not valid activation JSON.</exception>
    public static bool VerifyCommitment(string path, ActivationCommitment commitment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(commitment);
        return Unwrap(FsCommitment.verifyFile(path, commitment.ToJson(), cancellationToken));
    }

    /// <summary>As <see cref="VerifyCommitment(string, ActivationCommitment, CancellationToken)"/>, without cancellation.</summary>
    /// <param name="path">Activation JSON file.</param>
    /// <param name="commitment">The commitment.</param>
    /// <returns>True when the file matches the commitment.</returns>
    public static bool VerifyCommitment(string path, ActivationCommitment commitment) =>
        VerifyCommitment(path, commitment, CancellationToken.None);

    /// <summary>Runs <see cref="VerifyCommitment(string, ActivationCommitment, CancellationToken)"/> on the thread pool.</summary>
    /// <param name="path">Activation JSON file.</param>
    /// <param name="commitment">The commitment.</param>
    /// <param name="cancellationToken">Observed between 1 MiB reads.</param>
    /// <returns>True when the file matches the commitment.</returns>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters",
        Justification = "The overloads differ in a required parameter's type (JSON string vs typed commitment), so no call but a null literal can be ambiguous.")]
    public static Task<bool> VerifyCommitmentAsync(string path, ActivationCommitment commitment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(commitment);
        return Task.Run(() => VerifyCommitment(path, commitment, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Opens one position of the file under a commitment (see
    /// <see cref="OpenActivation(string, string, long, CancellationToken)"/>).
    /// </summary>
    /// <param name="path">Activation JSON file.</param>
    /// <param name="commitment">The commitment (its nonce is needed to open).</param>
    /// <param name="index">Position to open (depth-first, from 0).</param>
    /// <param name="cancellationToken">Observed between 1 MiB reads.</param>
    /// <returns>The opening (<see cref="ActivationOpening.ToJson"/> gives the opening JSON). It reveals
    /// the nonce (see the class remarks).</returns>
    /// <exception cref="ArgumentOutOfRangeException">The index is negative or not below the value count.</exception>
    /// <exception cref="CommitmentMismatchException">The file does not match the commitment.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="ActivationsFormatException">The file is not valid activation JSON.</exception>
    public static ActivationOpening OpenActivation(string path, ActivationCommitment commitment, long index, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(commitment);
        return ParseOpening(OpenActivation(path, commitment.ToJson(), index, cancellationToken));
    }

    /// <summary>As <see cref="OpenActivation(string, ActivationCommitment, long, CancellationToken)"/>, without cancellation.</summary>
    /// <param name="path">Activation JSON file.</param>
    /// <param name="commitment">The commitment.</param>
    /// <param name="index">Position to open.</param>
    /// <returns>The opening.</returns>
    public static ActivationOpening OpenActivation(string path, ActivationCommitment commitment, long index) =>
        OpenActivation(path, commitment, index, CancellationToken.None);

    /// <summary>Runs <see cref="OpenActivation(string, ActivationCommitment, long, CancellationToken)"/> on the thread pool.</summary>
    /// <param name="path">Activation JSON file.</param>
    /// <param name="commitment">The commitment.</param>
    /// <param name="index">Position to open.</param>
    /// <param name="cancellationToken">Observed between 1 MiB reads.</param>
    /// <returns>The opening.</returns>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters",
        Justification = "The overloads differ in a required parameter's type (JSON string vs typed commitment), so no call but a null literal can be ambiguous.")]
    public static Task<ActivationOpening> OpenActivationAsync(string path, ActivationCommitment commitment, long index, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(commitment);
        return Task.Run(() => OpenActivation(path, commitment, index, cancellationToken), cancellationToken);
    }

    /// <summary>Checks an opening against a trusted root in O(log n), without the other values.</summary>
    /// <param name="opening">The opening.</param>
    /// <param name="root">The root you trust, 64 hex digits (<c>0x</c> prefix optional), obtained before the opening
    /// (for instance <see cref="ActivationCommitment.Root"/> of a commitment you received earlier).</param>
    /// <param name="failureReason">Null when accepted, else a one-line reason.</param>
    /// <returns>True when the opening is well-formed and proves its value at its index under the root;
    /// false otherwise (never throws for a malformed opening or root).</returns>
    public static bool VerifyOpening(ActivationOpening opening, string root, out string? failureReason)
    {
        ArgumentNullException.ThrowIfNull(opening);
        if (!opening.TryToJson(out var json, out var problem))
        {
            failureReason = "malformed opening: " + problem;
            return false;
        }
        return VerifyOpening(json, root, out failureReason);
    }

    /// <summary>As <see cref="VerifyOpening(ActivationOpening, string, out string?)"/>, without the reason.</summary>
    /// <param name="opening">The opening.</param>
    /// <param name="root">The trusted root.</param>
    /// <returns>True when the opening checks out.</returns>
    public static bool VerifyOpening(ActivationOpening opening, string root) => VerifyOpening(opening, root, out _);

    private static FsCommitment.Commitment ParseCommitment(string commitment)
    {
        var parsed = FsCommitment.tryParseCommitment(commitment);
        if (FSharpOption<FsCommitment.Commitment>.get_IsNone(parsed))
        {
            throw new FormatException(FsCommitment.describeOpenError(FsCommitment.OpenError.MalformedCommitment));
        }
        return parsed.Value;
    }

    internal static T Unwrap<T>(FSharpResult<T, FsCommitment.ActivationFileError> result) =>
        result.IsOk ? result.ResultValue : throw ToException(result.ErrorValue);

    private static Exception ToException(FsCommitment.ActivationFileError error)
    {
        var message = FsCommitment.describeFileError(error);
        return error switch
        {
            FsCommitment.ActivationFileError.FileNotFound f => new FileNotFoundException(message, f.Path),
            FsCommitment.ActivationFileError.InvalidData d =>
                new ActivationsFormatException(message, d.Path, ActivationReader.describe(d.Problem)),
            _ => new IOException(message),
        };
    }
}

/// <summary>The fields of an opening (see <see cref="ActivationCommitments.ParseOpening"/>).</summary>
/// <param name="Count">Number of values the opening claims the committed list has.</param>
/// <param name="Index">Opened position (depth-first, from 0).</param>
/// <param name="Value">The value at that position.</param>
/// <param name="Nonce">The commitment nonce, "0x" + 64 hex digits (revealed by every opening).</param>
/// <param name="Siblings">Merkle path bottom-up, "0x" + 64 hex digits each (zeros where the tree pads).</param>
public sealed record ActivationOpening(long Count, long Index, double Value, string Nonce, IReadOnlyList<string> Siblings)
{
    /// <summary>Parses opening JSON strictly (as <see cref="ActivationCommitments.ParseOpening"/>).</summary>
    /// <param name="json">Opening JSON.</param>
    /// <returns>The opening.</returns>
    /// <exception cref="FormatException">The opening is malformed; the message says how.</exception>
    public static ActivationOpening Parse(string json) => ActivationCommitments.ParseOpening(json);

    /// <summary>
    /// The opening JSON, exactly as <see cref="ActivationCommitments.OpenActivation(string, string, long)"/>
    /// writes it (scheme <see cref="ActivationCommitments.OpeningScheme"/>, lower-case hex with <c>0x</c>).
    /// </summary>
    /// <returns>Opening JSON that <see cref="Parse"/> reads back to an equal opening.</returns>
    /// <exception cref="FormatException">The fields do not form an opening (bad hex, a negative count
    /// or index, a non-finite value); the message says which. Whether the opening proves anything
    /// (index below count, path length, hashes) is decided by
    /// <see cref="ActivationCommitments.VerifyOpening(ActivationOpening, string, out string?)"/>.</exception>
    public string ToJson() =>
        TryToJson(out var json, out var problem) ? json : throw new FormatException("malformed opening: " + problem);

    internal bool TryToJson([NotNullWhen(true)] out string? json, [NotNullWhen(false)] out string? problem)
    {
        json = null;
        if (!double.IsFinite(Value))
        {
            problem = "\"value\" must be a finite number";
            return false;
        }
        if (Nonce is null || FSharpOption<Bytes32>.get_IsNone(Bytes32.TryParseHex(Nonce)))
        {
            problem = "\"nonce\" must be 64 hex digits (\"0x\" prefix optional)";
            return false;
        }
        if (Siblings is null)
        {
            problem = "\"siblings\" must be a list";
            return false;
        }
        var siblings = new List<Bytes32>(Siblings.Count);
        for (int i = 0; i < Siblings.Count; i++)
        {
            var parsed = Siblings[i] is null ? null : Bytes32.TryParseHex(Siblings[i]);
            if (FSharpOption<Bytes32>.get_IsNone(parsed))
            {
                problem = $"\"siblings\"[{i}] must be 64 hex digits (\"0x\" prefix optional)";
                return false;
            }
            siblings.Add(parsed!.Value);
        }
        var text = FsCommitment.openingToJson(new FsCommitment.Opening(
            Count, Index, Value, Bytes32.TryParseHex(Nonce).Value, ListModule.OfSeq(siblings)));
        // The strict reader decides what an opening is: never write JSON it would reject.
        var check = FsCommitment.parseOpening(text);
        if (check.IsError)
        {
            problem = check.ErrorValue;
            return false;
        }
        json = text;
        problem = null;
        return true;
    }
}

/// <summary>
/// A commitment to an activation file: the Merkle <see cref="Root"/> and the <see cref="Nonce"/>
/// it was computed under. The nonce is the decommitment key: publish only the root, keep the
/// commitment (<see cref="ToJson"/>) until you verify or open. <see cref="ToString"/> shows the
/// root only, so a commitment written to a log does not leak its nonce.
/// </summary>
public sealed record ActivationCommitment
{
    private readonly FsCommitment.Commitment _value;

    internal ActivationCommitment(FsCommitment.Commitment value) => _value = value;

    /// <summary>The public root, <c>"0x"</c> + 64 lower-case hex digits.</summary>
    public string Root => _value.Root.ToHex();

    /// <summary>The secret nonce, <c>"0x"</c> + 64 lower-case hex digits.</summary>
    public string Nonce => _value.Nonce.ToHex();

    /// <summary>
    /// Parses commitment JSON strictly: an object with exactly <c>root</c> and <c>nonce</c>, each 64 hex
    /// digits in either case with an optional <c>0x</c>/<c>0X</c> prefix (the original's layout).
    /// </summary>
    /// <param name="json">Commitment JSON.</param>
    /// <returns>The commitment.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="json"/> is null.</exception>
    /// <exception cref="FormatException">The JSON is not a commitment; the message gives the expected form.</exception>
    public static ActivationCommitment Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return TryParse(json, out var commitment)
            ? commitment
            : throw new FormatException(FsCommitment.describeOpenError(FsCommitment.OpenError.MalformedCommitment));
    }

    /// <summary>As <see cref="Parse"/>, returning false instead of throwing.</summary>
    /// <param name="json">Commitment JSON (null gives false).</param>
    /// <param name="commitment">The commitment when the result is true.</param>
    /// <returns>True when <paramref name="json"/> is a well-formed commitment.</returns>
    public static bool TryParse([NotNullWhen(true)] string? json, [NotNullWhen(true)] out ActivationCommitment? commitment)
    {
        var parsed = json is null ? null : FsCommitment.tryParseCommitment(json);
        commitment = FSharpOption<FsCommitment.Commitment>.get_IsNone(parsed) ? null : new ActivationCommitment(parsed!.Value);
        return commitment is not null;
    }

    /// <summary>The commitment JSON <c>{"root":"0x…","nonce":"0x…"}</c> (compact, lower-case hex), as
    /// <see cref="ActivationCommitments.CommitActivations(string)"/> writes it.</summary>
    /// <returns>Commitment JSON; <see cref="Parse"/> reads it back to an equal commitment.</returns>
    public string ToJson() => FsCommitment.commitmentToJson(_value);

    /// <summary>The root only (never the nonce).</summary>
    /// <returns><c>ActivationCommitment { Root = 0x… }</c>.</returns>
    public override string ToString() => $"ActivationCommitment {{ Root = {Root} }}";
}

/// <summary>An activation file exists but is not valid activation JSON (the message says where).</summary>
public sealed class ActivationsFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Full message, naming the file.</param>
    /// <param name="path">The activation file.</param>
    /// <param name="problem">What is wrong and where, without the file name.</param>
    public ActivationsFormatException(string message, string path, string problem)
        : base(message)
    {
        FilePath = path;
        Problem = problem;
    }

    /// <summary>The activation file.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong and where (JSON position or <c>input_data[i][j]</c> and byte offset).</summary>
    public string Problem { get; }
}

/// <summary>The activation file does not hash to the commitment's root under its nonce.</summary>
public sealed class CommitmentMismatchException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Explanation.</param>
    public CommitmentMismatchException(string message)
        : base(message)
    {
    }
}
