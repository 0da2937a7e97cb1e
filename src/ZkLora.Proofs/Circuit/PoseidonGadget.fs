/// The P128Pow5T3 Poseidon permutation and its ConstantLength sponge as PLONKish gates.
///
/// Layout, for a chosen number of full rounds per row f ∈ {1, 2, 4} and partial rounds per
/// row r ∈ {1, 2, 4, 7, 8, 14, 28, 56} (`PoseidonLayout`), one region per hash:
///
/// - advice c0..c2 hold the state at the start of each row; c3.. are scratch cells;
/// - a FULL row does f full rounds. Round i (input state y: the row's state for i = 0,
///   else the three "mid" cells written by round i − 1) has square cells
///   sq_j = (y_j + k_ij)^2 (checked), S-box sq_j^2·(y_j + k_ij) = (y_j + k_ij)^5, and output
///   M·S-box, which is the next mid cells (checked) or, for the last round, the next row's
///   state (checked). Scratch use: 6f − 3 cells;
/// - a PARTIAL row does r partial rounds. Words 1 and 2 are carried as linear expressions;
///   word 0 of round i ≥ 1 is a cell a_i (checked against its expression); each round has
///   one square cell sq_i = (a_i + k_i0)^2 (checked). The last round's output is the next
///   row's state (checked). Scratch use: 2r − 1 cells;
/// - an ABSORB row holds message words m0, m1 in c3, c4; the next row's state is
///   s + (m0, m1, 0).
///
/// Round constants k sit in fixed columns, three per round of the row. Every gate has
/// degree ≤ 4 (S-box degree 3 through the square cell, times the selector), so the circuit
/// quotient needs 4 coset parts. A hash of L elements takes P = ceil(L/2) permutations and
/// P·(8/f + 56/r + 1) + 1 rows: an initial absorb row whose state is the constant
/// (0, 0, L·2^64), then per permutation 4/f full rows, 56/r partial rows, 4/f full rows,
/// and the row holding its output (which is also the next permutation's absorb row).
///
/// Soundness: every cell of a hash region except the message cells is determined by the
/// gates from the row's state (square cells and intermediate cells are checked as
/// equalities, not derived, so a prover has no freedom), and the next row's state is
/// determined by the row. By induction the state cells equal the textbook Poseidon rounds
/// (`Pow5T3.PermuteReference`) applied to the initial constant state and the message, and
/// the output cell is `Poseidon.hash`. The initial state is pinned to constants (copy
/// constraints to the constants column), odd-length padding words are pinned to zero the
/// same way, and message cells are copies of the caller's cells, so nothing else enters
/// the sponge.
module ZkLora.Proofs.Circuit.PoseidonGadget

open System.Numerics
open ZkLora.Math
open ZkLora.Math.Hash
open ZkLora.Math.Plonk

/// Rounds per row.
type PoseidonLayout =
    { FullPerRow: int
      PartialPerRow: int }

/// One round per full row, two partial rounds per row: 6 advice columns, 37 rows per permutation.
let narrow = { FullPerRow = 1; PartialPerRow = 2 }

/// Two full / four partial rounds per row: 12 advice columns, 19 rows per permutation.
let wide = { FullPerRow = 2; PartialPerRow = 4 }

let private halfFull = 4
let private partialRounds = 56

let private checkLayout (l: PoseidonLayout) =
    if l.FullPerRow < 1 || halfFull % l.FullPerRow <> 0 || l.PartialPerRow < 1 || partialRounds % l.PartialPerRow <> 0 then
        invalidArg "layout" "full rounds per row must divide 4 and partial rounds per row must divide 56"

/// Advice columns the layout needs (state + scratch; at least 5 for the absorb row).
let adviceColumns (l: PoseidonLayout) =
    checkLayout l
    max 5 (max (6 * l.FullPerRow) (2 * l.PartialPerRow + 2))

/// Rows per permutation (including the output / next absorb row).
let rowsPerPermutation (l: PoseidonLayout) =
    checkLayout l
    2 * halfFull / l.FullPerRow + partialRounds / l.PartialPerRow + 1

/// Rows one hash of `length` ≥ 1 elements occupies.
let rowsForHashWith (l: PoseidonLayout) (length: int) =
    if length < 1 then invalidArg "length" "a ConstantLength hash needs at least one element"
    rowsPerPermutation l * ((length + 1) / 2) + 1

/// Columns and selectors of the gadget.
type PoseidonConfig =
    { Layout: PoseidonLayout
      /// c0..c2: the state; c3..: scratch (squares, intermediate words, message words).
      Cols: AdviceColumn[]
      /// Three round constants per round of a row.
      RoundConstants: FixedColumn[]
      QFull: Selector
      QPartial: Selector
      QAbsorb: Selector
      /// Constants column (initial capacity word, zero padding).
      Constants: FixedColumn }

/// Declares the gadget's columns and gates. `constants` is a fixed column shared with the
/// rest of the circuit (enabled as a constants column here), or None to create one.
let configure (b: ConstraintSystemBuilder) (layout: PoseidonLayout) (constants: FixedColumn option) : PoseidonConfig =
    let f, r = layout.FullPerRow, layout.PartialPerRow
    let c = Array.init (adviceColumns layout) (fun _ -> b.AdviceColumn())
    let k = Array.init (3 * max f r) (fun _ -> b.FixedColumn())
    let qF, qP, qA = b.Selector(), b.Selector(), b.Selector()
    let consts =
        match constants with
        | Some col -> col
        | None -> b.FixedColumn()
    b.EnableConstant consts
    // State cells carry the initial constants and the output; message cells are copied in.
    for i in 0 .. 4 do b.EnableEquality c[i]
    let m = (Poseidon.constants ()).Mds
    let mds i (x: Expression[]) = Expression.sum [ for j in 0 .. 2 -> Expression.constant (m[i][j]) * x[j] ]
    let cur (i: int) = c[i].Cur
    let next (i: int) = c[i].Next
    let rc (round: int) (j: int) = k[3 * round + j].Cur
    // Full rows. Round i reads y (state cells or the previous round's mid cells) and writes
    // squares at 3 + 6i .. 3 + 6i + 2 and mid cells at 3 + 6i + 3 .. + 5 (not for the last).
    let fullConstraints = ResizeArray<string * Expression>()
    let mutable y = [| cur 0; cur 1; cur 2 |]
    for i in 0 .. f - 1 do
        let sqCol j = 3 + 6 * i + j
        for j in 0 .. 2 do
            fullConstraints.Add(sprintf "r%d sq%d" i j, qF.Expr * (cur (sqCol j) - (y[j] + rc i j) * (y[j] + rc i j)))
        let yi = y
        let sbox = Array.init 3 (fun j -> cur (sqCol j) * cur (sqCol j) * (yi[j] + rc i j))
        let out = Array.init 3 (fun row -> mds row sbox)
        if i < f - 1 then
            let midCol j = 3 + 6 * i + 3 + j
            for j in 0 .. 2 do fullConstraints.Add(sprintf "r%d mid%d" i j, qF.Expr * (cur (midCol j) - out[j]))
            y <- Array.init 3 (fun j -> cur (midCol j))
        else
            for j in 0 .. 2 do fullConstraints.Add(sprintf "next%d" j, qF.Expr * (next j - out[j]))
    b.CreateGate("poseidon full rounds", fullConstraints)
    // Partial rows. Round i: a_i (cell: c0 for i = 0, else column 2 + 2i), square at 3 + 2i.
    let partialConstraints = ResizeArray<string * Expression>()
    let mutable a = cur 0
    let mutable bw = cur 1
    let mutable cw = cur 2
    for i in 0 .. r - 1 do
        let sq = cur (3 + 2 * i)
        partialConstraints.Add(sprintf "r%d sq" i, qP.Expr * (sq - (a + rc i 0) * (a + rc i 0)))
        let input = [| sq * sq * (a + rc i 0); bw + rc i 1; cw + rc i 2 |]
        let out = Array.init 3 (fun row -> mds row input)
        if i < r - 1 then
            let aCell = cur (4 + 2 * i)
            partialConstraints.Add(sprintf "r%d a" (i + 1), qP.Expr * (aCell - out[0]))
            a <- aCell
            bw <- out[1]
            cw <- out[2]
        else
            for j in 0 .. 2 do partialConstraints.Add(sprintf "next%d" j, qP.Expr * (next j - out[j]))
    b.CreateGate("poseidon partial rounds", partialConstraints)
    // Absorb: s' = s + (m0, m1, 0). Linear, the next state is determined.
    b.CreateGate(
        "poseidon absorb",
        [ "next0", qA.Expr * (next 0 - cur 0 - cur 3)
          "next1", qA.Expr * (next 1 - cur 1 - cur 4)
          "next2", qA.Expr * (next 2 - cur 2) ])
    { Layout = layout; Cols = c; RoundConstants = k; QFull = qF; QPartial = qP; QAbsorb = qA; Constants = consts }

let private pow5 (v: Fp) = let v2 = v * v in v2 * v2 * v

/// Hashes `message` (assigned cells, in order; at least one) in a new region and returns
/// the cell holding `Poseidon.hash message`. Message cells are copied into the region, so
/// their columns need equality enabled.
let hash (cfg: PoseidonConfig) (layouter: Layouter) (message: AssignedCell[]) : AssignedCell =
    let len = message.Length
    if len < 1 then invalidArg "message" "a ConstantLength hash needs at least one element"
    let f, pr = cfg.Layout.FullPerRow, cfg.Layout.PartialPerRow
    let consts = Poseidon.constants ()
    let rc = consts.RoundConstants
    let m = consts.Mds
    let c = cfg.Cols
    let mulMds (v: Value[]) = Array.init 3 (fun i -> Value.sum [ for j in 0 .. 2 -> v[j] * m[i][j] ])
    let pow5v (v: Value) = v.Map pow5
    let sqv (v: Value) = v * v
    layouter.AssignRegion("poseidon hash", fun r ->
        let setConstants (row: int) (slot: int) (round: int) =
            for j in 0 .. 2 do r.AssignFixed(cfg.RoundConstants[3 * slot + j], row, rc[round][j]) |> ignore
        // Row 0: the constant initial state.
        let capacity = Fp.OfBigInteger(BigInteger len <<< 64)
        let mutable state =
            [| r.AssignAdviceFromConstant(c[0], 0, Fp.Zero)
               r.AssignAdviceFromConstant(c[1], 0, Fp.Zero)
               r.AssignAdviceFromConstant(c[2], 0, capacity) |]
            |> Array.map (fun a -> a.Value)
        let mutable row = 0
        let mutable lastCell = Unchecked.defaultof<AssignedCell>
        let writeState () =
            for i in 0 .. 2 do
                let cell = r.AssignAdvice(c[i], row, state[i])
                if i = 0 then lastCell <- cell
        let fullRow (first: int) =
            r.EnableSelector(cfg.QFull, row)
            for i in 0 .. f - 1 do
                let round = first + i
                setConstants row i round
                let y = Array.init 3 (fun j -> state[j] + rc[round][j])
                for j in 0 .. 2 do r.AssignAdvice(c[3 + 6 * i + j], row, sqv y[j]) |> ignore
                state <- mulMds (y |> Array.map pow5v)
                if i < f - 1 then
                    for j in 0 .. 2 do r.AssignAdvice(c[3 + 6 * i + 3 + j], row, state[j]) |> ignore
            row <- row + 1
            writeState ()
        let partialRow (first: int) =
            r.EnableSelector(cfg.QPartial, row)
            for i in 0 .. pr - 1 do
                let round = first + i
                setConstants row i round
                if i > 0 then r.AssignAdvice(c[2 + 2 * i], row, state[0]) |> ignore
                let y0 = state[0] + rc[round][0]
                r.AssignAdvice(c[3 + 2 * i], row, sqv y0) |> ignore
                state <- mulMds [| pow5v y0; state[1] + rc[round][1]; state[2] + rc[round][2] |]
            row <- row + 1
            writeState ()
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
            writeState ()
            for first in 0 .. f .. halfFull - 1 do fullRow first
            for first in halfFull .. pr .. halfFull + partialRounds - 1 do partialRow first
            for first in halfFull + partialRounds .. f .. 2 * halfFull + partialRounds - 1 do fullRow first
        lastCell)
