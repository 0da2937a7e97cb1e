/// The standard PLONK test circuit, shared by tests/ZkLora.Math.Tests (PlonkCircuits.fs) and the
/// `plonk` mode of bench/ZkLora.Bench (both link this file), so the benchmark measures the circuit
/// the proving-system tests check.
module ZkLora.Math.Testing.StandardCircuit

open ZkLora.Math
open ZkLora.Math.Plonk

/// Columns and selectors of `dotProduct`.
type DotConfig =
    { X: AdviceColumn
      A: AdviceColumn
      B: AdviceColumn
      C: AdviceColumn
      Q: Selector
      QFirst: Selector
      QL: Selector
      T: TableColumn
      Out: InstanceColumn }

/// A running dot product Σ x_i·w_i with byte-sized inputs (two range lookups into one 8-bit
/// table), x copied from a storage column (copy constraints), the running sum read at the
/// previous row, the total public (instance row 0). `cheat i v` may alter the running sum
/// written at step i (MockProver and soundness tests; `fun _ v -> v` for the honest circuit).
let dotProduct (xs: int64[]) (ws: int64[]) (cheat: int -> Value -> Value) =
    { new ICircuit<DotConfig> with
        member _.Configure b =
            let x, a, bb, c = b.AdviceColumn(), b.AdviceColumn(), b.AdviceColumn(), b.AdviceColumn()
            let q, qf, ql = b.Selector(), b.Selector(), b.Selector()
            let t = b.LookupTableColumn()
            let out = b.InstanceColumn()
            for col in [ x.Column; a.Column; c.Column; out.Column ] do b.EnableEquality col
            b.CreateGate("dot step", [ "c = a*b + c_prev", q.Expr * (a.Cur * bb.Cur + c.Prev - c.Cur) ])
            b.CreateGate("dot start", [ "c_0 = 0", qf.Expr * c.Cur ])
            b.Lookup("a is a byte", ql, [ a.Cur, t ])
            b.Lookup("b is a byte", ql, [ bb.Cur, t ])
            { X = x; A = a; B = bb; C = c; Q = q; QFirst = qf; QL = ql; T = t; Out = out }
        member _.Synthesize(cfg, l) =
            l.AssignTable("bytes", fun t -> for v in 0 .. 255 do t.AssignCell(cfg.T, v, Fp.OfInt64(int64 v)))
            let stored =
                l.AssignRegion("inputs", fun r -> Array.init xs.Length (fun i -> r.AssignAdvice(cfg.X, i, Value.ofInt64 xs[i])))
            let last =
                l.AssignRegion("dot", fun r ->
                    r.EnableSelector(cfg.QFirst, 0)
                    let mutable c = r.AssignAdvice(cfg.C, 0, Fp.Zero)
                    for i in 0 .. xs.Length - 1 do
                        r.EnableSelector(cfg.Q, i + 1)
                        r.EnableSelector(cfg.QL, i + 1)
                        let a = r.CopyAdvice(stored[i], cfg.A, i + 1)
                        let w = Value.ofInt64 ws[i]
                        r.AssignAdvice(cfg.B, i + 1, w) |> ignore
                        c <- r.AssignAdvice(cfg.C, i + 1, cheat i (a.Value * w + c.Value))
                    c)
            l.ConstrainInstance(last.Cell, cfg.Out, 0) }

/// The public output of `dotProduct`: Σ x_i·w_i.
let dotResult (xs: int64[]) (ws: int64[]) = Fp.OfInt64(Array.fold2 (fun acc x w -> acc + x * w) 0L xs ws)
