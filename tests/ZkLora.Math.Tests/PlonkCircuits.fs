/// Small circuits used by the proving-system tests, written the way a circuit author
/// would (configure + synthesize through the layouter). Each takes an optional "cheat"
/// hook that corrupts one value, for MockProver and soundness tests.
module ZkLora.Math.Tests.PlonkCircuits

open ZkLora.Math
open ZkLora.Math.Plonk
open ZkLora.Math.Testing

let fp (v: int64) = Fp.OfInt64 v

/// x_{j+1} = x_j · w_j, one region per row; x_0 and the final x are public
/// (instance rows 0 and 1). `cheat row v` may alter the product written at chain step `row`.
type MulConfig =
    { A: AdviceColumn
      B: AdviceColumn
      C: AdviceColumn
      Q: Selector
      I: InstanceColumn }

let mulChainResult (x0: Fp) (ws: Fp[]) = ws |> Array.fold (*) x0

let mulChain (x0: Fp) (ws: Fp[]) (cheat: int -> Value -> Value) =
    { new ICircuit<MulConfig> with
        member _.Configure b =
            let a, bb, c = b.AdviceColumn(), b.AdviceColumn(), b.AdviceColumn()
            let q = b.Selector()
            let i = b.InstanceColumn()
            b.EnableEquality a
            b.EnableEquality c
            b.EnableEquality i
            b.CreateGate("mul", [ "c = a*b", q.Expr * (a.Cur * bb.Cur - c.Cur) ])
            { A = a; B = bb; C = c; Q = q; I = i }
        member _.Synthesize(cfg, l) =
            let mutable prev: AssignedCell option = None
            for j in 0 .. ws.Length - 1 do
                let out =
                    l.AssignRegion("mul", fun r ->
                        r.EnableSelector(cfg.Q, 0)
                        let a =
                            match prev with
                            | None -> r.AssignAdviceFromInstance(cfg.I, 0, cfg.A, 0)
                            | Some p -> r.CopyAdvice(p, cfg.A, 0)
                        let w = if r.HasWitness then Value.Known ws[j] else Value.Unknown
                        r.AssignAdvice(cfg.B, 0, w) |> ignore
                        r.AssignAdvice(cfg.C, 0, cheat j (a.Value * w)))
                prev <- Some out
            l.ConstrainInstance(prev.Value.Cell, cfg.I, 1) }

let noCheat (_: int) (v: Value) = v

/// Range checks through a lookup: each v_j must lie in [0, 2^bits) (table column), and
/// a running sum s_{j+1} = s_j + v_j uses the next-row rotation; the total is public.
/// A second lookup into the same table checks a shifted copy (v_j · 2 mod table), so
/// two lookups share one table argument.
type RangeConfig =
    { V: AdviceColumn
      S: AdviceColumn
      D: AdviceColumn
      QRange: Selector
      QSum: Selector
      T: TableColumn
      Out: InstanceColumn }

let rangeSum (bits: int) (vs: int64[]) (cheat: int -> Value -> Value) =
    { new ICircuit<RangeConfig> with
        member _.Configure b =
            let v, s, d = b.AdviceColumn(), b.AdviceColumn(), b.AdviceColumn()
            let qr, qs = b.Selector(), b.Selector()
            let t = b.LookupTableColumn()
            let out = b.InstanceColumn()
            b.EnableEquality s
            b.EnableEquality out
            b.EnableConstant(b.FixedColumn())
            b.Lookup("v in range", [ qr.Expr * v.Cur, t ])
            b.Lookup("d in range", [ qr.Expr * d.Cur, t ])
            b.CreateGate("running sum", [ "s' = s + v", qs.Expr * (s.Next - s.Cur - v.Cur) ])
            { V = v; S = s; D = d; QRange = qr; QSum = qs; T = t; Out = out }
        member _.Synthesize(cfg, l) =
            l.AssignTable("range", fun t ->
                for x in 0 .. (1 <<< bits) - 1 do t.AssignCell(cfg.T, x, fp (int64 x)))
            let last =
                l.AssignRegion("sum", fun r ->
                    let mutable s = r.AssignAdviceFromConstant(cfg.S, 0, Fp.Zero)
                    for j in 0 .. vs.Length - 1 do
                        r.EnableSelector(cfg.QRange, j)
                        r.EnableSelector(cfg.QSum, j)
                        let v = cheat j (Value.ofInt64 vs[j])
                        r.AssignAdvice(cfg.V, j, v) |> ignore
                        // d = (2·v) mod 2^bits, also range-checked (a second lookup, same table)
                        r.AssignAdvice(cfg.D, j, Value.ofInt64 ((2L * vs[j]) % (1L <<< bits))) |> ignore
                        s <- r.AssignAdvice(cfg.S, j + 1, s.Value + v)
                    s)
            l.ConstrainInstance(last.Cell, cfg.Out, 0) }

/// Many copy constraints across four columns: row j holds (a, b, c = a + b, d = c·a);
/// every cell is also copied to a "shuffled" row of another column in a second region.
type CopyConfig =
    { Cols: AdviceColumn[]
      Q: Selector }

let manyCopies (xs: Fp[]) (ys: Fp[]) (cheat: int -> Value -> Value) =
    { new ICircuit<CopyConfig> with
        member _.Configure b =
            let cols = Array.init 4 (fun _ -> b.AdviceColumn())
            let q = b.Selector()
            for c in cols do b.EnableEquality c
            b.CreateGate("add-mul", [ "c = a + b", q.Expr * (cols[0].Cur + cols[1].Cur - cols[2].Cur)
                                      "d = c * a", q.Expr * (cols[2].Cur * cols[0].Cur - cols[3].Cur) ])
            { Cols = cols; Q = q }
        member _.Synthesize(cfg, l) =
            let m = xs.Length
            let cells =
                l.AssignRegion("compute", fun r ->
                    Array.init m (fun j ->
                        r.EnableSelector(cfg.Q, j)
                        let a = r.AssignAdvice(cfg.Cols[0], j, xs[j])
                        let b = r.AssignAdvice(cfg.Cols[1], j, ys[j])
                        let c = r.AssignAdvice(cfg.Cols[2], j, a.Value + b.Value)
                        let d = r.AssignAdvice(cfg.Cols[3], j, cheat j (c.Value * a.Value))
                        [| a; b; c; d |]))
            // Copy every cell to column (i + 1) % 4 at a reversed row in a second region.
            l.AssignRegion("shuffle", fun r ->
                for j in 0 .. m - 1 do
                    for i in 0 .. 3 do
                        r.CopyAdvice(cells[j][i], cfg.Cols[(i + 1) % 4], (m - 1 - j) * 4 + i) |> ignore) }

/// Rotations: a Fibonacci-like recurrence a_{j+1} = a_j + a_{j-1} checked with prev/cur/next,
/// plus an arbitrary rotation: b_j = a_{j+3} (queried at +3). Public: a_0, a_1 and the last a.
type RotConfig =
    { A: AdviceColumn
      B: AdviceColumn
      Q: Selector
      QB: Selector
      I: InstanceColumn }

let fibSequence (a0: Fp) (a1: Fp) (len: int) =
    let a = Array.zeroCreate len
    a[0] <- a0
    a[1] <- a1
    for j in 2 .. len - 1 do a[j] <- a[j - 1] + a[j - 2]
    a

let rotations (a0: Fp) (a1: Fp) (len: int) (cheat: int -> Value -> Value) =
    { new ICircuit<RotConfig> with
        member _.Configure b =
            let a, bb = b.AdviceColumn(), b.AdviceColumn()
            let q, qb = b.Selector(), b.Selector()
            let i = b.InstanceColumn()
            b.EnableEquality a
            b.EnableEquality i
            b.CreateGate("fib", [ "a' = a + a_prev", q.Expr * (a.Next - a.Cur - a.Prev) ])
            b.CreateGate("shift", [ "b = a@+3", qb.Expr * (bb.Cur - a.Query 3) ])
            { A = a; B = bb; Q = q; QB = qb; I = i }
        member _.Synthesize(cfg, l) =
            let seq = fibSequence a0 a1 len
            l.AssignRegion("fib", fun r ->
                let cells = Array.init len (fun j -> r.AssignAdvice(cfg.A, j, cheat j (Value.Known seq[j])))
                for j in 1 .. len - 2 do r.EnableSelector(cfg.Q, j)
                for j in 0 .. len - 4 do
                    r.EnableSelector(cfg.QB, j)
                    r.AssignAdvice(cfg.B, j, seq[j + 3]) |> ignore
                r.ConstrainEqual(cells[0].Cell, { Region = -1; Offset = 0; Column = cfg.I.Column })
                r.ConstrainEqual(cells[1].Cell, { Region = -1; Offset = 1; Column = cfg.I.Column })
                r.ConstrainEqual(cells[len - 1].Cell, { Region = -1; Offset = 2; Column = cfg.I.Column })) }

/// Several instance values in two instance columns: y_j = x_j^2 + 7 for public x_j, y_j.
type SquareConfig =
    { X: AdviceColumn
      Y: AdviceColumn
      Q: Selector
      IX: InstanceColumn
      IY: InstanceColumn }

let squares (xs: Fp[]) (cheat: int -> Value -> Value) =
    { new ICircuit<SquareConfig> with
        member _.Configure b =
            let x, y = b.AdviceColumn(), b.AdviceColumn()
            let q = b.Selector()
            let ix, iy = b.InstanceColumn(), b.InstanceColumn()
            for c in [ x.Column; y.Column; ix.Column; iy.Column ] do b.EnableEquality c
            b.CreateGate("square", [ "y = x^2 + 7", q.Expr * (y.Cur - x.Cur * x.Cur - Expression.ofInt 7L) ])
            { X = x; Y = y; Q = q; IX = ix; IY = iy }
        member _.Synthesize(cfg, l) =
            for j in 0 .. xs.Length - 1 do
                l.AssignRegion("square", fun r ->
                    r.EnableSelector(cfg.Q, 0)
                    let x = r.AssignAdviceFromInstance(cfg.IX, j, cfg.X, 0)
                    let y = r.AssignAdvice(cfg.Y, 0, cheat j (x.Value * x.Value + fp 7L))
                    l.ConstrainInstance(y.Cell, cfg.IY, j)) }

let squaresInstances (xs: Fp[]) = [| xs; xs |> Array.map (fun x -> x * x + fp 7L) |]

/// The standard circuit (tests/Shared/StandardCircuit.fs, shared with bench/ZkLora.Bench's
/// `plonk` mode): a running dot product of byte-sized inputs.
let dotProduct (xs: int64[]) (ws: int64[]) (cheat: int -> Value -> Value) = StandardCircuit.dotProduct xs ws cheat

/// The public output of `dotProduct`.
let dotResult (xs: int64[]) (ws: int64[]) = StandardCircuit.dotResult xs ws
