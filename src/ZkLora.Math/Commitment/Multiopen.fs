/// Multipoint opening (the Halo 2 book's construction): many polynomials, each opened at
/// its own set of points, reduced to one opening at one point.
///
/// Polynomials are grouped by the exact set of points they are opened at. With verifier
/// challenges x1, x2, x3, x4:
///  - each group S becomes q_S = Σ x1^j·p_j (evaluations combine the same way);
///  - the prover commits to f = Σ_S x2^S·(q_S - r_S)/Π_{z∈S}(X - z), where r_S
///    interpolates q_S on S; f is a polynomial only if every claimed evaluation is right;
///  - at a fresh point x3 the prover sends q_S(x3); the verifier derives f(x3) from them;
///  - with x4 the commitments F, Q_S and the values are combined into one polynomial
///    opened at x3 by the commitment scheme.
/// A wrong claimed evaluation makes (q_S - r_S)/Z_S a non-polynomial, so a committed f
/// matches the derived f(x3) only with probability ≤ deg/|F| over x3; the random
/// combinations x1, x2, x4 fail to cancel errors except with probability ≤ (count)/|F|.
/// Groups are formed from query identities (never from commitment values).
module ZkLora.Math.Commitment.Multiopen

open System.Collections.Generic
open ZkLora.Math
open ZkLora.Math.Transcript
open ZkLora.Math.Poly

/// A polynomial to open: coefficients, commitment blind, indices of its points.
type ProverEntry =
    { Coeffs: Fp[]
      Blind: Fp
      Points: int[] }

/// A commitment Σ Scalars_i·Commitments_i (usually one term; the linearized quotient is a
/// combination of its pieces) with its point indices and claimed evaluations there (same order).
/// Combinations are never formed: their terms go into the opening's final check.
type VerifierEntry<'C> =
    { Commitments: 'C[]
      Scalars: Fp[]
      Points: int[]
      Evals: Fp[] }

/// Groups entry indices by point set, in order of first appearance.
let private groupBySet (sets: int[][]) =
    let keys = ResizeArray<int[]>()
    let members = ResizeArray<ResizeArray<int>>()
    for i in 0 .. sets.Length - 1 do
        let s = Array.sort sets[i]
        match Seq.tryFindIndex (fun (k: int[]) -> k = s) keys with
        | Some g -> members[g].Add i
        | None ->
            keys.Add s
            members.Add(ResizeArray [ i ])
    Array.init keys.Count (fun g -> keys[g], members[g].ToArray())

let private hornerPolys (polys: Fp[][]) (x: Fp) (size: int) =
    let acc = Array.zeroCreate<Fp> size
    for p in polys do
        for i in 0 .. size - 1 do
            acc[i] <- acc[i] * x + (if i < p.Length then p[i] else Fp.Zero)
    acc

let private hornerScalars (vs: Fp seq) (x: Fp) = vs |> Seq.fold (fun acc v -> acc * x + v) Fp.Zero

/// Proves every entry's evaluations at its points (`points` by index). `size` is the
/// coefficient length of the final polynomial (the domain size n).
let prove (pcs: ICommitmentScheme<'C>) (k: int) (w: ProofWriter) (points: Fp[]) (entries: ProverEntry[]) =
    let n = 1 <<< k
    let x1 = w.Challenge "multiopen x1"
    let x2 = w.Challenge "multiopen x2"
    let groups = groupBySet (entries |> Array.map (fun e -> e.Points))
    let qs =
        groups
        |> Array.map (fun (_, members) ->
            let polys = members |> Array.map (fun i -> entries[i].Coeffs)
            hornerPolys polys x1 n, hornerScalars (members |> Seq.map (fun i -> entries[i].Blind)) x1)
    // f = Σ_S x2^(…)·(q_S - r_S)/Z_S; successive synthetic divisions by (X - z) drop
    // exactly the interpolant r_S.
    let f = Array.zeroCreate<Fp> n
    for g in 0 .. groups.Length - 1 do
        let (set, _) = groups[g]
        let mutable quotient = fst qs[g]
        for z in set do quotient <- PolyOps.divideByLinear quotient points[z]
        for i in 0 .. n - 1 do f[i] <- f[i] * x2 + quotient[i]
    let fBlind = Fp.Random()
    w.WriteCommitment("multiopen f", pcs.Encode(pcs.Commit(k, f, fBlind)))
    let x3 = w.Challenge "multiopen x3"
    for (q, _) in qs do w.WriteScalar("multiopen q(x3)", PolyOps.evaluate q x3)
    let x4 = w.Challenge "multiopen x4"
    let final = Array.copy f
    let mutable finalBlind = fBlind
    for (q, b) in qs do
        for i in 0 .. n - 1 do final[i] <- final[i] * x4 + q[i]
        finalBlind <- finalBlind * x4 + b
    pcs.Open(k, w, final, finalBlind, x3)

/// Lagrange interpolation through (xs_i, ys_i) evaluated at x (x not among xs).
let private interpolateAt (xs: Fp[]) (ys: Fp[]) (x: Fp) =
    let mutable acc = Fp.Zero
    for i in 0 .. xs.Length - 1 do
        let mutable num = Fp.One
        let mutable den = Fp.One
        for j in 0 .. xs.Length - 1 do
            if j <> i then
                num <- num * (x - xs[j])
                den <- den * (xs[i] - xs[j])
        acc <- acc + ys[i] * num * den.Invert()
    acc

/// Reads and checks a multipoint opening; Error for malformed proofs or degenerate
/// challenges, otherwise the scheme's deferred final check.
///
/// The query structure is checked before anything is read: every entry names distinct,
/// existing point indices with one claimed value each, and the points of every entry are
/// pairwise distinct field elements. Security argument: interpolation through a point set
/// and division by Z_S(x3) are defined only for distinct points; two coinciding points of
/// one polynomial would make the check undefined (before this check: a division by zero
/// raised out of the verifier), so such a query structure is refused (Error), never
/// decided. Keygen refuses circuits that produce it (`ProofLayout.checkRotations`).
let verify (pcs: ICommitmentScheme<'C>) (k: int) (r: ProofReader) (points: Fp[]) (entries: VerifierEntry<'C>[]) : Result<IDeferredCheck, string> =
    let malformed =
        if isNull points || isNull entries then Some "points or entries are missing"
        else
            entries
            |> Array.tryPick (fun e ->
                if isNull e.Points || isNull e.Evals || isNull e.Commitments || isNull e.Scalars then
                    Some "an entry is missing its points, values or commitments"
                elif e.Points.Length = 0 || e.Points.Length <> e.Evals.Length then
                    Some "an entry needs one claimed value per point and at least one point"
                elif e.Commitments.Length = 0 || e.Commitments.Length <> e.Scalars.Length then
                    Some "an entry needs one scalar per commitment and at least one commitment"
                elif e.Points |> Array.exists (fun i -> i < 0 || i >= points.Length) then
                    Some "an entry names a point index that does not exist"
                elif (Array.distinct e.Points).Length <> e.Points.Length then
                    Some "an entry names one point index twice"
                else
                    let zs = e.Points |> Array.map (fun i -> points[i])
                    if (Array.distinct zs).Length <> zs.Length then
                        Some "two query points of one polynomial coincide (rotations equal mod n)"
                    else None)
    match malformed with
    | Some why -> Error(sprintf "multiopen: %s" why)
    | None ->
    let x1 = r.Challenge "multiopen x1"
    let x2 = r.Challenge "multiopen x2"
    let groups = groupBySet (entries |> Array.map (fun e -> e.Points))
    let fBytes = r.ReadCommitmentBytes("multiopen f", pcs.CommitmentSize k)
    match pcs.Decode(k, fBytes) with
    | Error e -> Error(sprintf "multiopen f: %s" e)
    | Ok fCommitment ->
    let x3 = r.Challenge "multiopen x3"
    let qAtX3 = groups |> Array.map (fun _ -> r.ReadScalar "multiopen q(x3)")
    let x4 = r.Challenge "multiopen x4"
    if groups |> Array.exists (fun (set, _) -> set |> Array.exists (fun z -> points[z].Equals x3)) then
        Error "multiopen: x3 coincides with a query point"
    else
    let mutable fAtX3 = Fp.Zero
    for g in 0 .. groups.Length - 1 do
        let (set, members) = groups[g]
        let evalsAt (z: int) =
            members
            |> Seq.map (fun i ->
                let e = entries[i]
                e.Evals[Array.findIndex (fun p -> p = z) e.Points])
            |> fun vs -> hornerScalars vs x1
        let ys = set |> Array.map evalsAt
        let xs = set |> Array.map (fun z -> points[z])
        let rAtX3 = interpolateAt xs ys x3
        let mutable zAtX3 = Fp.One
        for z in xs do zAtX3 <- zAtX3 * (x3 - z)
        fAtX3 <- fAtX3 * x2 + (qAtX3[g] - rAtX3) * zAtX3.Invert()
    // The final commitment x4^m·F + Σ_S x4^(m-1-S)·Q_S with Q_S = Σ_j x1^(|S|-1-j)·C_j, as
    // terms (the scheme folds them into its final check).
    let m = groups.Length
    let termScalars = ResizeArray<Fp>()
    let termCommitments = ResizeArray<'C>()
    termScalars.Add(x4.Pow(uint64 m))
    termCommitments.Add fCommitment
    for g in 0 .. m - 1 do
        let (_, members) = groups[g]
        let outer = x4.Pow(uint64 (m - 1 - g))
        for j in 0 .. members.Length - 1 do
            let e = entries[members[j]]
            let s = outer * x1.Pow(uint64 (members.Length - 1 - j))
            for t in 0 .. e.Commitments.Length - 1 do
                termScalars.Add(s * e.Scalars[t])
                termCommitments.Add e.Commitments[t]
    let mutable value = fAtX3
    for q in qAtX3 do value <- value * x4 + q
    pcs.VerifyCombination(k, r, termScalars.ToArray(), termCommitments.ToArray(), x3, value)
