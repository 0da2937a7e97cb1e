/// What a proof contains and in which order, derived from the constraint system alone
/// (prover and verifier both build it, so they cannot disagree).
///
/// Transcript order: circuit digest; instance values; advice commitments; θ;
/// multiplicity commitments; β, γ; permutation products, lookup helpers, lookup running
/// sums; the vanishing argument's random polynomial; y; quotient pieces; x; evaluations
/// of every queried polynomial (canonical order, instance excluded) and of the random
/// polynomial; then the multipoint opening (x1, x2, f, x3, q(x3), x4) and the inner
/// product argument.
module internal ZkLora.Math.Plonk.ProofLayout

open System
open ZkLora.Math
open ZkLora.Math.Plonk.Argument
open ZkLora.Math.Transcript

[<Literal>]
let ProofMagic = "ZKLP"
[<Literal>]
let ProofVersion = 1uy

/// Canonical rank of a polynomial reference (sort key).
let rank (p: PolyRef) =
    match p with
    | AdviceP i -> struct (0, i, 0)
    | FixedP i -> struct (1, i, 0)
    | InstanceP i -> struct (2, i, 0)
    | SigmaP i -> struct (3, i, 0)
    | PermZ j -> struct (4, j, 0)
    | LookupM g -> struct (5, g, 0)
    | LookupH(g, c) -> struct (6, g, c)
    | LookupZ g -> struct (7, g, 0)

type Layout =
    { Identities: Identity[]
      /// Polynomials the proof opens, canonical order (instance columns excluded: the
      /// verifier evaluates them itself), each with its sorted rotations.
      Opened: struct (PolyRef * int[])[]
      /// Instance queries (column, rotation).
      InstanceQueries: struct (int * int)[]
      /// All distinct rotations (0 included), sorted: the multiopen points are x·ω^r.
      Rotations: int[]
      /// Quotient pieces (degree - 1).
      Pieces: int
      /// Coset parts of size n the quotient is evaluated on (power of two ≥ pieces).
      Parts: int
      /// Commitments in transcript order (names only), for sizes.
      PermZ: int
      LookupHelpers: (int * int)[] }

    /// Number of evaluations written after x (opened queries + random polynomial).
    member l.EvaluationCount = (l.Opened |> Array.sumBy (fun (struct (_, rs)) -> rs.Length)) + 1

let build (cs: ConstraintSystem) : Layout =
    let ids = identities cs
    let qs = queries (ids |> Seq.map (fun i -> i.Term))
    let byPoly =
        qs
        |> Seq.groupBy (fun (struct (p, _)) -> p)
        |> Seq.map (fun (p, rs) -> struct (p, rs |> Seq.map (fun (struct (_, r)) -> r) |> Seq.distinct |> Seq.sort |> Array.ofSeq))
        |> Seq.sortBy (fun (struct (p, _)) -> rank p)
        |> Array.ofSeq
    let opened = byPoly |> Array.filter (fun (struct (p, _)) -> match p with InstanceP _ -> false | _ -> true)
    let instanceQueries =
        byPoly
        |> Array.collect (fun (struct (p, rs)) ->
            match p with
            | InstanceP c -> rs |> Array.map (fun r -> struct (c, r))
            | _ -> [||])
    let rotations =
        byPoly |> Seq.collect (fun (struct (_, rs)) -> rs) |> Seq.append [ 0 ] |> Seq.distinct |> Seq.sort |> Array.ofSeq
    // The combined identity has degree ≤ Degree·(n-1); the quotient has degree
    // < (Degree-1)·n: Degree-1 pieces of n coefficients, found from evaluations on
    // Parts·n ≥ (Degree-1)·n coset points.
    let maxDeg = ids |> Array.map (fun i -> degree i.Term) |> Array.fold max 1
    if maxDeg > cs.Degree then
        invalidOp (sprintf "an identity has degree %d above the circuit degree %d" maxDeg cs.Degree)
    let pieces = cs.Degree - 1
    let mutable parts = 1
    while parts < pieces do parts <- parts * 2
    { Identities = ids
      Opened = opened
      InstanceQueries = instanceQueries
      Rotations = rotations
      Pieces = pieces
      Parts = parts
      PermZ = cs.PermutationChunks
      LookupHelpers = cs.LookupGroups |> Array.mapi (fun g grp -> g, grp.Chunks.Length) }

/// Refuses a circuit whose queries cannot be opened soundly at n = 2^k rows.
///
/// Security argument: the multipoint opening evaluates each polynomial at x·ω^r for its
/// rotations r and interpolates through those points; two rotations of one polynomial
/// that are equal mod n name the same point, so the opening's interpolation divides by
/// zero (the verifier could not decide the proof) and the "two" queries are one value
/// (a gate reading a@r and a@(r+n) constrains a cell against itself). Requiring every
/// rotation a circuit writes to satisfy |r| < usable rows keeps gates meaningful (a
/// larger rotation reads no usable row from any usable row without wrapping), and
/// requiring the rotations of every polynomial — the circuit's and the argument's own
/// (permutation products at 0, +1 and the last row u - n; lookup sums at 0, +1) — to be
/// pairwise distinct mod n makes every multiopen point set a set. (With u = 1 usable row the
/// permutation product's +1 and last-row rotations coincide, and this refuses it.)
/// Keygen, the verifying-key reader, the prover, the verifier and the MockProver all
/// apply it, so they agree on which circuits exist.
let private polyName (p: PolyRef) =
    match p with
    | AdviceP i -> sprintf "advice[%d]" i
    | FixedP i -> sprintf "fixed[%d]" i
    | InstanceP i -> sprintf "instance[%d]" i
    | SigmaP i -> sprintf "permutation sigma[%d]" i
    | PermZ j -> sprintf "permutation product %d" j
    | LookupM g -> sprintf "lookup group %d multiplicities" g
    | LookupH(g, c) -> sprintf "lookup group %d helper %d" g c
    | LookupZ g -> sprintf "lookup group %d running sum" g

let checkRotations (cs: ConstraintSystem) (k: int) : Result<unit, string> =
    if k < 1 || k > 30 then Error(sprintf "k = %d is out of range" k)
    else
    let n = 1 <<< k
    let usable = cs.UsableRows n
    if usable < 1 then
        Error(sprintf "k = %d leaves no usable rows (%d blinding rows are reserved)" k (cs.BlindingFactors + 1))
    else
    let written =
        Seq.concat
            [ cs.AdviceQueries |> Seq.map (fun (struct (c, r)) -> sprintf "advice[%d]" c, r)
              cs.FixedQueries |> Seq.map (fun (struct (c, r)) -> sprintf "fixed[%d]" c, r)
              cs.InstanceQueries |> Seq.map (fun (struct (c, r)) -> sprintf "instance[%d]" c, r) ]
    match written |> Seq.tryFind (fun (_, r) -> abs r >= usable) with
    | Some(col, r) ->
        Error(sprintf "the circuit queries %s at rotation %d, but |rotation| must be below the %d usable rows at k = %d" col r usable k)
    | None ->
    let layout = build cs
    let perPoly =
        Seq.append
            (layout.Opened |> Seq.map (fun (struct (p, rs)) -> polyName p, rs))
            (layout.InstanceQueries
             |> Seq.groupBy (fun (struct (c, _)) -> c)
             |> Seq.map (fun (c, qs) -> polyName (InstanceP c), qs |> Seq.map (fun (struct (_, r)) -> r) |> Array.ofSeq))
    let collision (rs: int[]) =
        let residues = rs |> Array.map (fun r -> ((r % n) + n) % n)
        seq {
            for i in 0 .. rs.Length - 1 do
                for j in i + 1 .. rs.Length - 1 do
                    if residues[i] = residues[j] then yield rs[i], rs[j] }
        |> Seq.tryHead
    match perPoly |> Seq.tryPick (fun (p, rs) -> collision rs |> Option.map (fun c -> p, c)) with
    | Some(p, (r1, r2)) ->
        Error(sprintf "%s is queried at rotations %d and %d, which are equal mod n = %d (k = %d): the circuit cannot be proved at this size" p r1 r2 n k)
    | None -> Ok()

/// Instance values as absorbed by the transcript: trailing zeros trimmed, so equal
/// instance polynomials always give equal transcripts.
let encodeInstances (instances: Fp[][]) =
    let w = ByteWriter()
    w.Int32 instances.Length
    for col in instances do
        let mutable len = col.Length
        while len > 0 && col[len - 1].IsZero do len <- len - 1
        w.Int32 len
        for i in 0 .. len - 1 do w.Fp col[i]
    w.ToArray()

/// Checks instance values against the circuit: column count, lengths within usable rows.
let checkInstances (cs: ConstraintSystem) (k: int) (instances: Fp[][]) =
    let usable = cs.UsableRows(1 <<< k)
    if isNull instances then Error "instance values are missing"
    elif instances.Length <> cs.NumInstance then
        Error(sprintf "the circuit has %d instance columns, got %d" cs.NumInstance instances.Length)
    else
        match instances |> Array.tryFindIndex (fun c -> isNull c || c.Length > usable) with
        | Some i -> Error(sprintf "instance column %d is missing or longer than the %d usable rows" i usable)
        | None -> Ok()

/// The transcript's domain separator for proofs.
let transcriptDomain = "zklora/plonk/proof/v1"

/// The multiopen points x·ω^r, one per rotation of `layout.Rotations` (same order); the
/// prover and the verifier both use this, so they open at the same points.
let points (layout: Layout) (k: int) (x: Fp) =
    let omega = Fp.RootOfUnity k
    layout.Rotations |> Array.map (fun r -> x * (if r >= 0 then omega.Pow(uint64 r) else omega.Invert().Pow(uint64 (-r))))

/// Index of a rotation's point in `points`.
let pointIndex (layout: Layout) (rotation: int) = Array.IndexOf(layout.Rotations, rotation)

/// The values of the challenges the identities read.
let challengeMap (theta: Fp) (beta: Fp) (gamma: Fp) (c: Challenge) =
    match c with
    | Challenge.Theta -> theta
    | Challenge.Beta -> beta
    | _ -> gamma

/// A proof transcript after its statement: the domain separator, the verifying-key digest
/// and the instance values (prover and verifier start every proof with this).
let startTranscript (vkDigest: byte[]) (instances: Fp[][]) : ITranscript =
    let t = new Blake3Transcript(transcriptDomain) :> ITranscript
    t.Absorb("verifying key", vkDigest)
    t.Absorb("instances", encodeInstances instances)
    t

/// Bytes of the proof header: magic "ZKLP", then the version byte.
[<Literal>]
let HeaderLength = 5

/// The proof bytes: header, then the transcript messages.
let withHeader (body: byte[]) =
    let out = Array.zeroCreate (HeaderLength + body.Length)
    Text.Encoding.ASCII.GetBytes(ProofMagic).CopyTo(out, 0)
    out[4] <- ProofVersion
    body.CopyTo(out, HeaderLength)
    out

/// The transcript messages of a proof after checking its header.
let body (proof: byte[]) : Result<byte[], string> =
    if isNull proof then Error "proof is missing"
    elif proof.Length < HeaderLength || Text.Encoding.ASCII.GetString(proof, 0, 4) <> ProofMagic then
        Error "proof: bad magic (not a zkLoRA PLONK proof)"
    elif proof[4] <> ProofVersion then
        Error(sprintf "proof: unsupported version %d (expected %d)" proof[4] ProofVersion)
    else Ok proof[HeaderLength..]
