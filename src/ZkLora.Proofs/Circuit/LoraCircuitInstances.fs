/// The public inputs of the LoRA circuit: the instance column's layout (commitment, statement
/// digest halves, x, δ) and the verifier's native bound check on the public values.
module ZkLora.Proofs.Circuit.LoraCircuitInstances

open System
open System.Numerics
open ZkLora.Math
open ZkLora.Math.Plonk
open ZkLora.Proofs
open ZkLora.Proofs.FixedPoint
open ZkLora.Math.Commitment
open ZkLora.Proofs.Circuit.LoraCircuit

open ZkLora.Proofs.Circuit.LoraCircuitWitness

/// The statement digest (SHA-256, 64 hex digits) as two field elements: the first 16
/// bytes and the last 16 bytes, each read as a big-endian unsigned integer (< 2^128 < p).
let digestHalves (digestHex: string) : Result<Fp * Fp, string> =
    if isNull digestHex || digestHex.Length <> 64 || not (digestHex |> Seq.forall Uri.IsHexDigit) then
        Error "the statement digest must be 64 hex digits"
    else
        let bytes = Convert.FromHexString digestHex
        let half (o: int) = Fp.OfBigInteger(BigInteger(ReadOnlySpan(bytes, o, 16), isUnsigned = true, isBigEndian = true))
        Ok(half 0, half 16)

/// Instance column layout: row 0 commitment, rows 1–2 digest halves, then x (token-row
/// major), then δ (token-row major).
let instanceRowOfX (s: LoraCircuitShape) (t: int) (i: int) = 3 + t * s.InDim + i
let instanceRowOfDelta (s: LoraCircuitShape) (t: int) (k: int) = 3 + s.Rows * s.InDim + t * s.OutDim + k

let private instanceColumn (s: LoraCircuitShape) (xs: BigInteger[][]) (delta: BigInteger[][]) commitment hi lo =
    let col = Array.zeroCreate (3 + s.Rows * (s.InDim + s.OutDim))
    col[0] <- commitment
    col[1] <- hi
    col[2] <- lo
    for t in 0 .. s.Rows - 1 do
        for i in 0 .. s.InDim - 1 do col[instanceRowOfX s t i] <- fpOf (xs[t][i])
        for k in 0 .. s.OutDim - 1 do col[instanceRowOfDelta s t k] <- fpOf (delta[t][k])
    col

/// The public instance vector (one column) from x, δ, the commitment and the digest.
let instances (s: LoraCircuitShape) (xs: BigInteger[][]) (delta: BigInteger[][]) (commitment: Fp) (digestHex: string) : Result<Fp[][], string> =
    result {
        do! checkMatrix "x" s.Rows s.InDim xs
        do! checkMatrix "delta" s.Rows s.OutDim delta
        let! hi, lo = digestHalves digestHex
        return [| instanceColumn s xs delta commitment hi lo |]
    }

/// The verifier's native check on public values (the circuit does not range-check them):
/// every x and δ within ±value_bound, and the shapes right.
let checkPublicBounds (s: LoraCircuitShape) (xs: BigInteger[][]) (delta: BigInteger[][]) : Result<unit, string> =
    result {
        do! checkMatrix "x" s.Rows s.InDim xs
        do! checkMatrix "delta" s.Rows s.OutDim delta
        let vb = valueBound s.Config
        let find (m: BigInteger[][]) =
            m |> Array.indexed |> Array.tryPick (fun (t, r) -> r |> Array.tryFindIndex (fun v -> BigInteger.Abs v > vb) |> Option.map (fun i -> t, i))
        return!
            match find xs, find delta with
            | Some(t, i), _ -> Error(sprintf "x[%d][%d] is outside ±value_bound" t i)
            | None, Some(t, k) -> Error(sprintf "delta[%d][%d] is outside ±value_bound" t k)
            | None, None -> Ok()
    }
