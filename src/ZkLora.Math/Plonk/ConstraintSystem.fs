namespace ZkLora.Math.Plonk

open System
open System.Collections.Generic


/// One custom gate: named constraints that must evaluate to zero at every row.
type Gate =
    { Name: string
      ConstraintNames: string[]
      /// As written by the circuit author (selectors still symbolic), for reports.
      Written: Expression[]
      /// With selectors replaced by their fixed columns: what is proved.
      Constraints: Expression[] }

/// One lookup: at every usable row (or, for a selected lookup, at every usable row where
/// its selector is on) the tuple of input expressions must equal some row of the table's
/// fixed columns.
type Lookup =
    { Name: string
      Written: Expression[]
      Inputs: Expression[]
      /// Fixed column of the selector of a selected lookup (None: every usable row).
      Selector: int option
      /// Fixed column indices of the table tuple.
      Table: int[]
      /// Index of the table group (lookups into the same table tuple share one).
      Group: int }

/// All lookups into one table tuple share one logUp argument: one multiplicity column,
/// one running-sum column, and one helper column per chunk of lookups (chunks are as
/// large as the circuit degree allows).
type LookupGroup =
    { Table: int[]
      Lookups: int[]
      /// Lookup indices handled by each helper column.
      Chunks: int[][] }

/// The finalized shape of a circuit: everything the keys and the proof depend on
/// except the fixed values and the copy constraints (which synthesis produces).
type ConstraintSystem =
    { NumAdvice: int
      /// Fixed columns including one per selector (selectors come last).
      NumFixed: int
      NumInstance: int
      NumSelectors: int
      /// Fixed column index of selector s is `SelectorBase + s`.
      SelectorBase: int
      Gates: Gate[]
      Lookups: Lookup[]
      LookupGroups: LookupGroup[]
      /// Columns taking part in the equality (permutation) argument, in enabling order.
      PermutationColumns: Column[]
      /// Fixed columns that hold circuit constants (equality-enabled).
      ConstantColumns: int[]
      /// Fixed columns declared as lookup tables.
      TableColumns: int[]
      /// Distinct (column, rotation) queries per kind, sorted.
      AdviceQueries: struct (int * int)[]
      FixedQueries: struct (int * int)[]
      InstanceQueries: struct (int * int)[]
      /// Maximum degree of any constraint the vanishing argument divides (≥ 3).
      Degree: int
      /// Rows at the end of every advice column filled with randomness (zero knowledge).
      BlindingFactors: int }

    /// Number of permutation columns per grand-product polynomial.
    member cs.PermutationChunkSize = cs.Degree - 2
    /// Number of permutation grand-product polynomials.
    member cs.PermutationChunks =
        let m = cs.PermutationColumns.Length
        if m = 0 then 0 else (m + cs.PermutationChunkSize - 1) / cs.PermutationChunkSize
    /// Rows that hold circuit data for n = 2^k: rows 0 .. n - BlindingFactors - 2.
    /// Row `UsableRows n` is the "last" row where the permutation and lookup running
    /// products are pinned; rows after it are blinding rows.
    member cs.UsableRows(n: int) = n - cs.BlindingFactors - 1
    /// Smallest k with enough rows for `rows` usable rows.
    member cs.MinimumK(rows: int) =
        let mutable k = 1
        while (1 <<< k) - cs.BlindingFactors - 1 < max rows 1 do k <- k + 1
        k

/// Configure-time builder: the circuit's `Configure` creates its columns, gates and
/// lookups here; `Finalize` freezes them into a `ConstraintSystem`.
[<Sealed; AllowNullLiteral>]
type ConstraintSystemBuilder() =
    let mutable numAdvice = 0
    let mutable numFixed = 0
    let mutable numInstance = 0
    let mutable numSelectors = 0
    let mutable minimumDegree = 3
    let gates = ResizeArray<string * (string * Expression)[]>()
    let lookups = ResizeArray<string * Selector option * (Expression * TableColumn)[]>()
    let equality = ResizeArray<Column>()
    let equalitySet = HashSet<Column>()
    let constants = ResizeArray<int>()
    let tables = SortedSet<int>()
    let fail fmt = Printf.ksprintf (fun s -> raise (CircuitException s)) fmt

    member _.AdviceColumn() =
        numAdvice <- numAdvice + 1
        AdviceColumn(numAdvice - 1)
    member _.FixedColumn() =
        numFixed <- numFixed + 1
        FixedColumn(numFixed - 1)
    member _.InstanceColumn() =
        numInstance <- numInstance + 1
        InstanceColumn(numInstance - 1)
    member _.Selector() =
        numSelectors <- numSelectors + 1
        Selector(numSelectors - 1)
    /// A fixed column reserved for a lookup table.
    member b.LookupTableColumn() =
        let c = b.FixedColumn()
        tables.Add c.Index |> ignore
        TableColumn c

    /// Lets cells of this column take part in copy constraints.
    member _.EnableEquality(c: Column) =
        let count =
            match c.Kind with
            | ColumnKind.Advice -> numAdvice
            | ColumnKind.Fixed -> numFixed
            | _ -> numInstance
        if c.Index < 0 || c.Index >= count then fail "EnableEquality: %O was not created by this builder" c
        if equalitySet.Add c then equality.Add c
    member b.EnableEquality(c: AdviceColumn) = b.EnableEquality c.Column
    member b.EnableEquality(c: FixedColumn) = b.EnableEquality c.Column
    member b.EnableEquality(c: InstanceColumn) = b.EnableEquality c.Column

    /// Uses a fixed column to hold constants (`Region.AssignAdviceFromConstant`,
    /// `Region.ConstrainConstant`); enables equality on it.
    /// A lookup table column cannot hold constants (see `Finalize`).
    member b.EnableConstant(c: FixedColumn) =
        if tables.Contains c.Index then
            fail "EnableConstant: %O is a lookup table column; constants need a fixed column of their own" c
        if not (constants.Contains c.Index) then constants.Add c.Index
        b.EnableEquality c

    /// A gate: every constraint must be zero at every row (multiply by a selector to
    /// restrict it to the rows a region enables).
    member _.CreateGate(name: string, constraints: (string * Expression) seq) =
        let cs = Array.ofSeq constraints
        if String.IsNullOrWhiteSpace name then fail "a gate needs a name"
        if cs.Length = 0 then fail "gate '%s' has no constraints" name
        gates.Add((name, cs))
    member b.CreateGate(name: string, constraints: Expression seq) =
        b.CreateGate(name, constraints |> Seq.mapi (fun i e -> (string i, e)))

    /// A lookup: at every usable row, the tuple (input_1, …, input_w) must be a row of the
    /// table tuple (table_1, …, table_w). Inputs are expressions (multiply by a selector and
    /// keep a default tuple such as 0 in the table to switch the lookup off on other rows).
    member private _.AddLookup(name: string, selector: Selector option, pairs: (Expression * TableColumn) seq) =
        let ps = Array.ofSeq pairs
        if String.IsNullOrWhiteSpace name then fail "a lookup needs a name"
        if ps.Length = 0 then fail "lookup '%s' has no inputs" name
        let cols = ps |> Array.map (fun (_, t) -> t.Fixed.Index)
        if (Array.distinct cols).Length <> cols.Length then fail "lookup '%s' uses a table column twice" name
        for c in cols do
            if not (tables.Contains c) then fail "lookup '%s': fixed[%d] is not a lookup table column" name c
        match selector with
        | Some s when s.Index < 0 || s.Index >= numSelectors -> fail "lookup '%s': selector %d was not created by this builder" name s.Index
        | _ -> ()
        lookups.Add((name, selector, ps))

    member b.Lookup(name: string, pairs: (Expression * TableColumn) seq) = b.AddLookup(name, None, pairs)

    /// A selected lookup: only rows where `selector` is enabled are looked up (other rows
    /// need no default entry in the table). Cheaper than multiplying the inputs by the
    /// selector: the logUp helper constraint h·(β - f) - q = 0 keeps degree 2 + deg f.
    member b.Lookup(name: string, selector: Selector, pairs: (Expression * TableColumn) seq) =
        b.AddLookup(name, Some selector, pairs)

    /// Raises the degree bound (to make room for future gates or wider permutation chunks).
    member _.SetMinimumDegree(d: int) =
        if d < 3 || d > 16 then fail "degree must be in 3..16"
        minimumDegree <- max minimumDegree d

    member _.Finalize() : ConstraintSystem =
        // Table and constants columns are disjoint. Security argument: synthesis places the
        // circuit's constants after the assigned rows of a constants column, and every value
        // of a table column's usable rows is a table entry; a column serving as both would
        // silently make every constant of the circuit (any field element the circuit names)
        // a valid lookup value — a 4-bit range check would accept 1 000 000.
        for c in constants do
            if tables.Contains c then
                fail "fixed[%d] is both a lookup table column and a constants column; constants need a fixed column of their own" c
        let selectorBase = numFixed
        let replace = Expression.replaceSelectors (fun s -> selectorBase + s)
        let checkColumns where (e: Expression) =
            for struct (c, r) in Expression.queries e do
                let count =
                    match c.Kind with
                    | ColumnKind.Advice -> numAdvice
                    | ColumnKind.Fixed -> numFixed
                    | _ -> numInstance
                if c.Index < 0 || c.Index >= count then fail "%s reads %O, which this builder did not create" where c
                if abs r > (1 <<< 20) then fail "%s: rotation %d is out of range" where r
            for s in Expression.selectors e do
                if s < 0 || s >= numSelectors then fail "%s reads selector %d, which this builder did not create" where s
        let gateArr =
            gates
            |> Seq.map (fun (name, cs) ->
                for (cn, e) in cs do checkColumns (sprintf "gate '%s' constraint '%s'" name cn) e
                { Name = name
                  ConstraintNames = cs |> Array.map fst
                  Written = cs |> Array.map snd
                  Constraints = cs |> Array.map (snd >> replace) })
            |> Array.ofSeq
        // Table groups keyed by the ordered tuple of table columns.
        let groupKeys = ResizeArray<int[]>()
        let groupOf (cols: int[]) =
            match Seq.tryFindIndex (fun (k: int[]) -> k = cols) groupKeys with
            | Some g -> g
            | None -> groupKeys.Add cols; groupKeys.Count - 1
        let lookupArr =
            lookups
            |> Seq.map (fun (name, sel: Selector option, ps) ->
                for (e, _) in ps do checkColumns (sprintf "lookup '%s'" name) e
                let table = ps |> Array.map (fun (_, t) -> t.Fixed.Index)
                { Name = name
                  Written = ps |> Array.map fst
                  Inputs = ps |> Array.map (fst >> replace)
                  Selector = sel |> Option.map (fun s -> selectorBase + s.Index)
                  Table = table
                  Group = groupOf table })
            |> Array.ofSeq
        let inputDegree (l: Lookup) = l.Inputs |> Array.map Expression.degree |> Array.max
        let gateDegree =
            if gateArr.Length = 0 then 0
            else gateArr |> Array.collect (fun g -> g.Constraints |> Array.map Expression.degree) |> Array.max
        // logUp helper constraint: l_active · (h · (β - f) - 1) has degree 2 + deg f.
        let lookupDegree = if lookupArr.Length = 0 then 0 else 2 + (lookupArr |> Array.map inputDegree |> Array.max)
        let degree = List.max [ minimumDegree; gateDegree; lookupDegree ]
        if degree > 16 then fail "constraint degree %d is above the supported maximum 16" degree
        let groups =
            groupKeys
            |> Seq.mapi (fun g table ->
                let members = lookupArr |> Array.indexed |> Array.filter (fun (_, l) -> l.Group = g) |> Array.map fst
                // Greedy chunks: one helper column sums 1/(β - f_i) over its chunk, with
                // constraint degree 2 + Σ deg f_i ≤ degree.
                let chunks = ResizeArray<int[]>()
                let cur = ResizeArray<int>()
                let mutable curDeg = 0
                for i in members do
                    let d = max 1 (inputDegree lookupArr[i])
                    if cur.Count > 0 && 2 + curDeg + d > degree then
                        chunks.Add(cur.ToArray()); cur.Clear(); curDeg <- 0
                    cur.Add i; curDeg <- curDeg + d
                if cur.Count > 0 then chunks.Add(cur.ToArray())
                { Table = table; Lookups = members; Chunks = chunks.ToArray() })
            |> Array.ofSeq
        // Queries: gates, lookups (inputs; table columns at the current row), permutation columns.
        let adv = SortedSet<struct (int * int)>()
        let fix = SortedSet<struct (int * int)>()
        let ins = SortedSet<struct (int * int)>()
        let addQuery (struct (c: Column, r: int)) =
            match c.Kind with
            | ColumnKind.Advice -> adv.Add(struct (c.Index, r)) |> ignore
            | ColumnKind.Fixed -> fix.Add(struct (c.Index, r)) |> ignore
            | _ -> ins.Add(struct (c.Index, r)) |> ignore
        for g in gateArr do
            for e in g.Constraints do Expression.queries e |> List.iter addQuery
        for l in lookupArr do
            for e in l.Inputs do Expression.queries e |> List.iter addQuery
            for t in l.Table do fix.Add(struct (t, 0)) |> ignore
            l.Selector |> Option.iter (fun s -> fix.Add(struct (s, 0)) |> ignore)
        for c in equality do addQuery (struct (c, 0))
        let rotationsPerAdvice =
            adv |> Seq.countBy (fun (struct (c, _)) -> c) |> Seq.map snd |> Seq.fold max 1
        { NumAdvice = numAdvice
          NumFixed = numFixed + numSelectors
          NumInstance = numInstance
          NumSelectors = numSelectors
          SelectorBase = selectorBase
          Gates = gateArr
          Lookups = lookupArr
          LookupGroups = groups
          PermutationColumns = equality.ToArray()
          ConstantColumns = constants.ToArray()
          TableColumns = Array.ofSeq tables
          AdviceQueries = Array.ofSeq adv
          FixedQueries = Array.ofSeq fix
          InstanceQueries = Array.ofSeq ins
          Degree = degree
          // Each advice column is revealed at ≤ rotationsPerAdvice points, the permutation
          // products at 3 and every polynomial once more inside the multipoint opening;
          // blinding rows must outnumber revealed evaluations (see Plonk/README notes).
          BlindingFactors = max 3 rotationsPerAdvice + 2 }
