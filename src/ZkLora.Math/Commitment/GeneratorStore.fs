/// A directory where derived commitment generators persist between processes.
///
/// Deriving a generator (hash-to-curve: try-and-increment with a square root) costs about 22 µs
/// of CPU; a verifier of an n-entry projection proof needs 2n of them (a PLONK verifier 2^k), so a fresh process spends
/// most of a small verification deriving them. A store keeps, per generator domain, the points
/// derived so far as (attempt counter, y): loading one costs one BLAKE3 hash and a curve-equation
/// check, about 20× less, and needs no square root.
///
/// Security: every loaded point is *checked*, not trusted — its x is recomputed as the hash of
/// (domain, index, counter) and (x, y) must lie on the curve with the hash's parity bit
/// (`HashToCurve.CheckAttempt`). So a loaded point is always a hash-to-curve output of its own
/// (domain, index), a random-oracle point like the derived one; nobody knows a discrete-log
/// relation between such points, which is all the commitments' binding (and so soundness)
/// needs, whoever wrote the file. A file that was tampered with can at worst hold another
/// attempt's point for an index (not the first that succeeded): the process's generators then
/// differ from everyone else's and its proofs or verifications fail — never a false acceptance.
/// A file that fails any check is ignored (the points are derived) and replaced.
///
/// The host chooses the directory (the CLI: `ZKLORA_GENERATOR_CACHE`, default
/// ~/.cache/zklora/generators); the libraries never pick one. Writes are atomic (a temporary file
/// renamed over the old one), so concurrent processes can share a directory.
namespace ZkLora.Math.Commitment

open System
open System.Buffers.Binary
open System.IO
open System.Text
open System.Threading.Tasks
open ZkLora.Math

/// See the file comment. Thread-safe; I/O errors never fail a derivation (`LastError` keeps the
/// latest one for diagnostics).
[<Sealed>]
type GeneratorStore(directory: string) =
    static let magic = Encoding.ASCII.GetBytes "zklora-generators/v1/vesta\n"
    /// Most points a file may announce (the largest supported vector is 2^24 entries).
    static let maxPoints = 1 <<< 25
    static let entryBytes = 33
    do if String.IsNullOrWhiteSpace directory then invalidArg (nameof directory) "the store needs a directory"
    let directory = Path.GetFullPath directory
    let mutable lastError : string option = None
    let mutable loaded = 0L
    // files that failed a check in this process: replaced on the next save whatever their length
    let rejected = Collections.Concurrent.ConcurrentDictionary<string, bool>(StringComparer.Ordinal)

    let fileOf (domain: string) =
        let digest = Blake3.Hasher.Hash(ReadOnlySpan(Encoding.UTF8.GetBytes domain))
        Path.Combine(directory, Convert.ToHexStringLower(digest.AsSpan().Slice(0, 16)) + ".zklora-generators")

    let header (domain: string) (count: int) =
        let d = Encoding.UTF8.GetBytes domain
        let h = Array.zeroCreate<byte> (magic.Length + 4 + d.Length + 4)
        magic.CopyTo(h, 0)
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan magic.Length, d.Length)
        d.CopyTo(h, magic.Length + 4)
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(magic.Length + 4 + d.Length), count)
        h

    /// The announced point count when `stream` starts with this domain's header and has exactly
    /// that many entries; None otherwise.
    let readCount (domain: string) (stream: FileStream) =
        let expected = header domain 0
        let h = Array.zeroCreate<byte> expected.Length
        if stream.Length < int64 h.Length then None
        else
            stream.ReadExactly(h, 0, h.Length)
            let count = BinaryPrimitives.ReadInt32LittleEndian(ReadOnlySpan(h, h.Length - 4, 4))
            let sameHeader = ReadOnlySpan(h, 0, h.Length - 4).SequenceEqual(ReadOnlySpan(expected, 0, expected.Length - 4))
            if sameHeader && count >= 0 && count <= maxPoints && stream.Length = int64 h.Length + int64 count * int64 entryBytes then Some count
            else None

    /// The directory (absolute).
    member _.Directory = directory

    /// The latest I/O or format problem met (for diagnostics; None if there was none).
    member _.LastError = lastError

    /// Points loaded (and checked) from this store so far, over all domains.
    member _.LoadedPoints = Threading.Interlocked.Read &loaded

    /// Points start … start+count−1 of `domain` as far as the store has them (possibly fewer,
    /// possibly none), each checked (see the file comment), with their attempt counters. A file
    /// with any bad entry yields nothing.
    member internal _.TryLoad(domain: string, start: int, count: int) : VestaAffine[] * uint32[] =
        if start < 0 || count < 0 then invalidArg (nameof count) "start and count must be non-negative"
        let path = fileOf domain
        try
            if not (File.Exists path) then [||], [||]
            else
            use stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read)
            match readCount domain stream with
            | None ->
                lastError <- Some(sprintf "%s: not a generator file of domain '%s'; ignored" path domain)
                rejected[path] <- true
                [||], [||]
            | Some available ->
                let n = max 0 (min count (available - start))
                if n = 0 then [||], [||]
                else
                    stream.Seek(int64 (header domain 0).Length + int64 start * int64 entryBytes, SeekOrigin.Begin) |> ignore
                    let raw = Array.zeroCreate<byte> (n * entryBytes)
                    stream.ReadExactly(raw, 0, raw.Length)
                    let points = Array.zeroCreate<VestaAffine> n
                    let counters = Array.zeroCreate<uint32> n
                    let mutable bad = 0
                    let prefix = HashToCurve<VestaBase, PallasBase>.Prefix domain
                    Parallel.For(0, n, (fun () -> Array.copy prefix, Array.zeroCreate<byte> 65), (fun i _ (buf: byte[], out: byte[]) ->
                        let e = i * entryBytes
                        let counter = uint32 raw[e]
                        match FieldElement<VestaBase>.TryReadBytes(ReadOnlySpan(raw, e + 1, 32)) with
                        | Error _ -> bad <- 1
                        | Ok y ->
                            match HashToCurve<VestaBase, PallasBase>.CheckAttempt(buf, uint32 (start + i), counter, y, out) with
                            | ValueSome p ->
                                points[i] <- p
                                counters[i] <- counter
                            | ValueNone -> bad <- 1
                        (buf, out)), ignore) |> ignore
                    if bad <> 0 then
                        lastError <- Some(sprintf "%s: an entry is not the hash-to-curve output of its index; ignored" path)
                        rejected[path] <- true
                        [||], [||]
                    else
                        Threading.Interlocked.Add(&loaded, int64 n) |> ignore
                        points, counters
        with e when (e :? IOException || e :? UnauthorizedAccessException) ->
            lastError <- Some(sprintf "%s: %s" path e.Message)
            [||], [||]

    /// Stores points 0 … count−1 of `domain` (with their attempt counters) unless the store
    /// already has at least as many in a file that passed its checks; atomic replace. Nothing is stored when a counter does not
    /// fit the format's byte (probability 2^-256) or the directory cannot be written.
    member internal _.Save(domain: string, points: VestaAffine[], counters: uint32[], count: int) : unit =
        if count < 0 || count > points.Length || count > counters.Length then invalidArg (nameof count) "count outside the arrays"
        if count > 0 && count <= maxPoints && Array.forall (fun c -> c <= 255u) (Array.sub counters 0 count) then
            let path = fileOf domain
            try
                let existing =
                    if rejected.ContainsKey path then 0
                    elif File.Exists path then
                        use stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read)
                        defaultArg (readCount domain stream) 0
                    else 0
                if existing < count then
                    Directory.CreateDirectory directory |> ignore
                    let tmp = path + "." + Guid.NewGuid().ToString("N") + ".tmp"
                    try
                        do
                            use stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None)
                            stream.Write(header domain count)
                            let entry = Array.zeroCreate<byte> entryBytes
                            for i in 0 .. count - 1 do
                                entry[0] <- byte counters[i]
                                points[i].Y.WriteBytes(Span(entry, 1, 32))
                                stream.Write(entry, 0, entryBytes)
                        File.Move(tmp, path, true)
                        rejected.TryRemove(path) |> ignore
                    finally
                        if File.Exists tmp then File.Delete tmp
            with e when (e :? IOException || e :? UnauthorizedAccessException) ->
                lastError <- Some(sprintf "%s: %s" path e.Message)
