/// The prover: commits to the witness and argument columns, builds the quotient on
/// coset parts, evaluates, and runs the multipoint opening.
///
/// Zero knowledge: every witness-dependent committed polynomial has ≥ BlindingFactors
/// rows of fresh CSPRNG randomness (advice: rows u..n-1; argument columns: rows after
/// their pinned row), more than the number of evaluations the verifier sees of it; all
/// commitments carry random blinds; the random polynomial masks the quotient pieces
/// inside the multipoint opening; the opening argument is itself zero knowledge.
module ZkLora.Math.Plonk.Prover

open System
open System.Threading.Tasks
open ZkLora.Math
open ZkLora.Math.Plonk.Argument
open ZkLora.Math.Transcript
open ZkLora.Math.Commitment
open ZkLora.Math.Poly

/// How long one phase of a proof took (reported to `ProverOptions.PhaseTimings`).
type ProverPhase = { Phase: string; Seconds: float }

/// Options of `proveWith`: where phase timings go for profiling (benchmarks pass a sink; None
/// by default). The witness is always checked first; only the tests' cheating prover
/// (`proveUnchecked`, internal) skips that.
type ProverOptions =
    { PhaseTimings: IProgress<ProverPhase> option }

let defaultOptions = { PhaseTimings = None }

/// Values → coefficients in place (the value arrays are not needed once committed), so
/// the prover never holds both forms of a column.
let private toCoeffsInPlace (cols: Fp[][]) =
    Parallel.ForEach(cols, fun (c: Fp[]) -> PolyOps.ifft c) |> ignore
    cols

let private sameFixed (a: Fp[][]) (b: Fp[][]) =
    a.Length = b.Length
    && Array.forall2 (fun (x: Fp[]) (y: Fp[]) -> x.Length = y.Length && Array.forall2 (fun (u: Fp) v -> u.Equals v) x y) a b

/// Proves that `circuit` (synthesized with its witness) satisfies the constraint system
/// of `pk` for the given instance values. Error when the circuit does not match the key,
/// the instance values are malformed, or the witness does not satisfy the circuit (the
/// error then carries the MockProver report, which names the failing gate, lookup or copy
/// and row but no witness value).
let private proveChecked
    (checkWitness: bool)
    (options: ProverOptions)
    (pcs: ICommitmentScheme<'C>)
    (pk: ProvingKey<'C>)
    (circuit: ICircuit<'Config>)
    (instances: Fp[][])
    : Result<byte[], string> =
    let vk = pk.Vk
    let cs = vk.Cs
    let k = vk.K
    let n = vk.N
    let clock = Diagnostics.Stopwatch.StartNew()
    let mark (phase: string) =
        match options.PhaseTimings with
        | Some sink -> sink.Report { Phase = phase; Seconds = clock.Elapsed.TotalSeconds }
        | None -> ()
        clock.Restart()
    match ProofLayout.checkRotations cs k |> Result.bind (fun () -> ProofLayout.checkInstances cs k instances) with
    | Error e -> Error e
    | Ok() ->
    match Synthesis.configure circuit with
    | Error e -> Error e
    | Ok(cs2, config) when not ((CircuitDigest.ofShape cs2 k).AsSpan().SequenceEqual(vk.ShapeDigest)) ->
        Error "the circuit's shape does not match the proving key"
    | Ok(_, config) ->
    match Synthesis.run cs config circuit k (Some instances) with
    | Error e -> Error e
    | Ok a when not (sameFixed a.Fixed pk.FixedValues) || a.Copies <> pk.Copies ->
        Error "synthesis produced fixed values or copy constraints that differ from the proving key (the circuit's layout depends on its witness)"
    | Ok a ->
    mark "synthesis"
    let failures = if not checkWitness then [] else MockProver.check cs a
    if not failures.IsEmpty then
        Error(sprintf "the witness does not satisfy the circuit; no proof produced. %s" (MockProver.describe 20 failures))
    else
    mark "satisfaction check"
    let layout = ProofLayout.build cs
    let usable = a.Usable
    // From here on only the witness columns are read from the assignment (the fixed
    // values equal the key's), so the synthesized fixed copies can be collected.
    let advice = a.Advice
    let instance = a.Instance
    let fixedValues = pk.FixedValues
    use transcript = ProofLayout.startTranscript vk.Digest instances
    let w = ProofWriter transcript
    let commitValues (label: string) (cols: Fp[][]) =
        let blinds = cols |> Array.map (fun _ -> Fp.Random())
        let cs = Array.zeroCreate cols.Length
        Parallel.For(0, cols.Length, fun i -> cs[i] <- pcs.CommitLagrange(k, cols[i], blinds[i])) |> ignore
        for c in cs do w.WriteCommitment(label, pcs.Encode c)
        blinds
    // Round 1: advice.
    // the assignment is this prover's own: blind its advice columns in place
    for col in advice do ArgumentWitness.randomizeTail col usable
    let adviceBlinds = commitValues "advice" advice
    mark "advice commitments"
    // Round 2: θ, multiplicities.
    let theta = w.Challenge "theta"
    let basePoly (p: PolyRef) =
        match p with
        | AdviceP i -> advice[i]
        | FixedP i -> fixedValues[i]
        | InstanceP i -> instance[i]
        | _ -> invalidOp "argument columns are not available yet"
    let struct (inputs, tables) = ArgumentWitness.compressedLookupValues cs k usable theta basePoly
    let m = ArgumentWitness.multiplicities cs n usable fixedValues inputs tables
    let mBlinds = commitValues "lookup multiplicities" m
    mark "multiplicities"
    // Round 3: β, γ; permutation products, lookup helpers and running sums.
    let beta = w.Challenge "beta"
    let gamma = w.Challenge "gamma"
    let columnValues (c: Column) =
        match c.Kind with
        | ColumnKind.Advice -> advice[c.Index]
        | ColumnKind.Fixed -> fixedValues[c.Index]
        | _ -> instance[c.Index]
    let permZ = ArgumentWitness.permutationProducts cs k usable beta gamma columnValues pk.SigmaValues
    let struct (helpers, sums) = ArgumentWitness.lookupColumns cs n usable fixedValues beta inputs tables m
    mark "argument columns"
    let permZBlinds = commitValues "permutation product" permZ
    let helperBlinds = helpers |> Array.map (fun hs -> commitValues "lookup helper" hs)
    let sumBlinds = commitValues "lookup running sum" sums
    mark "argument commitments"
    // Round 4: the vanishing argument's random polynomial.
    let randomPoly = Randomness.array n
    let randomBlind = Fp.Random()
    w.WriteCommitment("vanishing random", pcs.Encode(pcs.Commit(k, randomPoly, randomBlind)))
    let y = w.Challenge "y"
    // Coefficient forms of everything the identities read.
    let adviceCoeffs = toCoeffsInPlace advice
    let instanceCoeffs = toCoeffsInPlace instance
    let mCoeffs = toCoeffsInPlace m
    let permZCoeffs = toCoeffsInPlace permZ
    let helperCoeffs = helpers |> Array.map toCoeffsInPlace
    let sumCoeffs = toCoeffsInPlace sums
    let coeffs (p: PolyRef) =
        match p with
        | AdviceP i -> adviceCoeffs[i]
        | FixedP i -> pk.FixedCoeffs[i]
        | InstanceP i -> instanceCoeffs[i]
        | SigmaP i -> pk.SigmaCoeffs[i]
        | PermZ j -> permZCoeffs[j]
        | LookupM g -> mCoeffs[g]
        | LookupH(g, c) -> helperCoeffs[g][c]
        | LookupZ g -> sumCoeffs[g]
    mark "coefficient forms"
    let challenge = ProofLayout.challengeMap theta beta gamma
    // Quotient: evaluate the y-combination of identities on `Parts` cosets ζ·ω_ext^j·H
    // (one at a time, so only n-sized evaluations of each column are alive), divide by
    // X^n - 1 (constant on each coset), interpolate on the whole extended coset.
    let program = Evaluator.compile (layout.Identities |> Array.map (fun i -> i.Term)) challenge
    let parts = layout.Parts
    let ext = parts * n
    let zeta = Fp.Generator
    let omega = Fp.RootOfUnity k
    let shifts = Keys.cosetShifts k parts
    let hEvals = Array.zeroCreate<Fp> ext
    let nFixed = cs.NumFixed
    let nSigma = cs.PermutationColumns.Length
    // Fixed, σ and Lagrange selector evaluations come from the key's cache when it has one.
    let onCoset (p: PolyRef) (j: int) =
        match pk.CosetCache, p with
        | Some cache, FixedP i -> cache[i][j]
        | Some cache, SigmaP i -> cache[nFixed + i][j]
        | _ -> PolyOps.cosetFft (coeffs p) n shifts[j]
    let selectorOnCoset (which: int) (coeffsOf: Fp[]) (j: int) =
        match pk.CosetCache with
        | Some cache -> cache[nFixed + nSigma + which][j]
        | None -> PolyOps.cosetFft coeffsOf n shifts[j]
    for j in 0 .. parts - 1 do
        let shift = shifts[j]
        let polys = Array.zeroCreate program.Slots.Length
        Parallel.For(0, polys.Length, fun s -> polys[s] <- onCoset program.Slots[s] j) |> ignore
        let xs = Array.zeroCreate n
        let mutable pt = shift
        for i in 0 .. n - 1 do
            xs[i] <- pt
            pt <- pt * omega
        let src: Evaluator.Sources =
            { Size = n
              RotationScale = 1
              Polys = polys
              X = xs
              L0 = selectorOnCoset 0 pk.L0Coeffs j
              LLast = selectorOnCoset 1 pk.LLastCoeffs j
              LActive = selectorOnCoset 2 pk.LActiveCoeffs j }
        let numer = Evaluator.evaluateCombined program src y
        let zInv = (shift.Pow(uint64 n) - Fp.One).Invert()
        for i in 0 .. n - 1 do hEvals[j + parts * i] <- numer[i] * zInv
    mark "quotient evaluation"
    PolyOps.cosetIfft hEvals zeta
    // Coefficients past the pieces vanish exactly when every identity holds on H (when the
    // extended coset is larger than the quotient): a cheap self-check of the prover.
    if checkWitness then
        for i in layout.Pieces * n .. ext - 1 do
            if not hEvals[i].IsZero then
                invalidOp "prover bug: the combined identity is not divisible by X^n - 1 although the witness satisfies the circuit"
    let pieces = Array.init layout.Pieces (fun i -> Array.sub hEvals (i * n) n)
    let pieceBlinds = pieces |> Array.map (fun _ -> Fp.Random())
    let pieceCommitments = Array.zeroCreate pieces.Length
    Parallel.For(0, pieces.Length, fun i -> pieceCommitments[i] <- pcs.Commit(k, pieces[i], pieceBlinds[i])) |> ignore
    for c in pieceCommitments do w.WriteCommitment("quotient piece", pcs.Encode c)
    mark "quotient commitments"
    // Evaluations at x·ω^r.
    let x = w.Challenge "x"
    let points = ProofLayout.points layout k x
    let pointIndex = ProofLayout.pointIndex layout
    let evals =
        layout.Opened
        |> Array.Parallel.map (fun (struct (p, rs)) -> rs |> Array.map (fun r -> PolyOps.evaluate (coeffs p) points[pointIndex r]))
    for e in evals do
        for v in e do w.WriteScalar("evaluation", v)
    w.WriteScalar("vanishing random evaluation", PolyOps.evaluate randomPoly x)
    mark "evaluations"
    // Multipoint opening of everything, plus the linearized quotient h' = Σ x^(n·i)·h_i
    // (whose value at x the verifier derives) and the random polynomial.
    let blindOf (p: PolyRef) =
        match p with
        | AdviceP i -> adviceBlinds[i]
        | FixedP _ | SigmaP _ -> Fp.Zero
        | InstanceP _ -> invalidOp "instance polynomials are not opened"
        | PermZ j -> permZBlinds[j]
        | LookupM g -> mBlinds[g]
        | LookupH(g, c) -> helperBlinds[g][c]
        | LookupZ g -> sumBlinds[g]
    let xn = x.Pow(uint64 n)
    let hLinear = Array.zeroCreate<Fp> n
    let mutable hBlind = Fp.Zero
    for i in pieces.Length - 1 .. -1 .. 0 do
        for c in 0 .. n - 1 do hLinear[c] <- hLinear[c] * xn + pieces[i][c]
        hBlind <- hBlind * xn + pieceBlinds[i]
    let entries =
        Array.append
            (layout.Opened
             |> Array.map (fun (struct (p, rs)) ->
                 { Multiopen.ProverEntry.Coeffs = coeffs p
                   Multiopen.ProverEntry.Blind = blindOf p
                   Multiopen.ProverEntry.Points = rs |> Array.map pointIndex }))
            [| { Coeffs = hLinear; Blind = hBlind; Points = [| pointIndex 0 |] }
               { Coeffs = randomPoly; Blind = randomBlind; Points = [| pointIndex 0 |] } |]
    Multiopen.prove pcs k w points entries
    mark "multiopen"
    Ok(ProofLayout.withHeader (w.ToArray()))

/// Proves that `circuit` (synthesized with its witness) satisfies the constraint system
/// of `pk` for the given instance values; the witness is checked first (see `proveChecked`).
let proveWith (options: ProverOptions) (pcs: ICommitmentScheme<'C>) (pk: ProvingKey<'C>) (circuit: ICircuit<'Config>) (instances: Fp[][]) =
    proveChecked true options pcs pk circuit instances

/// A prover that follows the protocol on an unsatisfied witness (no satisfaction check):
/// for soundness tests of the verifier only.
let internal proveUnchecked (pcs: ICommitmentScheme<'C>) (pk: ProvingKey<'C>) (circuit: ICircuit<'Config>) (instances: Fp[][]) =
    proveChecked false defaultOptions pcs pk circuit instances

/// Proves with the default options (the witness is checked first).
let prove (pcs: ICommitmentScheme<'C>) (pk: ProvingKey<'C>) (circuit: ICircuit<'Config>) (instances: Fp[][]) =
    proveWith defaultOptions pcs pk circuit instances
