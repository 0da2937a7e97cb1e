/// Pedersen vector commitments, the Bulletproofs inner product argument, the product
/// argument and the bit-constraint (range) proof on Vesta: completeness over random sizes
/// and a cheating prover for every verifier check.
module ZkLora.Math.Tests.CommitmentPrimitiveTests

open ZkLora.Testing
open System
open Expecto
open FsCheck
open ZkLora.Math
open ZkLora.Math.Commitment
open ZkLora.Math.Transcript

let private fresh () = Transcript.create "commitment primitive test"
let private fpOf (v: int64) = Fp.OfInt64 v
let private rnd = Random(4242)
let private randomFp () = Fp.Random()

let private ipaP (a: Fp[]) (b: Fp[]) (kappa: Fp) (w: Fp) =
    let n = a.Length
    let kp = InnerProductArgument.powers kappa n
    let g = TestParameters.pedersen.G.Get n
    let h = TestParameters.pedersen.H.Get n
    let ab = Array.fold2 (fun acc x y -> acc + x * y) Fp.Zero a b
    PedersenVector.msm (ReadOnlyMemory(g, 0, n)) (ReadOnlyMemory a)
    + PedersenVector.msm (ReadOnlyMemory(h, 0, n)) (ReadOnlyMemory(Array.init n (fun i -> b[i] * kp[i])))
    + Vesta.ofAffine PedersenVector.innerProductGenerator * (ab * w)

let private ipaAccepts (p: Vesta) (n: int) (kappa: Fp) (w: Fp) (proof: IpaProof) =
    use t = fresh ()
    match InnerProductArgument.verify t n kappa w proof with
    | Error _ -> false
    | Ok chk ->
        let g = TestParameters.pedersen.G.Get n
        let h = TestParameters.pedersen.H.Get n
        let points = Array.concat [ Array.sub g 0 n; Array.sub h 0 n; chk.Points; [| Vesta.toAffine p |] ]
        let scalars = Array.concat [ chk.GScalars; chk.HScalars; chk.Scalars; [| Fp.One |] ]
        (PedersenVector.msm (ReadOnlyMemory points) (ReadOnlyMemory scalars)).IsIdentity

let private productStatement (m: int) =
    let g = TestParameters.pedersen.G.Get(2 * m + 1)
    let gp, gq, gc = Array.sub g 0 m, Array.sub g m m, g[2 * m]
    let p = Array.init m (fun _ -> randomFp ())
    let q = Array.init m (fun _ -> randomFp ())
    let c = Array.fold2 (fun acc x y -> acc + x * y) Fp.Zero p q
    let rp, rq, gamma = randomFp (), randomFp (), randomFp ()
    let h = Vesta.ofAffine PedersenVector.blindingGenerator
    let pc = PedersenVector.msm (ReadOnlyMemory gp) (ReadOnlyMemory p) + h * rp
    let qc = PedersenVector.msm (ReadOnlyMemory gq) (ReadOnlyMemory q) + h * rq
    let vc = Vesta.ofAffine gc * c + h * gamma
    gp, gq, gc, p, rp, q, rq, c, gamma, pc, qc, vc

let private productVerify gp gq gc pc qc vc proof =
    use t = fresh ()
    ProductArgument.verify t gp gq gc pc qc vc proof

/// A random Hadamard statement of length n: a_L free off the segment and a_L = cSeg/a_R on
/// it (a_R non-zero small-ish values, as limbs minus α would be), one linear relation.
let private hadamardStatement (n: int) (segStart: int) (segCount: int) =
    let layout = { Length = n; SegStart = segStart; SegCount = segCount }
    let cSeg = randomFp ()
    let aR = Array.init segCount (fun i -> fpOf (int64 (rnd.Next 1024)) - fpOf 5000L)
    let aL = Array.init n (fun _ -> randomFp ())
    for j in 0 .. segCount - 1 do aL[segStart + j] <- cSeg * aR[j].Invert()
    let dL = Array.init n (fun _ -> randomFp ())
    let dR = Array.init segCount (fun _ -> randomFp ())
    let dot (x: Fp[]) (y: Fp[]) = Array.fold2 (fun acc a b -> acc + a * b) Fp.Zero x y
    let k = dot aL dL + dot aR dR
    let alpha = randomFp ()
    layout, aL, aR, alpha, cSeg, dL, dR, k

/// P0 = ⟨a_L, G⟩ + ⟨a_R, H_seg⟩ + α·h.
let private hadamardP0 (layout: HadamardLayout) (aL: Fp[]) (aR: Fp[]) (alpha: Fp) =
    let h = TestParameters.pedersen.H.Get layout.Length
    PedersenVector.commit TestParameters.pedersen aL alpha + PedersenVector.msm (ReadOnlyMemory(h, layout.SegStart, layout.SegCount)) (ReadOnlyMemory aR)

let private hadamardVerify layout p0 cSeg dL dR k proof =
    use t = fresh ()
    HadamardProof.verify TestParameters.pedersen t layout p0 cSeg dL dR k proof

let private hadamardProveUnchecked layout aL aR alpha cSeg dL dR k =
    use t = fresh ()
    HadamardProof.proveUnchecked TestParameters.pedersen t layout aL aR alpha cSeg dL dR k

[<Tests>]
let tests =
    testList "commitment primitives" [
        testCase "generator sequences extend consistently and match hash-to-curve" <| fun () ->
            let s = GeneratorSequence("zklora/test/sequence")
            let a = Array.sub (s.Get 5) 0 5
            let b = s.Get 37
            Expect.isGreaterThanOrEqual b.Length 37 "long enough"
            Expect.sequenceEqual (Array.sub b 0 5) a "prefix stable"
            Expect.sequenceEqual (Array.sub b 0 37) (Vesta.generators "zklora/test/sequence" 37) "element i is Hash(domain, i)"
            Expect.notEqual PedersenVector.blindingGenerator PedersenVector.valueGenerator "independent generators"

        testCase "generator store: stored points load checked and equal the derived ones; a bad file is ignored and replaced" <| fun () ->
            let dir = IO.Path.Combine(IO.Path.GetTempPath(), "zklora-genstore-" + Guid.NewGuid().ToString("N"))
            try
                let domain = "zklora/test/store"
                let plain = GeneratorSequence(domain).Get 600 |> Array.truncate 600
                let store = GeneratorStore(dir)
                GeneratorSequence(domain, Some store).Get 300 |> ignore // derives 512 and saves them
                Expect.equal store.LoadedPoints 0L "nothing to load at first"
                let file = IO.Directory.GetFiles dir |> Array.exactlyOne
                let fresh () =
                    let s = GeneratorStore(dir)
                    let points = GeneratorSequence(domain, Some s).Get 600 |> Array.truncate 600
                    Expect.sequenceEqual points plain "the points are the derived ones"
                    s
                let s2 = fresh () // loads 512, derives up to 1024, saves 1024
                Expect.equal s2.LoadedPoints 512L "the stored prefix was loaded"
                Expect.isNone s2.LastError "no problem"
                let good = IO.File.ReadAllBytes file
                let hdr = good.Length - 1024 * 33
                Expect.isGreaterThan hdr 0 "header, then 1024 entries of 33 bytes"
                Expect.equal (fresh ()).LoadedPoints 1024L "a later process loads the stored points (to the next power of two)"
                let rejects (what: string) (tamper: byte[] -> byte[]) =
                    IO.File.WriteAllBytes(file, tamper (Array.copy good))
                    let s = fresh ()
                    Expect.equal s.LoadedPoints 0L (what + ": the file is not used")
                    Expect.isSome s.LastError (what + ": the problem is reported")
                    Expect.equal (IO.File.ReadAllBytes file) good (what + ": the file is replaced by the derived points")
                let entry i = hdr + i * 33
                rejects "another y (the negation: on the curve, wrong parity)" (fun b ->
                    let y = FieldElement<VestaBase>.TryReadBytes(ReadOnlySpan(b, entry 7 + 1, 32)) |> Result.defaultWith failwith
                    (-y).WriteBytes(Span(b, entry 7 + 1, 32))
                    b)
                rejects "another attempt counter for the same y" (fun b -> b[entry 9] <- b[entry 9] + 1uy; b)
                rejects "a non-canonical y (≥ p)" (fun b -> (Span(b, entry 11 + 1, 32)).Fill 0xFFuy; b)
                rejects "a truncated file" (fun b -> Array.sub b 0 (b.Length - 1))
                rejects "another domain's header" (fun b -> b[hdr - 5] <- b[hdr - 5] ^^^ 1uy; b)
                rejects "another announced count" (fun b -> b[hdr - 1] <- b[hdr - 1] + 1uy; b)
            finally
                if IO.Directory.Exists dir then IO.Directory.Delete(dir, true)

        testCase "a stored point is accepted only as the hash output of its own index and attempt" <| fun () ->
            let domain = "zklora/test/attempts"
            let prefix = HashToCurve<VestaBase, PallasBase>.Prefix domain
            let out = Array.zeroCreate<byte> 65
            for i in 0u .. 20u do
                let struct (p, c) = HashToCurve<VestaBase, PallasBase>.HashWithCounter(Array.copy prefix, i, out)
                Expect.equal p (Vesta.hashToCurve domain i) "the counter-returning derivation is the derivation"
                Expect.equal (HashToCurve<VestaBase, PallasBase>.CheckAttempt(Array.copy prefix, i, c, p.Y, out)) (ValueSome p) "its own attempt"
                Expect.equal (HashToCurve<VestaBase, PallasBase>.CheckAttempt(Array.copy prefix, i, c, -p.Y, out)) ValueNone "the other y"
                Expect.equal (HashToCurve<VestaBase, PallasBase>.CheckAttempt(Array.copy prefix, i + 1u, c, p.Y, out)) ValueNone "another index"
                Expect.equal (HashToCurve<VestaBase, PallasBase>.CheckAttempt(Array.copy prefix, i, c + 1u, p.Y, out)) ValueNone "another attempt"
                Expect.equal (HashToCurve<VestaBase, PallasBase>.CheckAttempt(HashToCurve<VestaBase, PallasBase>.Prefix "zklora/test/other", i, c, p.Y, out)) ValueNone "another domain"

        testCase "Pedersen commitments on disjoint segments add to the concatenation" <| fun () ->
            let a = Array.init 5 (fun _ -> randomFp ())
            let b = Array.init 3 (fun _ -> randomFp ())
            let ra, rb = randomFp (), randomFp ()
            let sum = PedersenVector.commitAt TestParameters.pedersen 0 a ra + PedersenVector.commitAt TestParameters.pedersen 5 b rb
            Expect.isTrue ((PedersenVector.commit TestParameters.pedersen (Array.append a b) (ra + rb)).Equals sum) "homomorphic"
            Expect.isFalse ((PedersenVector.commit TestParameters.pedersen a ra).Equals(PedersenVector.commit TestParameters.pedersen a rb)) "blind changes the commitment"
            let enc = PedersenVector.encode sum
            match PedersenVector.decode (ReadOnlySpan enc) with
            | Ok p -> Expect.isTrue (p.Equals sum) "round trip"
            | Error e -> failtest e
            Expect.isError (PedersenVector.decode (ReadOnlySpan(Array.sub enc 0 31))) "truncated"
            Expect.isError (PedersenVector.decode (ReadOnlySpan(Array.create 32 0xFFuy))) "non-canonical"

        testProperty "inner product argument: completeness over sizes" <| fun (k: byte) ->
            let n = 1 <<< (int k % 6)
            let a = Array.init n (fun _ -> randomFp ())
            let b = Array.init n (fun _ -> randomFp ())
            let kappa, w = randomFp (), randomFp ()
            let proof = (use t = fresh () in InnerProductArgument.prove TestParameters.pedersen t kappa w a b)
            ipaAccepts (ipaP a b kappa w) n kappa w proof

        testCase "inner product argument: tampering is rejected" <| fun () ->
            let n = 8
            let a = Array.init n (fun _ -> randomFp ())
            let b = Array.init n (fun _ -> randomFp ())
            let kappa, w = randomFp (), randomFp ()
            let p = ipaP a b kappa w
            let proof = (use t = fresh () in InnerProductArgument.prove TestParameters.pedersen t kappa w a b)
            Expect.isTrue (ipaAccepts p n kappa w proof) "honest"
            Expect.isFalse (ipaAccepts p n kappa w { proof with A = proof.A + Fp.One }) "a"
            Expect.isFalse (ipaAccepts p n kappa w { proof with B = proof.B + Fp.One }) "b"
            let l = Array.copy proof.L
            l[1] <- proof.R[1]
            Expect.isFalse (ipaAccepts p n kappa w { proof with L = l }) "L"
            Expect.isFalse (ipaAccepts (p + Vesta.generator) n kappa w proof) "other P"
            Expect.isFalse (ipaAccepts p n (kappa + Fp.One) w proof) "other kappa"
            // a wrong inner product inside P
            let bad = p + Vesta.ofAffine PedersenVector.innerProductGenerator * w
            Expect.isFalse (ipaAccepts bad n kappa w proof) "inner product off by one"
            use t = fresh ()
            Expect.isError (InnerProductArgument.verify t 16 kappa w proof) "wrong round count"

        testProperty "product argument: completeness" <| fun (mb: byte) ->
            let m = 1 + int mb % 9
            let gp, gq, gc, p, rp, q, rq, c, gamma, pc, qc, vc = productStatement m
            let proof = (use t = fresh () in ProductArgument.prove t gp gq gc p rp q rq c gamma)
            productVerify gp gq gc pc qc vc proof = Ok()

        testCase "product argument: a cheating prover is rejected" <| fun () ->
            let gp, gq, gc, p, rp, q, rq, c, gamma, pc, qc, vc = productStatement 4
            let honest = (use t = fresh () in ProductArgument.prove t gp gq gc p rp q rq c gamma)
            Expect.equal (productVerify gp gq gc pc qc vc honest) (Ok()) "honest"
            let h = Vesta.ofAffine PedersenVector.blindingGenerator
            let vBad = Vesta.ofAffine gc * (c + Fp.One) + h * gamma
            let cheat = (use t = fresh () in ProductArgument.proveUnchecked t gp gq gc p rp q rq (c + Fp.One) gamma)
            Expect.isError (productVerify gp gq gc pc qc vBad cheat) "c ≠ ⟨p, q⟩"
            Expect.isError (productVerify gp gq gc pc qc vBad honest) "honest proof, other V"
            Expect.isError (productVerify gp gq gc qc pc vc honest) "P and Q swapped"
            Expect.isError (productVerify gp gq gc pc qc vc { honest with Tau = honest.Tau + Fp.One }) "tau"
            let l = Array.copy honest.L
            l[0] <- l[0] + Fp.One
            Expect.isError (productVerify gp gq gc pc qc vc { honest with L = l }) "l"
            Expect.isError (productVerify gp gq gc pc qc vc { honest with R = Array.sub honest.R 0 3 }) "short r"
            Expect.isError (productVerify gp gq gc pc qc vc { honest with MuQ = honest.MuP }) "mu_q"
        testProperty "hadamard-plus-linear proof: completeness over layouts" <| fun (lb: byte) (sb: byte) (cb: byte) ->
            let n = 1 <<< (int lb % 7)
            let segStart = int sb % n
            let segCount = int cb % (n - segStart + 1)
            let layout, aL, aR, alpha, cSeg, dL, dR, k = hadamardStatement n segStart segCount
            let proof =
                use t = fresh ()
                HadamardProof.prove TestParameters.pedersen t layout aL aR alpha cSeg dL dR k
            hadamardVerify layout (hadamardP0 layout aL aR alpha) cSeg dL dR k proof = Ok()

        testCase "hadamard-plus-linear proof: a cheating prover is rejected" <| fun () ->
            let layout, aL, aR, alpha, cSeg, dL, dR, k = hadamardStatement 64 20 30
            let p0 = hadamardP0 layout aL aR alpha
            let honest = hadamardProveUnchecked layout aL aR alpha cSeg dL dR k
            Expect.equal (hadamardVerify layout p0 cSeg dL dR k honest) (Ok()) "honest"
            let dot (x: Fp[]) (y: Fp[]) = Array.fold2 (fun acc a b -> acc + a * b) Fp.Zero x y
            // a_L·a_R ≠ c on one segment entry, the linear relation kept by recomputing K
            let aL2 = Array.copy aL
            aL2[25] <- aL2[25] + Fp.One
            let k2 = dot aL2 dL + dot aR dR
            let p02 = hadamardP0 layout aL2 aR alpha
            Expect.isError (hadamardVerify layout p02 cSeg dL dR k2 (hadamardProveUnchecked layout aL2 aR alpha cSeg dL dR k2)) "Hadamard broken on the segment"
            // the linear relation alone broken: K + 1
            Expect.isError (hadamardVerify layout p0 cSeg dL dR (k + Fp.One) (hadamardProveUnchecked layout aL aR alpha cSeg dL dR (k + Fp.One))) "K + 1"
            Expect.isError (hadamardVerify layout p0 cSeg dL dR (k + Fp.One) honest) "honest proof, other K"
            // other target, other d, other P0, other layout
            Expect.isError (hadamardVerify layout p0 (cSeg + Fp.One) dL dR k honest) "other c"
            let dR2 = Array.copy dR
            dR2[0] <- dR2[0] + Fp.One
            Expect.isError (hadamardVerify layout p0 cSeg dL dR2 k honest) "other d_R"
            let dL2 = Array.copy dL
            dL2[2] <- dL2[2] + Fp.One
            Expect.isError (hadamardVerify layout p0 cSeg dL2 dR k honest) "other d_L"
            Expect.isError (hadamardVerify layout (p0 + Vesta.ofAffine PedersenVector.blindingGenerator) cSeg dL dR k honest) "other P0"
            Expect.isError (hadamardVerify { layout with SegStart = 21; SegCount = 29 } p0 cSeg (Array.copy dL) (Array.sub dR 1 29) k honest) "other layout"
            // every proof field
            let pt = Vesta.toAffine (Vesta.ofAffine PedersenVector.valueGenerator * randomFp ())
            for name, forged in
                [ "S", { honest with S = pt }; "T1", { honest with T1 = pt }; "T2", { honest with T2 = pt }
                  "tau_x", { honest with TauX = honest.TauX + Fp.One }; "mu", { honest with Mu = honest.Mu + Fp.One }
                  "t_hat", { honest with THat = honest.THat + Fp.One }
                  "ipa a", { honest with Ipa = { honest.Ipa with A = honest.Ipa.A + Fp.One } }
                  "ipa L", { honest with Ipa = { honest.Ipa with L = Array.append [| pt |] honest.Ipa.L[1..] } } ] do
                Expect.isError (hadamardVerify layout p0 cSeg dL dR k forged) name
            // another transcript prefix
            let other =
                use t = Transcript.create "another prefix"
                HadamardProof.proveUnchecked TestParameters.pedersen t layout aL aR alpha cSeg dL dR k
            Expect.isError (hadamardVerify layout p0 cSeg dL dR k other) "other transcript"

        testCase "deferred checks: combined with random weights, one bad check fails the batch" <| fun () ->
            let mk n s c =
                let layout, aL, aR, alpha, cSeg, dL, dR, k = hadamardStatement n s c
                let proof = hadamardProveUnchecked layout aL aR alpha cSeg dL dR k
                let p0 = hadamardP0 layout aL aR alpha
                fun (tamper: bool) ->
                    use t = fresh ()
                    let proof = if tamper then { proof with Ipa = { proof.Ipa with B = proof.Ipa.B + Fp.One } } else proof
                    match HadamardProof.verifyDeferred t layout p0 cSeg dL dR k proof with
                    | Ok c -> c
                    | Error e -> failwith e
            let a, b, c = mk 32 4 10, mk 64 10 40, mk 16 0 16
            Expect.isTrue (DeferredCheck.isIdentity TestParameters.pedersen (DeferredCheck.combine [| a false; b false; c false |])) "honest batch"
            Expect.isFalse (DeferredCheck.isIdentity TestParameters.pedersen (b true)) "the tampered check alone"
            Expect.isFalse (DeferredCheck.isIdentity TestParameters.pedersen (DeferredCheck.combine [| a false; b true; c false |])) "batch with one tampered"
        testCase "generator folding (GLV endomorphism path) equals lo + u·hi" <| fun () ->
            // half ≥ 512 takes the batch-affine GLV path; compare with plain scalar multiplication
            let half = 700
            let pts = TestParameters.pedersen.G.Get(2 * half) |> fun g -> Array.sub g 0 (2 * half)
            let scalars =
                [ InnerProductArgument.roundChallenge (randomFp ()); randomFp (); randomFp (); -Fp.One; Fp.One
                  fpOf 3L; (InnerProductArgument.roundChallenge (randomFp ())).Invert() ]
            for u in scalars do
                let folded = VestaFold.fold pts half u
                for i in [ 0; 1; 255; 511; 512; half - 1 ] do
                    let expected = Vesta.toAffine (Vesta.ofAffine pts[half + i] * u + Vesta.ofAffine pts[i])
                    Expect.equal folded[i] expected (sprintf "entry %d for u = %O" i u)
                // every entry
                let all = Array.init half (fun i -> Vesta.toAffine (Vesta.ofAffine pts[half + i] * u + Vesta.ofAffine pts[i]))
                Expect.equal folded all "all entries"
            // endoscaled challenges: u = a + b·λ folded with the 64-bit halves directly
            for _ in 1 .. 4 do
                let u, a, b = InnerProductArgument.endoChallenge (randomFp ())
                Expect.isLessThan (max a b) (Numerics.BigInteger.One <<< 64) "64-bit halves"
                let folded = VestaFold.foldEndo pts half u a b
                let all = Array.init half (fun i -> Vesta.toAffine (Vesta.ofAffine pts[half + i] * u + Vesta.ofAffine pts[i]))
                Expect.equal folded all "endoscaled fold, all entries"
            // λ is the eigenvalue of φ(x, y) = (ζx, y): λ³ = 1, λ ≠ 1
            let lam = VestaFold.endomorphismEigenvalue ()
            Expect.equal (lam * lam * lam) Fp.One "λ is a cube root of unity"
            Expect.notEqual lam Fp.One "λ ≠ 1"
    ]
