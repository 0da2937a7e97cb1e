/// The P128Pow5T3 Poseidon permutation and its ConstantLength sponge as PLONKish gates.
///
/// Layout (six advice columns c0..c5, six fixed round-constant columns, four selectors),
/// one region per hash, one row per full round and one row per PAIR of partial rounds:
///
///   row kind      c0 c1 c2 (state s)   c3            c4            c5
///   absorb        s0 s1 s2             message m0    message m1    –
///   full round    s0 s1 s2             (s0+k0)^2     (s1+k1)^2     (s2+k2)^2
///   partial pair  s0 s1 s2             (s0+k0)^2     t0            (t0+k'0)^2
///
/// where k = round constants of the row's round (fixed f0..f2), k' those of the second
/// round of a partial pair (fixed f3..f5), and t0 the first word of the state between the
/// two partial rounds. The state of the next row is the state after the row's round(s)
/// (for an absorb row: s + (m0, m1, 0)). A hash of L elements takes P = ceil(L/2)
/// permutations and 37·P + 1 rows: an initial absorb row whose state is the constant
/// (0, 0, L·2^64), then for each permutation 4 full rows, 28 partial-pair rows, 4 full rows,
/// and the row holding its output (which is also the next permutation's absorb row).
///
/// The S-box x^5 is split as x^5 = (x^2)^2 · x with x^2 in an advice cell, so every gate has
/// degree ≤ 4 (selector included) and the circuit's quotient needs 4 coset parts, not 8.
///
/// Soundness: every cell of a hash region except the message cells is determined by the
/// gates from the previous row: the square cells by their "sq" constraints, t0 by "mid",
/// and the next state by "next". Squares are checked as equalities, not derived, so a
/// prover has no freedom: by induction over the rows the state cells equal the textbook
/// Poseidon rounds (the reference round function of `Pow5T3.PermuteReference`) applied to
/// the initial constant state and the message, and the output cell is `Poseidon.hash`.
/// The initial state is pinned to constants (copy constraints to the constants column),
/// odd-length padding words are pinned to zero the same way, and message cells are copied
/// from the caller's cells, so nothing else enters the sponge.
module ZkLora.Proofs.Circuit.PoseidonGadget

open System.Numerics
open ZkLora.Math
open ZkLora.Math.Hash
open ZkLora.Math.Plonk

/// Columns and selectors of the gadget.
type PoseidonConfig =
    { /// c0..c2: the state; c3..c5: squares / intermediate / message words.
      Cols: AdviceColumn[]
      /// f0..f2: round constants of the row's round; f3..f5: of the second partial round.
      RoundConstants: FixedColumn[]
      QFull: Selector
      QPartial: Selector
      QAbsorb: Selector
      /// Constants column (initial capacity word, zero padding).
      Constants: FixedColumn }

/// Rows one hash of `length` ≥ 1 elements occupies.
let rowsForHash (length: int) =
    if length < 1 then invalidArg "length" "a ConstantLength hash needs at least one element"
    37 * ((length + 1) / 2) + 1

let private halfFull = 4
let private partialRounds = 56

/// Declares the gadget's columns and gates. `constants` is a fixed column already enabled
/// as a constants column (shared with the rest of the circuit), or None to create one.
let configure (b: ConstraintSystemBuilder) (constants: FixedColumn option) : PoseidonConfig =
    let c = Array.init 6 (fun _ -> b.AdviceColumn())
    let f = Array.init 6 (fun _ -> b.FixedColumn())
    let qF, qP, qA = b.Selector(), b.Selector(), b.Selector()
    let consts =
        match constants with
        | Some col -> col
        | None -> b.FixedColumn()
    b.EnableConstant consts
    // State cells carry the initial constants and the output; message cells are copied in.
    for i in 0 .. 4 do b.EnableEquality c[i]
    let m = (Poseidon.constants ()).Mds
    let k (i: int) = f[i].Cur
    let s (i: int) = c[i].Cur
    let next (i: int) = c[i].Next
    let mds i (x: Expression[]) = Expression.sum [ for j in 0 .. 2 -> Expression.constant (m[i][j]) * x[j] ]
    // Full round: sq_j = (s_j + k_j)^2 and s'_i = Σ_j M_ij · sq_j^2 · (s_j + k_j).
    // Soundness: sq_j is forced to the square, so sq_j^2·(s_j+k_j) = (s_j+k_j)^5 and s' is
    // exactly M·S(s + k), the textbook full round.
    let sq = [| c[3]; c[4]; c[5] |]
    let sbox = Array.init 3 (fun j -> sq[j].Cur * sq[j].Cur * (s j + k j))
    b.CreateGate(
        "poseidon full round",
        [ for j in 0 .. 2 -> sprintf "sq%d" j, qF.Expr * (sq[j].Cur - (s j + k j) * (s j + k j))
          for i in 0 .. 2 -> sprintf "next%d" i, qF.Expr * (next i - mds i sbox) ])
    // Partial pair: first round's S-box on word 0 only: x = sq0^2·(s0 + k0), y_j = s_j + k_j
    // (j = 1, 2); t = M·(x, y1, y2) with t0 in cell c4 (checked), t1, t2 as expressions; the
    // second round: x' = sqB^2·(t0 + k'0) with sqB = (t0 + k'0)^2 in c5 (checked), and
    // s' = M·(x', t1 + k'1, t2 + k'2). Soundness: each checked cell is a function of the
    // row's state, so s' is exactly two textbook partial rounds.
    let x = c[3].Cur * c[3].Cur * (s 0 + k 0)
    let first = [| x; s 1 + k 1; s 2 + k 2 |]
    let t = Array.init 3 (fun i -> mds i first)
    let t0 = c[4].Cur
    let second = [| c[5].Cur * c[5].Cur * (t0 + k 3); t[1] + k 4; t[2] + k 5 |]
    b.CreateGate(
        "poseidon partial rounds",
        [ yield "sqA", qP.Expr * (c[3].Cur - (s 0 + k 0) * (s 0 + k 0))
          yield "mid", qP.Expr * (t0 - t[0])
          yield "sqB", qP.Expr * (c[5].Cur - (t0 + k 3) * (t0 + k 3))
          for i in 0 .. 2 -> sprintf "next%d" i, qP.Expr * (next i - mds i second) ])
    // Absorb: s' = s + (m0, m1, 0). Soundness: linear, the next state is determined.
    b.CreateGate(
        "poseidon absorb",
        [ "next0", qA.Expr * (next 0 - s 0 - c[3].Cur)
          "next1", qA.Expr * (next 1 - s 1 - c[4].Cur)
          "next2", qA.Expr * (next 2 - s 2) ])
    { Cols = c; RoundConstants = f; QFull = qF; QPartial = qP; QAbsorb = qA; Constants = consts }

let private pow5 (v: Fp) = let v2 = v * v in v2 * v2 * v

/// Hashes `message` (assigned cells, in order; at least one) in a new region and returns
/// the cell holding `Poseidon.hash message`. Message cells are copied into the region, so
/// their columns need equality enabled.
let hash (cfg: PoseidonConfig) (layouter: Layouter) (message: AssignedCell[]) : AssignedCell =
    let len = message.Length
    if len < 1 then invalidArg "message" "a ConstantLength hash needs at least one element"
    let consts = Poseidon.constants ()
    let rc = consts.RoundConstants
    let m = consts.Mds
    let c = cfg.Cols
    let mulMds (v: Value[]) =
        Array.init 3 (fun i -> Value.sum [ for j in 0 .. 2 -> v[j] * m[i][j] ])
    let pow5v (v: Value) = v.Map pow5
    let sqv (v: Value) = v * v
    layouter.AssignRegion("poseidon hash", fun r ->
        let setFixedRound (row: int) (round: int) (first: int) =
            for j in 0 .. 2 do r.AssignFixed(cfg.RoundConstants[first + j], row, rc[round][j]) |> ignore
        // Row 0: the constant initial state.
        let capacity = Fp.OfBigInteger(BigInteger len <<< 64)
        let mutable state =
            [| r.AssignAdviceFromConstant(c[0], 0, Fp.Zero)
               r.AssignAdviceFromConstant(c[1], 0, Fp.Zero)
               r.AssignAdviceFromConstant(c[2], 0, capacity) |]
            |> Array.map (fun a -> a.Value)
        let mutable row = 0
        let mutable lastCell = Unchecked.defaultof<AssignedCell>
        let perms = (len + 1) / 2
        for p in 0 .. perms - 1 do
            // Absorb row: state already in c0..c2 at `row`; message words into c3, c4.
            r.EnableSelector(cfg.QAbsorb, row)
            let m0 = r.CopyAdvice(message[2 * p], c[3], row)
            let m1 =
                if 2 * p + 1 < len then r.CopyAdvice(message[2 * p + 1], c[4], row)
                else r.AssignAdviceFromConstant(c[4], row, Fp.Zero)
            state <- [| state[0] + m0.Value; state[1] + m1.Value; state[2] |]
            row <- row + 1
            let writeState () =
                for i in 0 .. 2 do
                    let cell = r.AssignAdvice(c[i], row, state[i])
                    if i = 0 then lastCell <- cell
            writeState ()
            let fullRound (round: int) =
                r.EnableSelector(cfg.QFull, row)
                setFixedRound row round 0
                let y = Array.init 3 (fun j -> state[j] + rc[round][j])
                for j in 0 .. 2 do r.AssignAdvice(c[3 + j], row, sqv y[j]) |> ignore
                state <- mulMds (y |> Array.map pow5v)
                row <- row + 1
                writeState ()
            for round in 0 .. halfFull - 1 do fullRound round
            for pair in 0 .. partialRounds / 2 - 1 do
                let ra = halfFull + 2 * pair
                let rb = ra + 1
                r.EnableSelector(cfg.QPartial, row)
                setFixedRound row ra 0
                setFixedRound row rb 3
                let y0 = state[0] + rc[ra][0]
                r.AssignAdvice(c[3], row, sqv y0) |> ignore
                let tt = mulMds [| pow5v y0; state[1] + rc[ra][1]; state[2] + rc[ra][2] |]
                r.AssignAdvice(c[4], row, tt[0]) |> ignore
                let z0 = tt[0] + rc[rb][0]
                r.AssignAdvice(c[5], row, sqv z0) |> ignore
                state <- mulMds [| pow5v z0; tt[1] + rc[rb][1]; tt[2] + rc[rb][2] |]
                row <- row + 1
                writeState ()
            for round in halfFull + partialRounds .. 2 * halfFull + partialRounds - 1 do fullRound round
        lastCell)
