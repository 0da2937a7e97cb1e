/// The LoRA circuit (docs/design.md §2.4, §3.6): for the T token rows of one module call it proves
/// that every public delta row is the fixed-point LoRA relation of the public x row and
/// private weights A (rank × in), B (out × rank) whose salted, packed Poseidon adapter
/// commitment is a public value, bound to the statement digest. docs/circuit.md describes
/// the layout, the row counts and the soundness / no-wrap argument in full; the comments
/// here give each gate's local argument.
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

let private big (v: int) = BigInteger v
let private pow2 (b: int) = BigInteger.One <<< b
let private ceilDiv a b = (a + b - 1) / b

/// Bits of a non-negative integer (0 for 0).
let private bitLength (v: BigInteger) = if v.Sign <= 0 then 0 else int (v.GetBitLength())

let private fpOf (v: BigInteger) = Fp.OfBigInteger v

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

// ---------------------------------------------------------------------------------------
// The witness: every integer the circuit assigns (tests may craft inconsistent ones)

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

let private checkMatrix name rows cols (m: BigInteger[][]) =
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

// ---------------------------------------------------------------------------------------
// Public inputs

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

// ---------------------------------------------------------------------------------------
// Configuration

type LoraConfig =
    { Lanes: AdviceColumn[]
      /// Value cell of a range row (weight, raw, r); header cells.
      V: AdviceColumn
      Carry: AdviceColumn
      Inv: AdviceColumn
      /// Quotient of a division row; packed accumulator on weight rows.
      Q: AdviceColumn
      DotW: AdviceColumn[]
      DotX: AdviceColumn[]
      /// Dot accumulator; δ on output rows.
      Acc: AdviceColumn
      /// e3 limbs then (den − 1 − e3) limbs.
      Scal: AdviceColumn[]
      Table: TableColumn
      Constants: FixedColumn
      Instance: InstanceColumn
      QRange: Selector
      QWeight: Selector
      QPack0: Selector
      QPack: Selector
      QDot0: Selector
      QDot: Selector
      QDiv: Selector
      QOut: Selector
      Poseidon: PoseidonGadget.PoseidonConfig }

let private fpPow2 (b: int) = fpOf (pow2 b)
let private c (v: BigInteger) = Expression.constant (fpOf v)

let configure (p: LoraPlan) (b: ConstraintSystemBuilder) : LoraConfig =
    let s = p.Shape
    let cfg = s.Config
    let sb, vb, ib, w = cfg.ScaleBits, cfg.ValueBits, cfg.IntermediateBits, p.LimbBits
    let lanes = Array.init p.Lanes (fun _ -> b.AdviceColumn())
    let v, carry, inv, q = b.AdviceColumn(), b.AdviceColumn(), b.AdviceColumn(), b.AdviceColumn()
    let dotW = Array.init p.DotWidth (fun _ -> b.AdviceColumn())
    let dotX = Array.init p.DotWidth (fun _ -> b.AdviceColumn())
    let acc = b.AdviceColumn()
    let scal = Array.init (2 * p.ScalingLimbs) (fun _ -> b.AdviceColumn())
    let table = b.LookupTableColumn()
    let consts = b.FixedColumn()
    let inst = b.InstanceColumn()
    for col in Array.concat [ [| v; q; acc |]; dotW; dotX ] do b.EnableEquality col
    b.EnableEquality inst
    let qRange, qWeight, qPack0, qPack = b.Selector(), b.Selector(), b.Selector(), b.Selector()
    let qDot0, qDot, qDiv, qOut = b.Selector(), b.Selector(), b.Selector(), b.Selector()
    // Lane lookups: every lane of a range row is in [0, 2^w). Unused lanes are forced to 0
    // by the row's kind gate, so the lookup is harmless for them.
    for l in 0 .. p.Lanes - 1 do
        b.Lookup(sprintf "lane %d in [0, 2^w)" l, qRange, [ lanes[l].Cur, table ])
    /// Σ_i lanes[first + i]·2^(w·i) for i < count.
    let limbs first count =
        Expression.sum [ for i in 0 .. count - 1 -> lanes[first + i].Cur * fpPow2 (w * i) ]
    /// Tight top limb: a segment of `bits` bits in `count` limbs has its top limb in
    /// [0, 2^(bits − w·(count−1))): check 2^(w − r)·top ∈ [0, 2^w) as well. Both are integers
    /// below 2^w (the limb's own lookup) and the product is below 2^(2w) ≪ p, so the second
    /// lookup holds iff top < 2^r. The segment's limb sum is then an integer in [0, 2^bits),
    /// whatever w and count are: this is what every interval argument below relies on.
    let tightTop name (sel: Selector) (cols: AdviceColumn[]) first count bits =
        let r = bits - w * (count - 1)
        if count > 0 && r < w then
            b.Lookup(sprintf "%s top limb < 2^%d" name r, sel, [ cols[first + count - 1].Cur * fpPow2 (w - r), table ])
    let tight name sel first count bits = tightTop name sel lanes first count bits
    let unused (sel: Selector) used =
        [ for l in used .. p.Lanes - 1 -> sprintf "lane %d unused" l, sel.Expr * lanes[l].Cur ]
    // Weight rows: u = v + 2^(vb−1) = Σ limbs (vb bits, tight) and u ≠ 0 (u·inv = 1), i.e.
    // v ∈ [−2^(vb−1) + 1, 2^(vb−1) − 1] = ±value_bound exactly. The limbs are integers in
    // [0, 2^w) whose weighted sum is below 2^vb < p, so the field equation is an integer one.
    let u = v.Cur + fpPow2 (vb - 1)
    b.CreateGate(
        "weight bound",
        [ yield "u = limbs", qWeight.Expr * (u - limbs 0 p.WeightLimbs)
          yield "u != 0", qWeight.Expr * (u * inv.Cur - Expression.One)
          yield! unused qWeight p.WeightLimbs ])
    tight "weight" qWeight 0 p.WeightLimbs vb
    // Packing (Horner, most significant weight first within a group): pk = u' on the first
    // row of a group, pk = pk_prev·2^vb + u' after, with u' = v + value_bound ∈ [0, 2^vb − 1)
    // by the weight gate; a group of ≤ floor(250/vb) digits stays below 2^250 < p, so the
    // packed cell equals the integer the native packing produces.
    let uPrime = v.Cur + c (valueBound cfg)
    b.CreateGate("pack first", [ "pk = u'", qPack0.Expr * (q.Cur - uPrime) ])
    b.CreateGate("pack", [ "pk = pk_prev * 2^vb + u'", qPack.Expr * (q.Cur - q.Prev * fpPow2 vb - uPrime) ])
    // Dot rows: acc = (acc_prev) + Σ_d w_d·x_d. Field identities; the no-wrap bound of the
    // integer sum (validate) makes them integer identities once every operand is bounded.
    let products = Expression.sum [ for d in 0 .. p.DotWidth - 1 -> dotW[d].Cur * dotX[d].Cur ]
    b.CreateGate("dot first", [ "acc = sum", qDot0.Expr * (acc.Cur - products) ])
    b.CreateGate("dot", [ "acc = acc_prev + sum", qDot.Expr * (acc.Cur - acc.Prev - products) ])
    // Division rows: n = v + 2^(ib−1) = e' + c·2^(sb−1) + 2^sb·S with e' ∈ [0, 2^(sb−1)),
    // c ∈ {0,1}, S ∈ [0, 2^(ib−sb)) (tight), n ≠ 0; q = S − 2^(ib−1−sb) + c.
    // Every part is an integer in its interval, so n = e' + c·2^(sb−1) + 2^sb·S is an integer
    // in [1, 2^ib) < p: |v| ≤ 2^(ib−1) − 1 = intermediate_bound exactly (v as the integer the
    // no-wrap argument of docs/circuit.md gives). With M = 2^(ib−1−sb), v = 2^sb·(S − M) + e
    // where e = e' + c·2^(sb−1) ∈ [0, 2^sb), so div_round(v, 2^sb) = S − M + [e ≥ 2^(sb−1)]
    // = S − M + c = q (c is exactly the top bit of e because e' < 2^(sb−1)). For sb = 0,
    // c = 0 and q = v.
    let n = v.Cur + fpPow2 (ib - 1)
    let low = limbs 0 p.RemLimbs
    let high = limbs p.RemLimbs p.HighLimbs
    let carryTerm = if sb >= 1 then carry.Cur * fpPow2 (sb - 1) else Expression.Zero
    b.CreateGate(
        "division",
        [ yield "n = e' + c*2^(sb-1) + 2^sb*S", qDiv.Expr * (n - low - carryTerm - high * fpPow2 sb)
          yield "n != 0", qDiv.Expr * (n * inv.Cur - Expression.One)
          if sb >= 1 then yield "c boolean", qDiv.Expr * (carry.Cur * (Expression.One - carry.Cur))
          else yield "c = 0", qDiv.Expr * carry.Cur
          yield "q = S - 2^(ib-1-sb) + c", qDiv.Expr * (q.Cur - high + fpPow2 (ib - 1 - sb) - carry.Cur)
          yield! unused qDiv (p.RemLimbs + p.HighLimbs) ])
    if sb >= 2 then tight "remainder" qDiv 0 p.RemLimbs (sb - 1)
    tight "high part" qDiv p.RemLimbs p.HighLimbs (ib - sb)
    // Output rows (also division rows): v = Σ_{j<rank} B_kj·h_j; δ (acc, copied from the
    // instance) satisfies q·num + floor(den/2) = den·δ + e3 where e3 and den − 1 − e3 are
    // TIGHT segments of b = bits(den − 1) bits: integers in [0, 2^b). Their sum is below
    // 2^(b+1) < p, so e3 + (den − 1 − e3) = den − 1 holds over the integers and
    // e3 ∈ [0, den − 1]; with the no-wrap bound of the δ relation (`noWrapBounds`),
    // δ = div_round(q·num, den). (lora-circuit-v1 checked only that every limb was below
    // 2^w: with w·m ≥ 254 both segments could wrap and any δ verified.)
    let num, den = s.Scaling.Num, s.Scaling.Den
    let m = p.ScalingLimbs
    let scalLimbs first = Expression.sum [ for i in 0 .. m - 1 -> scal[first + i].Cur * fpPow2 (w * i) ]
    let rDot = Expression.sum [ for j in 0 .. s.Rank - 1 -> dotW[j].Cur * dotX[j].Cur ]
    b.CreateGate(
        "output",
        [ "r = sum_j B_kj h_j", qOut.Expr * (v.Cur - rDot)
          "q*num + floor(den/2) = den*delta + e3", qOut.Expr * (q.Cur * fpOf num + c (den / big 2) - acc.Cur * fpOf den - scalLimbs 0)
          "den - 1 - e3 = limbs", qOut.Expr * (c (den - BigInteger.One) - scalLimbs 0 - scalLimbs m) ])
    for i in 0 .. 2 * m - 1 do
        b.Lookup(sprintf "scaling remainder limb %d" i, qOut, [ scal[i].Cur, table ])
    let remBits = bitLength (den - BigInteger.One)
    tightTop "scaling remainder e3" qOut scal 0 m remBits
    tightTop "scaling remainder den-1-e3" qOut scal m m remBits
    let poseidon = PoseidonGadget.configure b p.Poseidon (Some consts)
    { Lanes = lanes; V = v; Carry = carry; Inv = inv; Q = q; DotW = dotW; DotX = dotX; Acc = acc; Scal = scal
      Table = table; Constants = consts; Instance = inst
      QRange = qRange; QWeight = qWeight; QPack0 = qPack0; QPack = qPack; QDot0 = qDot0; QDot = qDot
      QDiv = qDiv; QOut = qOut; Poseidon = poseidon }

// ---------------------------------------------------------------------------------------
// Synthesis

/// Limbs of a non-negative integer in base 2^w, `count` of them; the top limb takes all the
/// remaining high bits (so an out-of-range value gives an out-of-table limb). Negative
/// integers are first reduced mod p (giving huge limbs, rejected by the lookups).
let private toLimbs (w: int) (count: int) (v: BigInteger) =
    let v = if v.Sign < 0 then ((v % Fp.Modulus) + Fp.Modulus) % Fp.Modulus else v
    let mask = pow2 w - BigInteger.One
    Array.init count (fun i -> if i = count - 1 then v >>> (w * i) else (v >>> (w * i)) &&& mask)

let private invOf (v: BigInteger) = (fpOf v).TryInvert() |> function ValueSome i -> i | ValueNone -> Fp.Zero

/// The circuit for a plan and (optionally) a witness; without a witness it is the shape
/// used for key generation.
let circuit (p: LoraPlan) (wit: LoraWitness option) =
    let s = p.Shape
    let cfg = s.Config
    let w = p.LimbBits
    let known (f: LoraWitness -> BigInteger) = match wit with Some x -> Value.Known(fpOf (f x)) | None -> Value.Unknown
    let knownFp (f: LoraWitness -> Fp) = match wit with Some x -> Value.Known(f x) | None -> Value.Unknown
    { new ICircuit<LoraConfig> with
        member _.Configure b = configure p b
        member _.Synthesize(k, l) =
            l.AssignTable("range", fun t ->
                for i in 0 .. (1 <<< w) - 1 do t.AssignCell(k.Table, i, Fp.OfInt64(int64 i)))
            let assignLimbs (r: Region) (row: int) (first: int) (count: int) (f: LoraWitness -> BigInteger) =
                match wit with
                | Some x ->
                    let ls = toLimbs w count (f x)
                    for i in 0 .. count - 1 do r.AssignAdvice(k.Lanes[first + i], row, fpOf ls[i]) |> ignore
                | None ->
                    for i in 0 .. count - 1 do r.AssignAdvice(k.Lanes[first + i], row, Value.Unknown) |> ignore
            let zeroLanes (r: Region) row used =
                for i in used .. p.Lanes - 1 do r.AssignAdvice(k.Lanes[i], row, Fp.Zero) |> ignore
            // --- weights: A row-major then B row-major, packed in groups; each group laid out
            // most significant weight first (Horner).
            let nA = s.Rank * s.InDim
            let nW = nA + s.OutDim * s.Rank
            let weightOf (x: LoraWitness) i =
                if i < nA then x.A[i / s.InDim][i % s.InDim] else let j = i - nA in x.B[j / s.Rank][j % s.Rank]
            let weightCells = Array.zeroCreate<AssignedCell> nW
            let per = p.PackPerElement
            let groups = ceilDiv nW per
            let packed =
                Array.init groups (fun g ->
                    l.AssignRegion("weights", fun r ->
                        let last = min nW ((g + 1) * per) - 1
                        let mutable row = 0
                        let mutable pk = Unchecked.defaultof<AssignedCell>
                        for i in last .. -1 .. g * per do
                            r.EnableSelector(k.QRange, row)
                            r.EnableSelector(k.QWeight, row)
                            r.EnableSelector((if row = 0 then k.QPack0 else k.QPack), row)
                            let wv = known (fun x -> weightOf x i)
                            weightCells[i] <- r.AssignAdvice(k.V, row, wv)
                            assignLimbs r row 0 p.WeightLimbs (fun x -> weightOf x i + pow2 (cfg.ValueBits - 1))
                            zeroLanes r row p.WeightLimbs
                            r.AssignAdvice(k.Inv, row, knownFp (fun x -> invOf (weightOf x i + pow2 (cfg.ValueBits - 1)))) |> ignore
                            r.AssignAdvice(k.Carry, row, Fp.Zero) |> ignore
                            let u' = wv + fpOf (valueBound cfg)
                            pk <- r.AssignAdvice(k.Q, row, (if row = 0 then u' else pk.Value * fpPow2 cfg.ValueBits + u'))
                            row <- row + 1
                        pk))
            let aCell j i = weightCells[j * s.InDim + i]
            let bCell kk j = weightCells[nA + kk * s.Rank + j]
            // --- division rows: value copied in, decomposition, quotient out.
            let division (r: Region) (row: int) (valueCell: AssignedCell option) (d: LoraWitness -> Division) =
                r.EnableSelector(k.QRange, row)
                r.EnableSelector(k.QDiv, row)
                // raw_j arrives as a copy of its dot product's accumulator; r_k is assigned
                // here and tied to Σ B·h by the output gate on the same row.
                match valueCell with
                | Some src -> r.CopyAdvice(src, k.V, row) |> ignore
                | None -> r.AssignAdvice(k.V, row, known (fun x -> (d x).Value)) |> ignore
                assignLimbs r row 0 p.RemLimbs (fun x -> (d x).Low)
                assignLimbs r row p.RemLimbs p.HighLimbs (fun x -> (d x).High)
                zeroLanes r row (p.RemLimbs + p.HighLimbs)
                r.AssignAdvice(k.Carry, row, known (fun x -> (d x).Carry)) |> ignore
                r.AssignAdvice(k.Inv, row, knownFp (fun x -> invOf ((d x).Value + pow2 (cfg.IntermediateBits - 1)))) |> ignore
                r.AssignAdvice(k.Q, row, known (fun x -> (d x).Quotient))
            // --- raw_j = Σ_i A_ji x_ti, then h_j.
            let dw = p.DotWidth
            let hCells =
                Array.init s.Rows (fun t ->
                    Array.init s.Rank (fun j ->
                        let rawCell =
                            l.AssignRegion("raw dot", fun r ->
                                let rows = ceilDiv s.InDim dw
                                let mutable accCell = Unchecked.defaultof<AssignedCell>
                                for row in 0 .. rows - 1 do
                                    r.EnableSelector((if row = 0 then k.QDot0 else k.QDot), row)
                                    let mutable sum = Value.Known Fp.Zero
                                    for d in 0 .. dw - 1 do
                                        let i = row * dw + d
                                        if i < s.InDim then
                                            let a = r.CopyAdvice(aCell j i, k.DotW[d], row)
                                            let xv = r.AssignAdviceFromInstance(k.Instance, instanceRowOfX s t i, k.DotX[d], row)
                                            sum <- sum + a.Value * xv.Value
                                        else
                                            // Padding slot: the weight is pinned to the constant 0, so the
                                            // slot's product is 0 whatever the other cell holds.
                                            r.AssignAdviceFromConstant(k.DotW[d], row, Fp.Zero) |> ignore
                                            r.AssignAdvice(k.DotX[d], row, Fp.Zero) |> ignore
                                    accCell <- r.AssignAdvice(k.Acc, row, (if row = 0 then sum else accCell.Value + sum))
                                accCell)
                        l.AssignRegion("raw division", fun r -> division r 0 (Some rawCell) (fun x -> x.Raw[t][j]))))
            // --- output rows: r_k = Σ_j B_kj h_j, s_k, δ_k.
            for t in 0 .. s.Rows - 1 do
                for kk in 0 .. s.OutDim - 1 do
                    l.AssignRegion("output", fun r ->
                        r.EnableSelector(k.QOut, 0)
                        for j in 0 .. dw - 1 do
                            if j < s.Rank then
                                r.CopyAdvice(bCell kk j, k.DotW[j], 0) |> ignore
                                r.CopyAdvice(hCells[t][j], k.DotX[j], 0) |> ignore
                            else
                                r.AssignAdvice(k.DotW[j], 0, Fp.Zero) |> ignore
                                r.AssignAdvice(k.DotX[j], 0, Fp.Zero) |> ignore
                        division r 0 None (fun x -> x.Out[t][kk]) |> ignore
                        r.AssignAdviceFromInstance(k.Instance, instanceRowOfDelta s t kk, k.Acc, 0) |> ignore
                        let m = p.ScalingLimbs
                        match wit with
                        | Some x ->
                            let e3 = x.ScalingRem[t][kk]
                            let l1 = toLimbs w m e3
                            let l2 = toLimbs w m (s.Scaling.Den - BigInteger.One - e3)
                            for i in 0 .. m - 1 do
                                r.AssignAdvice(k.Scal[i], 0, fpOf l1[i]) |> ignore
                                r.AssignAdvice(k.Scal[m + i], 0, fpOf l2[i]) |> ignore
                        | None ->
                            for i in 0 .. 2 * m - 1 do r.AssignAdvice(k.Scal[i], 0, Value.Unknown) |> ignore)
            // --- header (constants), salt, digest halves; then the commitment hash.
            let header =
                l.AssignRegion("commitment header", fun r ->
                    let constants =
                        [| AdapterCommitment.tagElement AdapterCommitment.domainTag
                           Fp.OfInt64(int64 s.InDim); Fp.OfInt64(int64 s.Rank); Fp.OfInt64(int64 s.OutDim)
                           Fp.OfInt64(int64 cfg.ScaleBits); Fp.OfInt64(int64 cfg.ValueBits); Fp.OfInt64(int64 cfg.IntermediateBits)
                           fpOf s.Scaling.Num; fpOf s.Scaling.Den |]
                    let cells = constants |> Array.mapi (fun i cv -> r.AssignAdviceFromConstant(k.V, i, cv))
                    let salt = r.AssignAdvice(k.V, constants.Length, knownFp (fun x -> x.Salt))
                    // The digest halves enter the permutation argument (not only the transcript).
                    r.AssignAdviceFromInstance(k.Instance, 1, k.V, constants.Length + 1) |> ignore
                    r.AssignAdviceFromInstance(k.Instance, 2, k.V, constants.Length + 2) |> ignore
                    Array.append cells [| salt |])
            let out = PoseidonGadget.hash k.Poseidon l (Array.append header packed)
            l.ConstrainInstance(out.Cell, k.Instance, 0) }

/// Everything needed to prove one module call: the plan, the circuit with its witness,
/// and the public instance vector.
type LoraProofInput =
    { Plan: LoraPlan
      Witness: LoraWitness
      Commitment: Fp
      Instances: Fp[][] }

/// Builds the prover's input from the private weights and salt and the public x rows:
/// computes δ (FixedPoint.deltaRows), the commitment and the instance vector.
let build (s: LoraCircuitShape) (a: BigInteger[][]) (b: BigInteger[][]) (salt: Fp) (xs: BigInteger[][]) (digestHex: string)
    : Result<LoraProofInput, string> =
    result {
        let! p = plan s
        let s = p.Shape
        let! wit = witness s a b salt xs
        let! commitment =
            AdapterCommitment.commit { InDim = s.InDim; Rank = s.Rank; OutDim = s.OutDim } s.Config s.Scaling salt a b
        let! inst = instances s xs wit.Delta commitment digestHex
        return { Plan = p; Witness = wit; Commitment = commitment; Instances = inst }
    }
