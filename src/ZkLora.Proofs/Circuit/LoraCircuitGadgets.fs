/// The gates of the LoRA circuit (configuration: columns, lookups, each gate with its local
/// soundness argument) and its synthesis (assigning a witness to the plan's layout).
/// docs/circuit.md gives the layout and the full no-wrap argument.
module ZkLora.Proofs.Circuit.LoraCircuitGadgets

open System
open System.Numerics
open ZkLora.Math
open ZkLora.Math.Plonk
open ZkLora.Proofs
open ZkLora.Proofs.FixedPoint
open ZkLora.Math.Commitment
open ZkLora.Proofs.Circuit.LoraCircuit

open ZkLora.Proofs.Circuit.LoraCircuitWitness
open ZkLora.Proofs.Circuit.LoraCircuitInstances

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
