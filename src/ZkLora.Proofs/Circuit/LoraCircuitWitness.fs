/// The witness of the LoRA circuit (docs/circuit.md): every integer the circuit assigns,
/// computed exactly; tests may craft inconsistent ones with `witnessUnchecked`.
module ZkLora.Proofs.Circuit.LoraCircuitWitness

open System
open System.Numerics
open ZkLora.Math
open ZkLora.Math.Plonk
open ZkLora.Proofs
open ZkLora.Proofs.FixedPoint
open ZkLora.Math.Commitment
open ZkLora.Proofs.Circuit.LoraCircuit

/// A division n = raw + 2^(ib−1) written as e' + c·2^(sb−1) + 2^sb·S (S high part, c the
/// rounding bit, e' the low remainder bits), and its quotient q = S − 2^(ib−1−sb) + c.
type Division =
    { Value: BigInteger
      High: BigInteger
      Carry: BigInteger
      Low: BigInteger
      Quotient: BigInteger }

type LoraWitness =
    { A: BigInteger[][]
      B: BigInteger[][]
      Salt: Fp
      X: BigInteger[][]
      /// Per token row, per rank index: raw_j and its division by scale (h_j).
      Raw: Division[][]
      /// Per token row, per output: r_k and its division by scale (s_k).
      Out: Division[][]
      /// Per token row, per output: δ_k and the remainder e3 of div_round(s_k·num, den).
      Delta: BigInteger[][]
      ScalingRem: BigInteger[][] }

/// The division decomposition of an integer v (any size; out-of-range values give
/// out-of-range parts, which the circuit rejects).
let divide (cfg: FixedPointConfig) (v: BigInteger) : Division =
    let sb, ib = cfg.ScaleBits, cfg.IntermediateBits
    let n = v + pow2 (ib - 1)
    let sc = pow2 sb
    let high = floorDiv n sc
    let e = n - high * sc
    let carry, low = if sb = 0 then BigInteger.Zero, BigInteger.Zero else (e >>> (sb - 1)), (e &&& (pow2 (sb - 1) - BigInteger.One))
    { Value = v; High = high; Carry = carry; Low = low; Quotient = high - pow2 (ib - 1 - sb) + carry }

/// The witness computed with exact integers and NO bound checks (so tests can craft
/// witnesses for out-of-contract values); `witness` is the checked version.
let witnessUnchecked (s: LoraCircuitShape) (a: BigInteger[][]) (b: BigInteger[][]) (salt: Fp) (xs: BigInteger[][]) : LoraWitness =
    let cfg = s.Config
    let raw = xs |> Array.map (fun x -> Array.init s.Rank (fun j -> divide cfg (Array.fold2 (fun acc (w: BigInteger) xi -> acc + w * xi) BigInteger.Zero a[j] x)))
    let out = raw |> Array.map (fun hs -> Array.init s.OutDim (fun k -> divide cfg (Array.fold2 (fun acc (w: BigInteger) (h: Division) -> acc + w * h.Quotient) BigInteger.Zero b[k] hs)))
    let num, den = s.Scaling.Num, s.Scaling.Den
    let delta = out |> Array.map (Array.map (fun o -> divRound (o.Quotient * num) den))
    let rem = Array.map2 (Array.map2 (fun (o: Division) d -> o.Quotient * num + den / big 2 - den * d)) out delta
    { A = a; B = b; Salt = salt; X = xs; Raw = raw; Out = out; Delta = delta; ScalingRem = rem }

let internal checkMatrix name rows cols (m: BigInteger[][]) =
    if isNull m || m.Length <> rows || m |> Array.exists (fun r -> isNull r || r.Length <> cols) then
        Error(sprintf "%s must be %d × %d" name rows cols)
    else Ok()

/// The honest witness: shapes checked, delta computed by `FixedPoint.deltaRows` (which
/// errors when a bound of the contract is exceeded: then no proof must exist), and the
/// circuit's own computation checked against it.
let witness (s: LoraCircuitShape) (a: BigInteger[][]) (b: BigInteger[][]) (salt: Fp) (xs: BigInteger[][]) : Result<LoraWitness, string> =
    result {
        let! s = validate s
        do! checkMatrix "A" s.Rank s.InDim a
        do! checkMatrix "B" s.OutDim s.Rank b
        do! checkMatrix "x" s.Rows s.InDim xs
        let vb = valueBound s.Config
        do! if xs |> Array.exists (Array.exists (fun v -> BigInteger.Abs v > vb)) then Error "an input value is outside ±value_bound" else Ok()
        let! delta = deltaRows s.Config a b xs s.Scaling.Num s.Scaling.Den
        let w = witnessUnchecked s a b salt xs
        do! if w.Delta <> delta then Error "internal error: the circuit witness disagrees with FixedPoint.deltaRows" else Ok()
        return w
    }
