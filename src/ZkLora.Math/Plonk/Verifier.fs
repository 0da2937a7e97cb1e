/// The verifier: replays the transcript, recomputes the combined identity at x from the
/// opened evaluations and the instance values, and checks every opening through the
/// multipoint argument. Every failure is an `Error` with a reason; malformed bytes never
/// raise.
module ZkLora.Math.Plonk.Verifier

open System
open ZkLora.Math
open ZkLora.Math.Plonk.Argument
open ZkLora.Math.Transcript
open ZkLora.Math.Commitment
open ZkLora.Math.Poly

/// The instance polynomial of each column evaluated at z (Σ v_i·l_i(z) over its values).
let instanceAt (k: int) (column: Fp[]) (z: Fp) =
    let rows = [| 0 .. column.Length - 1 |] |> Array.filter (fun i -> not column[i].IsZero)
    let ls = PolyOps.lagrangeAt (1 <<< k) z rows
    let mutable acc = Fp.Zero
    for j in 0 .. rows.Length - 1 do acc <- acc + column[rows[j]] * ls[j]
    acc

/// Runs a verifier step so that it never throws: an exception that is not a decode
/// failure (a bug, or an input no check anticipated) becomes an Error naming its type.
/// Security argument: an exception is never an acceptance, so turning it into Error cannot
/// make a bad proof pass; it only keeps a verifier (a server checking untrusted proofs)
/// alive. The type and message stay visible (no stack trace) so a bug is not hidden.
let private guard (what: string) (f: unit -> Result<'T, string>) : Result<'T, string> =
    try f ()
    with
    | DecodeException msg -> Error msg
    | ex -> Error(sprintf "%s: internal error (%s): %s" what (ex.GetType().FullName) ex.Message)

let private verifyDeferredCore (pcs: ICommitmentScheme<'C>) (vk: VerifyingKey<'C>) (instances: Fp[][]) (proof: byte[]) : Result<IDeferredCheck, string> =
    let cs = vk.Cs
    let k = vk.K
    let n = vk.N
    match ProofLayout.checkRotations cs k |> Result.bind (fun () -> ProofLayout.checkInstances cs k instances) with
    | Error e -> Error e
    | Ok() ->
    match ProofLayout.body proof with
    | Error e -> Error e
    | Ok body ->
    let layout = ProofLayout.build cs
    use transcript = ProofLayout.startTranscript vk.Digest instances
    let r = ProofReader(transcript, body)
    Decode.run (fun () ->
        let fail msg = raise (DecodeException msg)
        let size = pcs.CommitmentSize k
        let readCommitments (label: string) (count: int) =
            Array.init count (fun i ->
                let b = r.ReadCommitmentBytes(label, size)
                match pcs.Decode(k, b) with
                | Ok c -> c
                | Error e -> fail (sprintf "proof: %s commitment %d: %s" label i e))
        let adviceC = readCommitments "advice" cs.NumAdvice
        let theta = r.Challenge "theta"
        let mC = readCommitments "lookup multiplicities" cs.LookupGroups.Length
        let beta = r.Challenge "beta"
        let gamma = r.Challenge "gamma"
        let permZC = readCommitments "permutation product" cs.PermutationChunks
        let helperC = cs.LookupGroups |> Array.map (fun g -> readCommitments "lookup helper" g.Chunks.Length)
        let sumC = readCommitments "lookup running sum" cs.LookupGroups.Length
        let randomC = (readCommitments "vanishing random" 1)[0]
        let y = r.Challenge "y"
        let pieceC = readCommitments "quotient piece" layout.Pieces
        let x = r.Challenge "x"
        let evals = layout.Opened |> Array.map (fun (struct (_, rs)) -> rs |> Array.map (fun _ -> r.ReadScalar "evaluation"))
        let randomEval = r.ReadScalar "vanishing random evaluation"
        let xn = x.Pow(uint64 n)
        if (xn - Fp.One).IsZero then fail "proof: degenerate challenge x (a root of unity)"
        let points = ProofLayout.points layout k x
        let pointIndex = ProofLayout.pointIndex layout
        // Values of every query at x.
        let opened = Collections.Generic.Dictionary<struct (PolyRef * int), Fp>()
        layout.Opened |> Array.iteri (fun i (struct (p, rs)) -> rs |> Array.iteri (fun j rot -> opened[struct (p, rot)] <- evals[i][j]))
        for struct (c, rot) in layout.InstanceQueries do
            opened[struct (InstanceP c, rot)] <- instanceAt k instances[c] points[pointIndex rot]
        let usable = vk.Usable
        let ls = PolyOps.lagrangeAt n x [| 0 .. 0 |]
        let tail = PolyOps.lagrangeAt n x [| usable .. n - 1 |]
        let l0 = ls[0]
        let lLast = tail[0]
        let lActive = Fp.One - Array.fold (+) Fp.Zero tail
        let challenge = ProofLayout.challengeMap theta beta gamma
        let query p rot = opened[struct (p, rot)]
        let mutable numerator = Fp.Zero
        for id in layout.Identities do
            numerator <- numerator * y + evaluateAt query challenge x l0 lLast lActive id.Term
        let expectedH = numerator * (xn - Fp.One).Invert()
        let commitmentOf (p: PolyRef) =
            match p with
            | AdviceP i -> adviceC[i]
            | FixedP i -> vk.FixedCommitments[i]
            | SigmaP i -> vk.SigmaCommitments[i]
            | PermZ j -> permZC[j]
            | LookupM g -> mC[g]
            | LookupH(g, c) -> helperC[g][c]
            | LookupZ g -> sumC[g]
            | InstanceP _ -> invalidOp "instance polynomials are not opened"
        let entries =
            Array.append
                (layout.Opened
                 |> Array.mapi (fun i (struct (p, rs)) ->
                     { Multiopen.VerifierEntry.Commitments = [| commitmentOf p |]
                       Multiopen.VerifierEntry.Scalars = [| Fp.One |]
                       Multiopen.VerifierEntry.Points = rs |> Array.map pointIndex
                       Multiopen.VerifierEntry.Evals = evals[i] }))
                // the linearized quotient Σ x^(n·i)·H_i
                [| { Commitments = pieceC
                     Scalars = Array.init pieceC.Length (fun i -> xn.Pow(uint64 i))
                     Points = [| pointIndex 0 |]
                     Evals = [| expectedH |] }
                   { Commitments = [| randomC |]; Scalars = [| Fp.One |]; Points = [| pointIndex 0 |]; Evals = [| randomEval |] } |]
        let check =
            match Multiopen.verify pcs k r points entries with
            | Ok c -> c
            | Error e -> fail (sprintf "proof: %s" e)
        r.Finish()
        check)

/// Verifies one proof up to the commitment scheme's deferred final check. Never throws:
/// malformed input of any kind (keys, instances, proof bytes) is an Error.
let verifyDeferred (pcs: ICommitmentScheme<'C>) (vk: VerifyingKey<'C>) (instances: Fp[][]) (proof: byte[]) : Result<IDeferredCheck, string> =
    guard "verify" (fun () ->
        if isNull (box pcs) then Error "the commitment scheme is missing"
        elif isNull (box vk) || isNull (box vk.Cs) then Error "the verifying key is missing"
        elif vk.K < 1 || vk.K > pcs.MaxK then Error(sprintf "verifying key: k = %d is outside 1..%d supported by %s" vk.K pcs.MaxK pcs.Name)
        else verifyDeferredCore pcs vk instances proof)

/// Verifies one proof against a verifying key and instance values. Never throws: every
/// failure, whatever the input, is an Error.
let verify (pcs: ICommitmentScheme<'C>) (vk: VerifyingKey<'C>) (instances: Fp[][]) (proof: byte[]) : Result<unit, string> =
    match verifyDeferred pcs vk instances proof with
    | Error e -> Error e
    | Ok check ->
        guard "verify" (fun () ->
            if pcs.Decide [| check |] then Ok() else Error "proof: the opening argument does not verify")

/// Verifies many proofs of one circuit, sharing the final check (one combined decision
/// with random weights). Ok only if every proof is valid; on failure the error names the
/// first malformed proof, or says the combined check failed (then verify individually
/// to find the culprit).
///
/// Never throws: every failure, whatever the input, is an Error.
let verifyBatch (pcs: ICommitmentScheme<'C>) (vk: VerifyingKey<'C>) (items: (Fp[][] * byte[])[]) : Result<unit, string> =
    guard "batch" (fun () ->
        if isNull items then Error "batch: the proofs are missing"
        else
        let checks = Array.zeroCreate items.Length
        let results =
            items
            |> Array.Parallel.mapi (fun i item ->
                if isNull (box item) then Some(sprintf "proof %d: missing" i)
                else
                let (inst, proof) = item
                match verifyDeferred pcs vk inst proof with
                | Ok c ->
                    checks[i] <- c
                    None
                | Error e -> Some(sprintf "proof %d: %s" i e))
        match results |> Array.tryPick id with
        | Some e -> Error e
        | None -> if pcs.Decide checks then Ok() else Error "batch: the combined opening check failed")
