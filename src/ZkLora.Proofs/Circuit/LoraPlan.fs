/// The LoRA circuit (docs/design.md §2.4, §3.6): for the T token rows of one module call it proves
/// that every public delta row is the fixed-point LoRA relation of the public x row and
/// private weights A (rank × in), B (out × rank) whose salted, packed Poseidon adapter
/// commitment is a public value, bound to the statement digest. docs/circuit.md describes
/// the layout, the row counts and the soundness / no-wrap argument in full; the comments
/// here give each gate's local argument.
///
/// The circuit is split along its seams: this file is the shape and the plan (layout, no-wrap
/// bounds, circuit id); LoraCircuitWitness.fs the integers the circuit assigns;
/// LoraCircuitInstances.fs the public inputs; LoraCircuitGadgets.fs the gates and the
/// synthesis; LoraCircuit.fs the entry points under the `LoraCircuit.` prefix. This module keeps
/// the name `LoraCircuit` because its types are the circuit's public types (C# callers name
/// `ZkLora.Proofs.Circuit.LoraCircuit.LoraCircuitShape` and `LoraCircuit.plan`).
module ZkLora.Proofs.Circuit.LoraCircuit

open System
open System.Numerics
open ZkLora.Math
open ZkLora.Math.Plonk
open ZkLora.Proofs
open ZkLora.Proofs.FixedPoint
open ZkLora.Math.Commitment

/// Version of the circuit layout; part of `circuitId` (bump on any change to gates or layout).
[<Literal>]
let CircuitVersion = "lora-circuit-v2"

/// What one circuit is built for: module shape, token rows, fixed-point config, scaling.
type LoraCircuitShape =
    { InDim: int
      Rank: int
      OutDim: int
      Rows: int
      Config: FixedPointConfig
      Scaling: Scaling }

/// Layout parameters derived from the shape (deterministically; see `plan`).
type LoraPlan =
    { Shape: LoraCircuitShape
      /// Lookup table holds [0, 2^LimbBits).
      LimbBits: int
      /// Products per dot-product row.
      DotWidth: int
      /// Lanes (limb columns) per range row.
      Lanes: int
      /// Limbs of a weight offset u = w + 2^(vb−1) (value_bits bits, tight).
      WeightLimbs: int
      /// Limbs of e' (the low scale_bits − 1 bits of a division remainder); 0 when sb ≤ 1.
      RemLimbs: int
      /// Limbs of the high part S (intermediate_bits − scale_bits bits, tight).
      HighLimbs: int
      /// Limbs of the scaling remainder e3 and of den − 1 − e3 (each a tight segment of
      /// bits(den − 1) bits).
      ScalingLimbs: int
      /// Weights per packed commitment element.
      PackPerElement: int
      /// Rounds per row of the commitment's Poseidon gadget.
      Poseidon: PoseidonGadget.PoseidonLayout
      /// Rows each part needs and the resulting k.
      Rows: int
      K: int }

let internal big (v: int) = BigInteger v
let internal pow2 (b: int) = BigInteger.One <<< b
let internal ceilDiv a b = (a + b - 1) / b

/// Bits of a non-negative integer (0 for 0).
let internal bitLength (v: BigInteger) = if v.Sign <= 0 then 0 else int (v.GetBitLength())

let internal fpOf (v: BigInteger) = Fp.OfBigInteger v

// ---------------------------------------------------------------------------------------
// Planning: row counts per part and the choice of the limb width w

/// Number of elements of the commitment message (header 10 + packed weights).
let messageLength (s: LoraCircuitShape) =
    let per = AdapterCommitment.weightsPerElement s.Config
    10 + ceilDiv (s.Rank * s.InDim + s.OutDim * s.Rank) per

/// The Poseidon layouts a plan chooses from: 1/2, 2/4 and 4/7 full/partial rounds per row
/// (6, 12, 16 advice columns; 37, 19, 13 rows per permutation).
let poseidonLayouts = [ PoseidonGadget.narrow; PoseidonGadget.wide; { PoseidonGadget.FullPerRow = 4; PoseidonGadget.PartialPerRow = 7 } ]

/// Blinding rows reserved by the constraint system (advice columns are queried at two
/// rotations at most: cur/next or cur/prev), see ConstraintSystem.BlindingFactors.
let private blindingRows = 5

/// A lower bound on the rows any plan of this shape needs (weights in lanes, then one row per
/// dot-product chunk, per output, per instance value), in exact arithmetic.
let private minimumRows (s: LoraCircuitShape) : BigInteger =
    let i, r, o, t = big s.InDim, big s.Rank, big s.OutDim, big s.Rows
    let chunks = (i + big (max s.Rank 4) - BigInteger.One) / big (max s.Rank 4)
    let main = BigInteger.Max(r * (i + o) + t * r, t * r * chunks) + t * o
    BigInteger.Max(main, big 3 + t * (i + o))

/// The most rows a circuit can use at the largest k the commitment scheme supports
/// (minus blinding rows and the margin the planner keeps).
let private maxCircuitRows = (1 <<< VestaIpa.MaxK) - blindingRows - 1 - 16

/// The checks every shape must pass before a circuit is built: valid config and scaling,
/// positive dims, and the no-wrap conditions of docs/circuit.md §"No wrap-around".
let validate (s: LoraCircuitShape) : Result<LoraCircuitShape, string> =
    match validateConfig s.Config, validateScaling s.Scaling with
    | Error e, _ | _, Error e -> Error e
    | Ok cfg, Ok sc ->
        if s.InDim < 1 || s.Rank < 1 || s.OutDim < 1 then Error "in_dim, rank and out_dim must be ≥ 1"
        elif s.Rows < 1 then Error "a proof covers at least one token row"
        elif s.InDim > AdapterCommitment.maxDim || s.Rank > AdapterCommitment.maxDim || s.OutDim > AdapterCommitment.maxDim then
            Error "dimension above the adapter-commitment limit"
        elif minimumRows s > big maxCircuitRows then
            // Checked in exact arithmetic before any int32 row count is formed (the planner's
            // products would overflow for dims near the commitment limit).
            Error(sprintf "shape %dx%dx%d with %d rows needs at least %O circuit rows; one proof holds at most %d (k ≤ %d): split the call into fewer rows per proof or use a smaller module"
                      s.InDim s.Rank s.OutDim s.Rows (minimumRows s) maxCircuitRows VestaIpa.MaxK)
        else
            let vb, ib, sb = cfg.ValueBits, cfg.IntermediateBits, cfg.ScaleBits
            // |Σ A·x| ≤ in·2^(2vb−2); |Σ B·h| ≤ rank·2^(vb−1)·(2^(ib−1−sb)+1); |s·num| and
            // den·|δ| + den: all must stay below 2^252 < p/2 minus the offsets we add.
            let lim = 251
            let dotA = bitLength (big s.InDim) + 2 * vb - 2
            let dotB = bitLength (big s.Rank) + vb - 1 + (ib - sb) + 1
            let numBits = bitLength (BigInteger.Abs sc.Num)
            let denBits = bitLength sc.Den
            let scal = max ((ib - sb) + 1 + numBits) (denBits + vb) + 1
            if dotA > lim || dotB > lim || scal > lim then
                Error(sprintf "fixed-point config %d/%d/%d with this shape and scaling %O/%O could wrap around the field in the circuit (bit sizes %d, %d, %d > %d)" sb vb ib sc.Num sc.Den dotA dotB scal lim)
            else Ok { s with Config = cfg; Scaling = sc }

/// Row counts for a given limb width and dot width.
let private planWith (s: LoraCircuitShape) (w: int) (d: int) (layout: PoseidonGadget.PoseidonLayout) : LoraPlan =
    let cfg = s.Config
    let sb, vb, ib = cfg.ScaleBits, cfg.ValueBits, cfg.IntermediateBits
    let weightLimbs = ceilDiv vb w
    let remLimbs = if sb >= 2 then ceilDiv (sb - 1) w else 0
    let highLimbs = ceilDiv (ib - sb) w
    let lanes = max weightLimbs (remLimbs + highLimbs)
    let scalingLimbs = max 1 (ceilDiv (bitLength (s.Scaling.Den - BigInteger.One)) w)
    let nWeights = s.Rank * s.InDim + s.OutDim * s.Rank
    let t = s.Rows
    // lanes: weights, then raw divisions, then output rows (which also need the dot columns)
    let laneRows = nWeights + t * s.Rank
    let dotRows = t * s.Rank * ceilDiv s.InDim d
    let main = max laneRows dotRows + t * s.OutDim
    let header = 12 // header constants, salt and digest cells share the value column
    let poseidon = PoseidonGadget.rowsForHashWith layout (messageLength s)
    let instanceRows = 3 + t * (s.InDim + s.OutDim)
    let rows = List.max [ main + header; poseidon; (1 <<< w); instanceRows ]
    let mutable k = 1
    while (1 <<< k) - blindingRows - 1 < rows + 16 do k <- k + 1
    { Shape = s
      LimbBits = w
      DotWidth = d
      Lanes = lanes
      WeightLimbs = weightLimbs
      RemLimbs = remLimbs
      HighLimbs = highLimbs
      ScalingLimbs = scalingLimbs
      PackPerElement = AdapterCommitment.weightsPerElement cfg
      Poseidon = layout
      Rows = rows
      K = k }

/// Advice columns of a plan (for the cost estimate and docs).
let adviceColumns (p: LoraPlan) = p.Lanes + 5 + 2 * p.DotWidth + 2 * p.ScalingLimbs + PoseidonGadget.adviceColumns p.Poseidon

/// Lookup arguments of a plan: one per lane, the tight-top lookups of the weight, remainder
/// and high segments (at most 3 on a row kind; 2 counted as in v1's cost model), the 2m
/// scaling-remainder limbs and their 2 tight-top lookups.
let private lookupCount (p: LoraPlan) = p.Lanes + 2 + 2 * p.ScalingLimbs + 2

/// The no-wrap argument of every identity of the circuit, as numbers: for each identity
/// `L = R` checked in Fp, an upper bound on Σ|t| over the integer terms t of L − R, given the
/// bounds the other constraints establish (docs/circuit.md, "No wrap-around"). When the bound
/// is below p, L − R ≡ 0 (mod p) with |L − R| < p forces L − R = 0: the identity holds over
/// the integers. Computed exactly (BigInteger), per plan.
let noWrapBounds (p: LoraPlan) : (string * BigInteger) list =
    let s = p.Shape
    let cfg = s.Config
    let sb, vb, ib, w = cfg.ScaleBits, cfg.ValueBits, cfg.IntermediateBits, p.LimbBits
    let vbound = valueBound cfg
    // |h|, |s| ≤ M: q = S − M + c with S ∈ [0, 2^(ib−sb)) tight and c ∈ {0, 1}.
    let m = pow2 (ib - 1 - sb)
    let den = s.Scaling.Den
    let remBits = bitLength (den - BigInteger.One)
    let divisionRhs = pow2 ib // e' + c·2^(sb−1) + 2^sb·S < 2^ib (tight segments)
    [ // u = v + 2^(vb−1) = Σ limbs: the limb sum < 2^vb defines v ∈ [−2^(vb−1), 2^(vb−1)).
      "weight decomposition", pow2 vb + pow2 (vb - 1) + pow2 (vb - 1)
      // pk = pk_prev·2^vb + u' over a group of PackPerElement digits u' < 2^vb.
      "weight packing", big 3 * pow2 (p.PackPerElement * vb)
      // Σ_i A_ji·x_i + 2^(ib−1) = e' + c·2^(sb−1) + 2^sb·S.
      "raw division", big s.InDim * vbound * vbound + pow2 (ib - 1) + divisionRhs
      // Σ_j B_kj·h_j + 2^(ib−1) = e' + c·2^(sb−1) + 2^sb·S.
      "output division", big s.Rank * vbound * m + pow2 (ib - 1) + divisionRhs
      // q = S − M + c.
      "quotient", m + pow2 (ib - sb) + m + BigInteger.One
      // q·num + ⌊den/2⌋ = den·δ + e3, |δ| ≤ value_bound (checked natively), e3 < 2^remBits.
      "scaling relation", m * BigInteger.Abs s.Scaling.Num + den / big 2 + den * vbound + pow2 remBits
      // den − 1 = e3 + (den − 1 − e3), each a tight segment below 2^remBits.
      "scaling remainder complement", den + pow2 remBits + pow2 remBits
      // 2^(w − r)·top for a tight top limb: both factors below 2^w.
      "tight top limb", pow2 (2 * w) ]

/// A plan is usable only if every identity's no-wrap bound is below p and k fits the
/// commitment scheme.
let checkPlan (p: LoraPlan) : Result<LoraPlan, string> =
    let s = p.Shape
    match noWrapBounds p |> List.tryFind (fun (_, bound) -> bound >= Fp.Modulus) with
    | Some(name, bound) ->
        Error(sprintf "shape %dx%dx%d with fixed-point config %d/%d/%d and scaling %O/%O: the %s identity could wrap around the field (its terms reach 2^%d)"
                  s.InDim s.Rank s.OutDim s.Config.ScaleBits s.Config.ValueBits s.Config.IntermediateBits s.Scaling.Num s.Scaling.Den
                  name (bitLength bound))
    | None ->
        if p.K <= VestaIpa.MaxK then Ok p
        else Error(sprintf "shape %dx%dx%d with %d rows needs %d circuit rows (k = %d); one proof holds at most k = %d"
                       s.InDim s.Rank s.OutDim s.Rows p.Rows p.K VestaIpa.MaxK)

/// Every plan the planner considers for a validated shape: w ∈ [6, 16] × the Poseidon layouts.
let private candidates (s: LoraCircuitShape) =
    let d = max s.Rank 4
    [ for w in 6 .. 16 do
        for li, layout in List.indexed poseidonLayouts do
            let p = planWith s w d layout
            // committed columns × (rows + a per-column overhead worth ~2^11 rows: at
            // small k the per-polynomial work of the prover, not the MSM size, dominates)
            let cost = float (adviceColumns p + lookupCount p / 2 + 2) * float ((1L <<< p.K) + 2048L)
            yield (cost, -w, li), p ]

let private cheapest cands =
    match cands with
    | [] -> Error "no plan"
    | _ -> cands |> List.minBy fst |> snd |> checkPlan

/// The plan: w ∈ [6, 16] and the Poseidon layout minimising (advice columns + lookup
/// helpers) · (2^k + 2^11) (committed cells plus a per-column overhead), ties to the
/// larger w and then the narrower Poseidon layout; dot width max(rank, 4). The chosen plan's
/// no-wrap bounds are checked (`noWrapBounds`): a plan whose argument fails is never built.
let plan (s: LoraCircuitShape) : Result<LoraPlan, string> =
    validate s |> Result.bind (candidates >> cheapest)

/// The cheapest plan with a given limb width w ∈ [6, 16] (tests and benchmarks use it to
/// exercise every limb width; a verifier only ever uses `plan`).
let planWithLimbBits (s: LoraCircuitShape) (w: int) : Result<LoraPlan, string> =
    if w < 6 || w > 16 then Error(sprintf "limb width %d is outside [6, 16]" w)
    else validate s |> Result.bind (candidates >> List.filter (fun (_, p) -> p.LimbBits = w) >> cheapest)

/// Deterministic identifier of the circuit: everything the keys depend on.
let circuitId (p: LoraPlan) =
    let s = p.Shape
    let c = s.Config
    sprintf "%s;shape=%dx%dx%d;rows=%d;fixed_point=%d,%d,%d;scaling=%O/%O;w=%d;dot=%d;poseidon=%d/%d;k=%d"
        CircuitVersion s.InDim s.Rank s.OutDim s.Rows c.ScaleBits c.ValueBits c.IntermediateBits
        s.Scaling.Num s.Scaling.Den p.LimbBits p.DotWidth p.Poseidon.FullPerRow p.Poseidon.PartialPerRow p.K
