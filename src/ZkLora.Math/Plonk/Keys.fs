namespace ZkLora.Math.Plonk

open System
open ZkLora.Math
open ZkLora.Math.Transcript
open ZkLora.Math.Commitment
open ZkLora.Math.Poly

/// Verifying key: the circuit shape, size, and commitments to its fixed and permutation
/// (σ) polynomials. `Digest` (BLAKE3 over the shape digest and the commitments) is the
/// first thing every proof transcript absorbs.
type VerifyingKey<'C> =
    { K: int
      Cs: ConstraintSystem
      /// `CircuitDigest.ofShape Cs K`.
      ShapeDigest: byte[]
      FixedCommitments: 'C[]
      SigmaCommitments: 'C[]
      Digest: byte[] }
    member vk.N = 1 <<< vk.K
    member vk.Usable = vk.Cs.UsableRows(1 <<< vk.K)

/// Proving key: the verifying key plus the fixed and σ polynomials (values and
/// coefficients), the Lagrange selector polynomials and the copy constraints
/// synthesis must reproduce.
type ProvingKey<'C> =
    { Vk: VerifyingKey<'C>
      FixedValues: Fp[][]
      FixedCoeffs: Fp[][]
      SigmaValues: Fp[][]
      SigmaCoeffs: Fp[][]
      /// Coefficients of l_0, l_last and l_active.
      L0Coeffs: Fp[]
      LLastCoeffs: Fp[]
      LActiveCoeffs: Fp[]
      Copies: struct (Column * int * Column * int)[]
      /// Evaluations of the fixed, σ, l_0, l_last and l_active polynomials on each coset part
      /// the quotient is computed on ([poly][part]), kept when small enough (saves two thirds of
      /// the prover's coset FFTs for typical circuits); None for large circuits.
      CosetCache: Fp[][][] option }

module Keys =
    [<Literal>]
    let private VkMagic = "ZKLV"
    [<Literal>]
    let VkVersion = 1uy

    let private vkDigest (pcs: ICommitmentScheme<'C>) (shapeDigest: byte[]) (fixedC: 'C[]) (sigmaC: 'C[]) =
        let w = ByteWriter()
        w.String "zklora/plonk/verifying-key/v1"
        w.String pcs.Name
        w.Bytes shapeDigest
        w.Int32 fixedC.Length
        for c in fixedC do w.Bytes(pcs.Encode c)
        w.Int32 sigmaC.Length
        for c in sigmaC do w.Bytes(pcs.Encode c)
        Blake3.Hasher.Hash(ReadOnlySpan(w.ToArray())).AsSpan().ToArray()

    /// Largest coset cache `keygen` keeps in a proving key.
    [<Literal>]
    let DefaultCosetCacheBytes = 268435456L

    /// The shifts ζ·ω_ext^j of the coset parts the quotient is evaluated on.
    let cosetShifts (k: int) (parts: int) =
        let extK = k + (int (Math.Log2(float parts)))
        let omegaExt = Fp.RootOfUnity extK
        Array.init parts (fun j -> Fp.Generator * omegaExt.Pow(uint64 j))

    let private ofValues (values: Fp[]) =
        let c = Array.copy values
        PolyOps.ifft c
        c

    /// What both key derivations share: the circuit synthesized without its witness, σ in
    /// Lagrange form and the verifying key (fixed and σ commitments, digests). The verifier
    /// needs only this; `keygenWith` adds the prover's polynomial forms on top, so the two
    /// paths cannot drift apart.
    type private KeyCore<'C> =
        { Vk: VerifyingKey<'C>
          Assignment: Assignment
          Sigma: Fp[][] }

    let private core (pcs: ICommitmentScheme<'C>) (circuit: ICircuit<'Config>) (k: int) : Result<KeyCore<'C>, string> =
        if k < 1 || k > pcs.MaxK then Error(sprintf "k = %d is outside 1..%d supported by %s" k pcs.MaxK pcs.Name)
        else
        match Synthesis.configure circuit with
        | Error e -> Error e
        | Ok(cs, config) ->
        match ProofLayout.checkRotations cs k with
        | Error e -> Error(sprintf "key generation: %s" e)
        | Ok() ->
        match Synthesis.run cs config circuit k None with
        | Error e -> Error e
        | Ok a ->
        try
            let n = a.N
            let mapping = Permutation.mapping cs n a.Copies
            let sigma = Permutation.sigmaValues cs k mapping
            // σ_p = δ^p·ω^r except on the cells copy constraints move, so by linearity
            // Commit(σ_p) = δ^p·Commit(ω^r) + Commit(σ_p − δ^p·ω^r), the second term sparse: one
            // full-width MSM for all σ columns instead of one each (the same group element, so
            // the same key bytes as committing σ_p directly).
            let nSigma = sigma.Length
            let omegas = Permutation.omegaPowers k
            let deltas = Array.init nSigma (fun p -> Permutation.delta.Pow(uint64 p))
            let corrections =
                Array.init nSigma (fun p ->
                    let d = Array.zeroCreate<Fp> n
                    let mutable moved = false
                    for r in 0 .. n - 1 do
                        if mapping[p * n + r] <> p * n + r then
                            d[r] <- sigma[p][r] - deltas[p] * omegas[r]
                            moved <- true
                    if moved then Some d else None)
            // Fixed and σ columns are committed unblinded (the key is public and deterministic),
            // one column per task: at small k a single MSM cannot keep the cores busy.
            let jobs =
                Array.concat
                    [ a.Fixed |> Array.map Some
                      (if nSigma > 0 then [| Some omegas |] else [||])
                      corrections ]
            let commitments = Array.zeroCreate<'C> jobs.Length
            let present = jobs |> Array.map Option.isSome
            Threading.Tasks.Parallel.For(0, jobs.Length, fun i ->
                match jobs[i] with
                | Some v -> commitments[i] <- pcs.CommitLagrange(k, v, Fp.Zero)
                | None -> ()) |> ignore
            let nFixed = a.Fixed.Length
            let fixedC = commitments[.. nFixed - 1]
            let sigmaC =
                Array.init nSigma (fun p ->
                    let omegaC = commitments[nFixed]
                    if present[nFixed + 1 + p] then pcs.Combine([| deltas[p]; Fp.One |], [| omegaC; commitments[nFixed + 1 + p] |])
                    else pcs.Combine([| deltas[p] |], [| omegaC |]))
            let shape = CircuitDigest.ofShape cs k
            let vk =
                { K = k
                  Cs = cs
                  ShapeDigest = shape
                  FixedCommitments = fixedC
                  SigmaCommitments = sigmaC
                  Digest = vkDigest pcs shape fixedC sigmaC }
            Ok({ Vk = vk; Assignment = a; Sigma = sigma }: KeyCore<'C>)
        with CircuitException msg -> Error(sprintf "key generation: %s" msg)

    /// The verifying key alone, as the verifier derives it: the same synthesis, σ and
    /// commitments as `keygen` (byte-identical key), without the prover-only polynomial
    /// forms (coefficients, Lagrange selectors, coset evaluations).
    let verifyingKey (pcs: ICommitmentScheme<'C>) (circuit: ICircuit<'Config>) (k: int) : Result<VerifyingKey<'C>, string> =
        core pcs circuit k |> Result.map (fun c -> c.Vk)

    /// Derives both keys from the circuit's shape: deterministic (no randomness; fixed
    /// and σ commitments are unblinded), so the same circuit and k always give the
    /// same keys. The circuit is synthesized without its witness.
    let keygenWith (maxCosetCacheBytes: int64) (pcs: ICommitmentScheme<'C>) (circuit: ICircuit<'Config>) (k: int) : Result<ProvingKey<'C>, string> =
        match core pcs circuit k with
        | Error e -> Error e
        | Ok(kc: KeyCore<'C>) ->
        let vk, a, sigma = kc.Vk, kc.Assignment, kc.Sigma
        try
            let n = a.N
            let cs = vk.Cs
            let fixedCoeffs = a.Fixed |> Array.Parallel.map ofValues
            let sigmaCoeffs = sigma |> Array.Parallel.map ofValues
            let struct (l0, lLast, lActive) = ArgumentWitness.lagrangeSelectors n a.Usable
            let l0C, lLastC, lActiveC = ofValues l0, ofValues lLast, ofValues lActive
            let parts = (ProofLayout.build cs).Parts
            let cached = Array.concat [ fixedCoeffs; sigmaCoeffs; [| l0C; lLastC; lActiveC |] ]
            let cacheBytes = int64 cached.Length * int64 parts * int64 n * 32L
            let cache =
                if cacheBytes > maxCosetCacheBytes then None
                else
                    let shifts = cosetShifts k parts
                    Some(cached |> Array.Parallel.map (fun c -> shifts |> Array.map (fun s -> PolyOps.cosetFft c n s)))
            Ok
                { Vk = vk
                  FixedValues = a.Fixed
                  FixedCoeffs = fixedCoeffs
                  SigmaValues = sigma
                  SigmaCoeffs = sigmaCoeffs
                  L0Coeffs = l0C
                  LLastCoeffs = lLastC
                  LActiveCoeffs = lActiveC
                  Copies = a.Copies
                  CosetCache = cache }
        with CircuitException msg -> Error(sprintf "key generation: %s" msg)

    /// Key generation with the default coset-cache bound.
    let keygen (pcs: ICommitmentScheme<'C>) (circuit: ICircuit<'Config>) (k: int) =
        keygenWith DefaultCosetCacheBytes pcs circuit k

    /// Canonical bytes: magic "ZKLV", version, scheme name, k, shape digest, then the
    /// fixed and σ commitments (counts included).
    let writeVerifyingKey (pcs: ICommitmentScheme<'C>) (vk: VerifyingKey<'C>) : byte[] =
        let w = ByteWriter()
        w.Bytes(Text.Encoding.ASCII.GetBytes VkMagic)
        w.Byte VkVersion
        w.String pcs.Name
        w.Int32 vk.K
        w.Bytes vk.ShapeDigest
        w.Int32 vk.FixedCommitments.Length
        for c in vk.FixedCommitments do w.Bytes(pcs.Encode c)
        w.Int32 vk.SigmaCommitments.Length
        for c in vk.SigmaCommitments do w.Bytes(pcs.Encode c)
        w.ToArray()

    /// Parses a verifying key for a known constraint system (from the circuit's
    /// configure step); rejects other versions, schemes, shapes, counts, non-canonical
    /// commitments and trailing bytes.
    let readVerifyingKey (pcs: ICommitmentScheme<'C>) (cs: ConstraintSystem) (bytes: byte[]) : Result<VerifyingKey<'C>, string> =
        Decode.run (fun () ->
            let r = ByteReader(bytes, "verifying key")
            let fail msg = raise (DecodeException(sprintf "verifying key: %s" msg))
            r.Expect(ReadOnlySpan(Text.Encoding.ASCII.GetBytes VkMagic), "magic")
            let version = r.Byte "version"
            if version <> VkVersion then fail (sprintf "unsupported version %d (expected %d)" version VkVersion)
            let nameLen = r.Int32 "scheme name length"
            if nameLen > 256 then fail "scheme name too long"
            let name = Text.Encoding.UTF8.GetString(r.Bytes(nameLen, "scheme name"))
            if name <> pcs.Name then fail (sprintf "commitment scheme '%s' does not match '%s'" name pcs.Name)
            let k = r.Int32 "k"
            if k < 1 || k > pcs.MaxK then fail (sprintf "k = %d is out of range" k)
            let shape = r.Bytes(32, "shape digest").ToArray()
            if not (shape.AsSpan().SequenceEqual(CircuitDigest.ofShape cs k)) then
                fail "the circuit shape does not match this verifying key"
            match ProofLayout.checkRotations cs k with
            | Error e -> fail e
            | Ok() -> ()
            let readCommitments (label: string) (expected: int) =
                let count = r.Int32(label + " count")
                if count <> expected then fail (sprintf "%d %s commitments, the circuit has %d" count label expected)
                Array.init count (fun i ->
                    let b = r.Bytes(pcs.CommitmentSize k, sprintf "%s commitment %d" label i).ToArray()
                    match pcs.Decode(k, b) with
                    | Ok c -> c
                    | Error e -> fail (sprintf "%s commitment %d: %s" label i e))
            let fixedC = readCommitments "fixed" cs.NumFixed
            let sigmaC = readCommitments "sigma" cs.PermutationColumns.Length
            r.Finish()
            { K = k
              Cs = cs
              ShapeDigest = shape
              FixedCommitments = fixedC
              SigmaCommitments = sigmaC
              Digest = vkDigest pcs shape fixedC sigmaC })
