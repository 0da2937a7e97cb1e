/// TEST ONLY: an idealized "commitment" that is the polynomial itself (its coefficient
/// vector), opened by direct evaluation. It is neither hiding nor succinct — it stands
/// in for an ideal polynomial oracle so the PLONK interactive protocol (quotient,
/// identities, multipoint opening, transcript) can be tested independently of the
/// IPA commitment scheme. Never used outside tests.
module ZkLora.Math.Tests.IdealCommitment

open System
open ZkLora.Math
open ZkLora.Math.Plonk
open ZkLora.Math.Commitment
open ZkLora.Math.Poly

type private Check(ok: bool) =
    member _.Ok = ok
    interface IDeferredCheck

let private eval (c: Fp[]) (x: Fp) = Array.foldBack (fun v acc -> acc * x + v) c Fp.Zero

let scheme =
    { new ICommitmentScheme<Fp[]> with
        member _.Name = "ideal-oracle (tests only)"
        member _.MaxK = 12
        member _.CommitmentSize k = 32 * (1 <<< k)
        member _.Encode c =
            let out = Array.zeroCreate (32 * c.Length)
            c |> Array.iteri (fun i v -> v.WriteBytes(Span(out, 32 * i, 32)))
            out
        member _.Decode(k, bytes) =
            let n = 1 <<< k
            if bytes.Length <> 32 * n then Error "wrong length"
            else
                let vals = Array.init n (fun i -> Fp.TryReadBytes(ReadOnlySpan(bytes, 32 * i, 32)))
                match vals |> Array.tryPick (function Error e -> Some e | Ok _ -> None) with
                | Some e -> Error e
                | None -> Ok(vals |> Array.map (function Ok v -> v | Error _ -> Fp.Zero))
        member _.CommitLagrange(_, values, _) =
            let c = Array.copy values
            PolyOps.ifft c
            c
        member _.Commit(k, coeffs, _) =
            let c = Array.zeroCreate (1 <<< k)
            Array.blit coeffs 0 c 0 coeffs.Length
            c
        member _.Combine(scalars, cs) =
            let n = cs[0].Length
            let acc = Array.zeroCreate n
            for j in 0 .. cs.Length - 1 do
                for i in 0 .. n - 1 do acc[i] <- acc[i] + scalars[j] * cs[j][i]
            acc
        member _.Open(_, _, _, _, _) = ()
        member _.Verify(_, _, c, point, value) = Ok(Check((eval c point).Equals value) :> IDeferredCheck)
        member s.VerifyCombination(k, r, scalars, cs, point, value) = s.Verify(k, r, s.Combine(scalars, cs), point, value)
        member _.Decide checks = checks |> Array.forall (fun c -> (c :?> Check).Ok) }
