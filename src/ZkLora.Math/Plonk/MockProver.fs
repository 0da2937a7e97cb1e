namespace ZkLora.Math.Plonk

open System
open System.Collections.Generic
open System.Text
open ZkLora.Math

/// A cell a failing constraint read: column, the query's rotation, the absolute row
/// and its value (None for a blinding row, whose value is random in a real proof).
type CellRead =
    { Column: Column
      Rotation: int
      Row: int
      Value: Fp option }

/// One reason an assignment does not satisfy its circuit.
type VerifyFailure =
    /// A gate constraint is non-zero at a row.
    | ConstraintNotSatisfied of
        gate: string * gateIndex: int * constraintIndex: int * constraintName: string * row: int * regions: string list * cells: CellRead list
    /// A gate constraint active at a row reads blinding rows (random in a real proof).
    | ConstraintReadsBlindingRows of
        gate: string * gateIndex: int * constraintIndex: int * constraintName: string * row: int * cells: CellRead list
    /// A lookup input tuple at a row is not a row of its table.
    | LookupNotSatisfied of lookup: string * lookupIndex: int * row: int * regions: string list * input: Fp list
    /// A lookup input reads blinding rows.
    | LookupReadsBlindingRows of lookup: string * lookupIndex: int * row: int
    /// Two copy-constrained cells hold different values.
    | CopyNotSatisfied of left: Column * leftRow: int * leftValue: Fp * right: Column * rightRow: int * rightValue: Fp
    /// A cell bound to an instance value holds a different value.
    | InstanceMismatch of cell: Column * cellRow: int * cellValue: Fp * instance: Column * instanceRow: int * instanceValue: Fp

    /// Which gate, lookup or copy failed and where (columns, rows, regions), with no cell
    /// values: safe to send to another party or a log (the prover's error uses it).
    override f.ToString() = f.Describe false

    /// The report with cell values when `withValues` is true. Values are witness data:
    /// use that form for local debugging only, never in a message that can leave the
    /// prover's machine (error frames, server logs).
    member f.Describe(withValues: bool) =
        let cells (cs: CellRead list) =
            cs
            |> List.map (fun c ->
                let rot = if c.Rotation = 0 then "" else sprintf "@%+d" c.Rotation
                match c.Value with
                | _ when not withValues -> sprintf "%O%s(row %d)" c.Column rot c.Row
                | Some v -> sprintf "%O%s(row %d) = %O" c.Column rot c.Row v
                | None -> sprintf "%O%s(row %d) = <blinding>" c.Column rot c.Row)
            |> String.concat ", "
        let regions (rs: string list) = if rs.IsEmpty then "" else sprintf " in region %s" (String.Join(", ", rs |> List.map (sprintf "'%s'")))
        let value (v: Fp) = if withValues then sprintf " = %O" v else ""
        match f with
        | ConstraintNotSatisfied(g, gi, ci, cn, row, rs, cs) ->
            sprintf "gate '%s' (#%d) constraint %d '%s' is not satisfied at row %d%s; it reads %s" g gi ci cn row (regions rs) (cells cs)
        | ConstraintReadsBlindingRows(g, gi, ci, cn, row, cs) ->
            sprintf "gate '%s' (#%d) constraint %d '%s' is active at row %d and reads blinding rows: %s" g gi ci cn row (cells cs)
        | LookupNotSatisfied(l, li, row, rs, input) ->
            if withValues then
                sprintf "lookup '%s' (#%d): input (%s) at row %d%s is not in the table" l li (input |> List.map string |> String.concat ", ") row (regions rs)
            else sprintf "lookup '%s' (#%d): the input at row %d%s is not in the table" l li row (regions rs)
        | LookupReadsBlindingRows(l, li, row) ->
            sprintf "lookup '%s' (#%d) reads blinding rows at row %d" l li row
        | CopyNotSatisfied(a, ra, va, b, rb, vb) ->
            sprintf "copy constraint: %O row %d%s and %O row %d%s differ" a ra (value va) b rb (value vb)
        | InstanceMismatch(a, ra, va, b, rb, vb) ->
            sprintf "instance mismatch: %O row %d%s differs from %O row %d%s" a ra (value va) b rb (value vb)

/// The MockProver: checks every gate, lookup and copy constraint of a concrete
/// assignment directly (no cryptography) and reports each failure precisely. The prover
/// runs the same check first and refuses to prove an unsatisfied assignment.
module MockProver =
    /// Cap on reported failures (a wrong witness can fail at every row).
    [<Literal>]
    let MaxFailures = 1000

    /// Field value or "poison" (a read of a blinding row, random in a real proof).
    /// Poison·0 = 0 (a disabled selector silences it); otherwise poison spreads.
    [<Struct>]
    type private Lattice =
        | Real of Fp
        | Poison

    let private regionsAt (a: Assignment) (row: int) =
        a.Regions
        |> Array.choose (fun (struct (name, start, height)) -> if row >= start && row < start + height then Some name else None)
        |> Array.distinct
        |> List.ofArray

    /// Evaluates an expression at a row. Products short-circuit on a zero left factor,
    /// so selector-gated constraints cost one read on rows where they are off.
    let rec private eval (a: Assignment) (row: int) (e: Expression) : Lattice =
        let n = a.N
        let at r = ((row + r) % n + n) % n
        match e with
        | Constant c -> Real c
        | Selector _ -> invalidOp "selectors are replaced by fixed columns before evaluation"
        | Fixed(c, r) -> Real(a.Fixed[c][at r])
        | Advice(c, r) -> let i = at r in if i >= a.Usable then Poison else Real(a.Advice[c][i])
        | Instance(c, r) -> Real(a.Instance[c][at r])
        | Negated x ->
            match eval a row x with
            | Real v -> Real(-v)
            | Poison -> Poison
        | Scaled(x, c) ->
            if c.IsZero then Real Fp.Zero
            else
                match eval a row x with
                | Real v -> Real(v * c)
                | Poison -> Poison
        | Sum(x, y) ->
            match eval a row x, eval a row y with
            | Real u, Real v -> Real(u + v)
            | _ -> Poison
        | Product(x, y) ->
            match eval a row x with
            | Real u when u.IsZero -> Real Fp.Zero
            | lx ->
                match lx, eval a row y with
                | _, Real v when v.IsZero -> Real Fp.Zero
                | Real u, Real v -> Real(u * v)
                | _ -> Poison

    let private reads (a: Assignment) (row: int) (e: Expression) : CellRead list =
        let n = a.N
        Expression.queries e
        |> List.map (fun (struct (c, rot)) ->
            let r = ((row + rot) % n + n) % n
            let v =
                match c.Kind with
                | ColumnKind.Advice -> if r >= a.Usable then None else Some(a.Advice[c.Index][r])
                | ColumnKind.Fixed -> Some(a.Fixed[c.Index][r])
                | _ -> Some(a.Instance[c.Index][r])
            { Column = c; Rotation = rot; Row = r; Value = v })

    let private cellValue (a: Assignment) (c: Column) (row: int) =
        match c.Kind with
        | ColumnKind.Advice -> a.Advice[c.Index][row]
        | ColumnKind.Fixed -> a.Fixed[c.Index][row]
        | _ -> a.Instance[c.Index][row]

    /// Tuples compared by value.
    type private TupleComparer() =
        interface IEqualityComparer<Fp[]> with
            member _.Equals(x, y) = x.Length = y.Length && Array.forall2 (fun (u: Fp) v -> u.Equals v) x y
            member _.GetHashCode x = x |> Array.fold (fun h v -> HashCode.Combine(h, v.GetHashCode())) 17

    /// Every failure of the assignment (at most `MaxFailures`), in a fixed order:
    /// gates (by gate, constraint, row), lookups (by lookup, row), copy constraints.
    let check (cs: ConstraintSystem) (a: Assignment) : VerifyFailure list =
        if a.Advice.Length <> cs.NumAdvice then invalidArg "a" "the assignment carries no witness"
        let failures = ResizeArray<VerifyFailure>()
        let full () = failures.Count >= MaxFailures
        // Gates over all n rows: gates are enforced on the whole domain by the vanishing
        // argument, so a gate left on over blinding rows is a failure too.
        for gi in 0 .. cs.Gates.Length - 1 do
            let g = cs.Gates[gi]
            for ci in 0 .. g.Constraints.Length - 1 do
                let e = g.Constraints[ci]
                let mutable row = 0
                while row < a.N && not (full ()) do
                    match eval a row e with
                    | Real v when v.IsZero -> ()
                    | Real _ ->
                        failures.Add(ConstraintNotSatisfied(g.Name, gi, ci, g.ConstraintNames[ci], row, regionsAt a row, reads a row e))
                    | Poison ->
                        failures.Add(ConstraintReadsBlindingRows(g.Name, gi, ci, g.ConstraintNames[ci], row, reads a row e))
                    row <- row + 1
        // Lookups over the usable rows (where the logUp running sum is enforced). Single-column
        // tables (the common range check) use a set of values, wider ones a set of tuples.
        let singles = Dictionary<int, HashSet<Fp>>()
        let tuples = Dictionary<int, HashSet<Fp[]>>()
        for gi in 0 .. cs.LookupGroups.Length - 1 do
            let g = cs.LookupGroups[gi]
            if g.Table.Length = 1 then
                let col = a.Fixed[g.Table[0]]
                let set = HashSet<Fp>()
                for r in 0 .. a.Usable - 1 do set.Add col[r] |> ignore
                singles[gi] <- set
            else
                let set = HashSet<Fp[]>(TupleComparer())
                for r in 0 .. a.Usable - 1 do
                    set.Add(g.Table |> Array.map (fun c -> a.Fixed[c][r])) |> ignore
                tuples[gi] <- set
        let report (l: Lookup) li row (vals: Lattice[]) =
            if vals |> Array.exists (function Poison -> true | Real _ -> false) then
                failures.Add(LookupReadsBlindingRows(l.Name, li, row))
            else
                let tuple = vals |> Array.map (function Real v -> v | Poison -> Fp.Zero)
                failures.Add(LookupNotSatisfied(l.Name, li, row, regionsAt a row, List.ofArray tuple))
        for li in 0 .. cs.Lookups.Length - 1 do
            let l = cs.Lookups[li]
            let selected =
                match l.Selector with
                | Some sel ->
                    let col: Fp[] = a.Fixed[sel]
                    fun (r: int) -> not col[r].IsZero
                | None -> fun _ -> true
            let mutable row = 0
            match singles.TryGetValue l.Group with
            | true, set ->
                let input = l.Inputs[0]
                while row < a.Usable && not (full ()) do
                    if selected row then
                        match eval a row input with
                        | Real v when set.Contains v -> ()
                        | v -> report l li row [| v |]
                    row <- row + 1
            | _ ->
                let set = tuples[l.Group]
                while row < a.Usable && not (full ()) do
                    if selected row then
                        let vals = l.Inputs |> Array.map (eval a row)
                        let ok =
                            not (vals |> Array.exists (function Poison -> true | Real _ -> false))
                            && set.Contains(vals |> Array.map (function Real v -> v | Poison -> Fp.Zero))
                        if not ok then report l li row vals
                    row <- row + 1
        // Copy constraints (and instance bindings).
        for struct (ca, ra, cb, rb) in a.Copies do
            if not (full ()) then
                let va = cellValue a ca ra
                let vb = cellValue a cb rb
                if not (va.Equals vb) then
                    if cb.Kind = ColumnKind.Instance && ca.Kind <> ColumnKind.Instance then
                        failures.Add(InstanceMismatch(ca, ra, va, cb, rb, vb))
                    elif ca.Kind = ColumnKind.Instance && cb.Kind <> ColumnKind.Instance then
                        failures.Add(InstanceMismatch(cb, rb, vb, ca, ra, va))
                    else failures.Add(CopyNotSatisfied(ca, ra, va, cb, rb, vb))
        List.ofSeq failures

    let private report (withValues: bool) (shown: int) (failures: VerifyFailure list) =
        let sb = StringBuilder()
        let total = failures.Length
        sb.AppendFormat("{0} constraint failure(s){1}:", total, (if total >= MaxFailures then " (report capped)" else "")) |> ignore
        for f in List.truncate shown failures do sb.Append("\n  ").Append(f.Describe withValues) |> ignore
        if total > shown then sb.AppendFormat("\n  … and {0} more", total - shown) |> ignore
        sb.ToString()

    /// Human-readable report of failures (one per line, capped at `shown`): which gate,
    /// lookup or copy failed at which row, never a cell value. The prover's error carries
    /// this report, so it may reach another party (error frames, server logs).
    let describe (shown: int) (failures: VerifyFailure list) = report false shown failures

    /// LOCAL DEBUGGING ONLY: `describe` with the values of the cells involved. The values
    /// are witness data; never put this report in a message that leaves the machine.
    let describeWithValues (shown: int) (failures: VerifyFailure list) = report true shown failures

    /// Synthesizes `circuit` with its witness at n = 2^k and checks it. Error for
    /// configuration/synthesis mistakes; Ok with the (possibly empty) failure list otherwise.
    let run (k: int) (circuit: ICircuit<'C>) (instances: Fp[][]) : Result<VerifyFailure list, string> =
        match Synthesis.configure circuit with
        | Error e -> Error e
        | Ok(cs, config) ->
            // the circuits keygen refuses do not exist for the MockProver either
            match ProofLayout.checkRotations cs k with
            | Error e -> Error e
            | Ok() ->
            match Synthesis.run cs config circuit k (Some instances) with
            | Error e -> Error e
            | Ok a -> Ok(check cs a)

    /// Ok when the assignment satisfies the circuit; Error with the report otherwise.
    let verify (k: int) (circuit: ICircuit<'C>) (instances: Fp[][]) : Result<unit, string> =
        match run k circuit instances with
        | Error e -> Error e
        | Ok [] -> Ok()
        | Ok failures -> Error(describe 20 failures)
