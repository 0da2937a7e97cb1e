namespace ZkLora.Math.Plonk

open System
open System.Collections.Generic
open ZkLora.Math

/// A cell handle. Cells of a region are relative to the region's start row, which the
/// layouter only fixes once the region's shape is known; `Region = -1` marks an absolute
/// row (instance cells, constants, tables).
[<Struct>]
type Cell =
    { Region: int
      Offset: int
      Column: Column }
    override c.ToString() =
        if c.Region < 0 then sprintf "%O row %d" c.Column c.Offset
        else sprintf "%O region %d offset %d" c.Column c.Region c.Offset

/// A cell together with the value assigned to it (unknown during key generation).
[<Struct>]
type AssignedCell =
    { Cell: Cell
      Value: Value }

/// The concrete result of synthesizing a circuit for n = 2^K rows.
type Assignment =
    { K: int
      N: int
      /// Rows 0 .. Usable-1 hold circuit data; row Usable and later are blinding rows.
      Usable: int
      /// Advice values (n per column; rows ≥ Usable are zero here and filled with
      /// randomness by the prover). Empty when synthesized without a witness.
      Advice: Fp[][]
      /// Fixed values, n per column, selectors included, tables padded.
      Fixed: Fp[][]
      /// Instance values, n per column (zero padded).
      Instance: Fp[][]
      /// Copy constraints between absolute cells (column, row).
      Copies: struct (Column * int * Column * int)[]
      /// Highest row used + 1 (before blinding).
      RowsUsed: int
      /// Regions as laid out: name, first row, height (for reports).
      Regions: struct (string * int * int)[] }

/// A growable column of field elements (synthesis does not know n in advance).
type internal GrowableColumn() =
    let mutable data: Fp[] = Array.zeroCreate 16
    let mutable length = 0
    member _.Length = length
    member _.Set(row: int, v: Fp) =
        if row >= data.Length then
            let bigger = Array.zeroCreate (max (row + 1) (data.Length * 2))
            Array.blit data 0 bigger 0 length
            data <- bigger
        data[row] <- v
        if row >= length then length <- row + 1
    member _.Get(row: int) = if row < length then data[row] else Fp.Zero
    member _.ToArray(n: int) =
        let out = Array.zeroCreate n
        Array.blit data 0 out 0 (min length n)
        out

/// Shared mutable state of one synthesis run. Everything public goes through
/// `Layouter`, `Region` and `Table`.
type internal Synthesizer(cs: ConstraintSystem, instances: Fp[][], withWitness: bool) =
    let advice = Array.init cs.NumAdvice (fun _ -> GrowableColumn())
    let fixedCols = Array.init cs.NumFixed (fun _ -> GrowableColumn())
    let adviceEnd = Array.zeroCreate<int> cs.NumAdvice
    let fixedEnd = Array.zeroCreate<int> cs.NumFixed
    let regionStarts = ResizeArray<int>()
    let regionNames = ResizeArray<string>()
    let regionHeights = ResizeArray<int>()
    let copies = ResizeArray<struct (Cell * Cell)>()
    let constants = ResizeArray<struct (Fp * Cell)>()
    let tableAssigned = HashSet<int>()
    let tableSet = HashSet<int>(cs.TableColumns)
    let equality = HashSet<Column>(cs.PermutationColumns)
    let mutable inRegion = false
    member _.Cs = cs
    member _.WithWitness = withWitness
    member _.Instances = instances
    member _.Advice = advice
    member _.Fixed = fixedCols
    member _.AdviceEnd = adviceEnd
    member _.FixedEnd = fixedEnd
    member _.RegionStarts = regionStarts
    member _.RegionNames = regionNames
    member _.RegionHeights = regionHeights
    member _.Copies = copies
    member _.Constants = constants
    member _.TableAssigned = tableAssigned
    member _.IsTable(c: int) = tableSet.Contains c
    member _.InRegion with get () = inRegion and set v = inRegion <- v
    member _.CheckEquality(c: Cell) =
        if not (equality.Contains c.Column) then
            raise (CircuitException(sprintf "copy constraint on %O, but equality is not enabled on %O" c c.Column))
    member s.Resolve(c: Cell) = if c.Region < 0 then c.Offset else regionStarts[c.Region] + c.Offset

/// The kinds of buffered region writes.
type internal RegionOp =
    | SetAdvice = 0uy
    | SetFixed = 1uy

/// A region: a block of rows laid out as a unit. Offsets are relative to the region's
/// start; the layouter places the region (earliest rows where all its columns are free)
/// once its closure returns.
[<Sealed>]
type Region internal (index: int, name: string, s: Synthesizer) =
    let ops = ResizeArray<struct (RegionOp * int * int * Fp)>()
    let mutable closed = false
    let check (offset: int) =
        if closed then raise (CircuitException(sprintf "region '%s' used after its closure returned" name))
        if offset < 0 then raise (CircuitException(sprintf "region '%s': negative offset %d" name offset))
        if offset > (1 <<< 28) then raise (CircuitException(sprintf "region '%s': offset %d is out of range" name offset))
    let cell (c: Column) offset = { Region = index; Offset = offset; Column = c }
    member internal _.Ops = ops
    member internal _.Close() = closed <- true
    member _.Name = name
    member _.Index = index
    /// True when synthesizing with a witness (proving, MockProver); false for key generation.
    member _.HasWitness = s.WithWitness

    /// Enables a selector at a row of this region.
    member _.EnableSelector(selector: Selector, offset: int) =
        check offset
        ops.Add(struct (RegionOp.SetFixed, s.Cs.SelectorBase + selector.Index, offset, Fp.One))

    /// Assigns an advice cell. While proving, the value must be known.
    member _.AssignAdvice(column: AdviceColumn, offset: int, value: Value) : AssignedCell =
        check offset
        if s.WithWitness then
            match value.TryGet() with
            | ValueSome v -> ops.Add(struct (RegionOp.SetAdvice, column.Index, offset, v))
            | ValueNone ->
                raise (CircuitException(sprintf "region '%s': %O offset %d assigned an unknown value while a witness is required" name column offset))
        else ops.Add(struct (RegionOp.SetAdvice, column.Index, offset, Fp.Zero))
        { Cell = cell column.Column offset; Value = value }

    member r.AssignAdvice(column: AdviceColumn, offset: int, value: Fp) = r.AssignAdvice(column, offset, Value.Known value)

    /// Assigns a fixed cell (part of the circuit shape, identical for every proof).
    member _.AssignFixed(column: FixedColumn, offset: int, value: Fp) : AssignedCell =
        check offset
        if s.IsTable column.Index then
            raise (CircuitException(sprintf "region '%s': %O is a lookup table column; fill it with Layouter.AssignTable" name column))
        ops.Add(struct (RegionOp.SetFixed, column.Index, offset, value))
        { Cell = cell column.Column offset; Value = Value.Known value }

    /// Constrains two cells to be equal (both columns need equality enabled).
    member _.ConstrainEqual(a: Cell, b: Cell) =
        s.CheckEquality a
        s.CheckEquality b
        s.Copies.Add(struct (a, b))

    /// Constrains a cell to equal a constant (needs a constants column, `EnableConstant`).
    member _.ConstrainConstant(a: Cell, constant: Fp) =
        if s.Cs.ConstantColumns.Length = 0 then
            raise (CircuitException "ConstrainConstant needs a constants column (ConstraintSystemBuilder.EnableConstant)")
        s.CheckEquality a
        s.Constants.Add(struct (constant, a))

    /// Assigns an advice cell to a constant and constrains it to that constant.
    member r.AssignAdviceFromConstant(column: AdviceColumn, offset: int, constant: Fp) =
        let c = r.AssignAdvice(column, offset, Value.Known constant)
        r.ConstrainConstant(c.Cell, constant)
        c

    /// Copies an instance value into an advice cell and constrains them equal.
    member r.AssignAdviceFromInstance(instance: InstanceColumn, row: int, column: AdviceColumn, offset: int) =
        if instance.Index < 0 || instance.Index >= s.Cs.NumInstance then
            raise (CircuitException(sprintf "%O does not exist" instance))
        if row < 0 then raise (CircuitException(sprintf "negative instance row %d" row))
        let v =
            if s.WithWitness then
                let col = s.Instances[instance.Index]
                Value.Known(if row < col.Length then col[row] else Fp.Zero)
            else Value.Unknown
        let c = r.AssignAdvice(column, offset, v)
        r.ConstrainEqual(c.Cell, { Region = -1; Offset = row; Column = instance.Column })
        c

    /// Assigns `cell`'s value to a new advice cell and constrains the two equal.
    member r.CopyAdvice(source: AssignedCell, column: AdviceColumn, offset: int) =
        let c = r.AssignAdvice(column, offset, source.Value)
        r.ConstrainEqual(source.Cell, c.Cell)
        c

/// Fills lookup table columns (absolute rows from 0; each column once).
[<Sealed>]
type Table internal (name: string, s: Synthesizer) =
    let used = HashSet<int>()
    member _.Name = name
    member _.AssignCell(column: TableColumn, row: int, value: Fp) =
        let c = column.Fixed.Index
        if row < 0 || row > (1 <<< 28) then raise (CircuitException(sprintf "table '%s': row %d is out of range" name row))
        if not (used.Contains c) && not (s.TableAssigned.Add c) then
            raise (CircuitException(sprintf "table '%s': %O was already filled by another AssignTable" name column))
        used.Add c |> ignore
        s.Fixed[c].Set(row, value)
        s.FixedEnd[c] <- max s.FixedEnd[c] (row + 1)

/// Lays regions out row by row; the synthesize step of a circuit talks to it.
[<Sealed>]
type Layouter internal (s: Synthesizer) =
    /// True when synthesizing with a witness (proving, MockProver); false for key generation.
    member _.HasWitness = s.WithWitness

    /// Runs `assign` on a fresh region, then places the region at the first row where
    /// every column it touched is free (halo2's "simple" floor planner, single pass).
    member _.AssignRegion<'T>(name: string, assign: Region -> 'T) : 'T =
        if s.InRegion then raise (CircuitException(sprintf "region '%s' opened inside another region" name))
        let index = s.RegionStarts.Count
        s.RegionStarts.Add 0
        s.RegionNames.Add name
        s.RegionHeights.Add 0
        let region = Region(index, name, s)
        s.InRegion <- true
        let result =
            try assign region
            finally
                s.InRegion <- false
                region.Close()
        let mutable start = 0
        let mutable height = 0
        for struct (op, c, off, _) in region.Ops do
            height <- max height (off + 1)
            start <- max start (if op = RegionOp.SetAdvice then s.AdviceEnd[c] else s.FixedEnd[c])
        s.RegionStarts[index] <- start
        s.RegionHeights[index] <- height
        for struct (op, c, off, v) in region.Ops do
            if op = RegionOp.SetAdvice then
                if s.WithWitness then s.Advice[c].Set(start + off, v)
                s.AdviceEnd[c] <- max s.AdviceEnd[c] (start + height)
            else
                s.Fixed[c].Set(start + off, v)
                s.FixedEnd[c] <- max s.FixedEnd[c] (start + height)
        result

    /// Fills lookup table columns.
    member _.AssignTable(name: string, assign: Table -> unit) =
        if s.InRegion then raise (CircuitException(sprintf "table '%s' assigned inside a region" name))
        assign (Table(name, s))

    /// Constrains a cell to equal the public value at (instance column, row).
    member _.ConstrainInstance(cell: Cell, instance: InstanceColumn, row: int) =
        if instance.Index < 0 || instance.Index >= s.Cs.NumInstance then
            raise (CircuitException(sprintf "%O does not exist" instance))
        if row < 0 then raise (CircuitException(sprintf "negative instance row %d" row))
        let ic = { Region = -1; Offset = row; Column = instance.Column }
        s.CheckEquality cell
        s.CheckEquality ic
        s.Copies.Add(struct (cell, ic))

/// A circuit: `Configure` declares columns, gates and lookups once per shape and
/// returns the circuit's configuration; `Synthesize` assigns cells through the
/// layouter. The rows used and every fixed value and copy constraint must not depend
/// on the witness (key generation synthesizes with every advice value unknown).
type ICircuit<'Config> =
    abstract Configure: ConstraintSystemBuilder -> 'Config
    abstract Synthesize: config: 'Config * layouter: Layouter -> unit

/// Runs a circuit's configure and synthesize steps.
module Synthesis =
    /// Configures a circuit: its constraint system and its configuration object.
    let configure (circuit: ICircuit<'C>) : Result<ConstraintSystem * 'C, string> =
        try
            let b = ConstraintSystemBuilder()
            let config = circuit.Configure b
            Ok(b.Finalize(), config)
        with CircuitException msg -> Error(sprintf "circuit configuration: %s" msg)

    let private place (s: Synthesizer) =
        let cs = s.Cs
        // Constants go after everything else in the constants columns, one cell per
        // distinct value, spread over the constants columns in order.
        let constantCells = Dictionary<Fp, struct (int * int)>()
        let mutable col = 0
        for struct (v, _) in s.Constants do
            if not (constantCells.ContainsKey v) then
                // fill the constants column with the fewest rows used
                col <- cs.ConstantColumns |> Array.minBy (fun c -> s.FixedEnd[c])
                let row = s.FixedEnd[col]
                s.Fixed[col].Set(row, v)
                s.FixedEnd[col] <- row + 1
                constantCells[v] <- struct (col, row)
        let tableRows =
            cs.LookupGroups
            |> Array.map (fun g ->
                let lengths = g.Table |> Array.map (fun c -> s.Fixed[c].Length)
                if lengths |> Array.exists (fun l -> l <> lengths[0]) then
                    raise (CircuitException(sprintf "the columns of one lookup table have different lengths (%s)" (String.Join(", ", lengths))))
                if lengths[0] = 0 then
                    raise (CircuitException(sprintf "lookup table (fixed %s) is empty" (String.Join(", ", g.Table))))
                lengths[0])
        let rowsUsed =
            Seq.concat [ Seq.ofArray s.AdviceEnd; Seq.ofArray s.FixedEnd; Seq.ofArray tableRows
                         (s.Instances |> Seq.map (fun c -> c.Length)) ]
            |> Seq.fold max 0
        struct (constantCells, rowsUsed)

    /// Synthesizes without any row bound and returns the rows the circuit needs
    /// (so callers can pick k = `cs.MinimumK rows`).
    let measure (circuit: ICircuit<'C>) : Result<ConstraintSystem * int, string> =
        match configure circuit with
        | Error e -> Error e
        | Ok(cs, config) ->
            try
                let s = Synthesizer(cs, Array.init cs.NumInstance (fun _ -> [||]), false)
                circuit.Synthesize(config, Layouter s)
                let struct (_, rows) = place s
                Ok(cs, rows)
            with CircuitException msg -> Error(sprintf "circuit synthesis: %s" msg)

    /// Synthesizes a configured circuit for n = 2^k rows. With `instances = None` the
    /// witness is absent (key generation): advice stays empty.
    let run (cs: ConstraintSystem) (config: 'C) (circuit: ICircuit<'C>) (k: int) (instances: Fp[][] option) : Result<Assignment, string> =
        if k < 1 || k > 28 then Error(sprintf "k = %d is out of range 1..28" k)
        else
        let n = 1 <<< k
        let usable = cs.UsableRows n
        let withWitness = instances.IsSome
        let inst = defaultArg instances (Array.init cs.NumInstance (fun _ -> [||]))
        if inst.Length <> cs.NumInstance then
            Error(sprintf "the circuit has %d instance columns, got %d" cs.NumInstance inst.Length)
        elif usable < 1 then
            Error(sprintf "k = %d leaves no usable rows (%d blinding rows are reserved)" k (cs.BlindingFactors + 1))
        else
        match inst |> Array.tryFindIndex (fun c -> c.Length > usable) with
        | Some i -> Error(sprintf "instance column %d has %d values but only %d usable rows exist at k = %d" i inst[i].Length usable k)
        | None ->
        try
            let s = Synthesizer(cs, inst, withWitness)
            circuit.Synthesize(config, Layouter s)
            let struct (constantCells, rowsUsed) = place s
            if rowsUsed > usable then
                raise (CircuitException(sprintf "the circuit needs %d rows but k = %d gives %d usable rows (n - %d blinding - 1); use k >= %d" rowsUsed k usable cs.BlindingFactors (cs.MinimumK rowsUsed)))
            let fixedArr = s.Fixed |> Array.map (fun c -> c.ToArray n)
            // Pad each table to the usable rows with its first row, so padding adds no new entry.
            for g in cs.LookupGroups do
                for c in g.Table do
                    let col = fixedArr[c]
                    let len = s.Fixed[c].Length
                    for r in len .. usable - 1 do col[r] <- col[0]
            let copies = ResizeArray<struct (Column * int * Column * int)>(s.Copies.Count + s.Constants.Count)
            for struct (a, b) in s.Copies do
                copies.Add(struct (a.Column, s.Resolve a, b.Column, s.Resolve b))
            for struct (v, c) in s.Constants do
                let struct (col, row) = constantCells[v]
                copies.Add(struct (c.Column, s.Resolve c, { Kind = ColumnKind.Fixed; Index = col }, row))
            for struct (_, ra, _, rb) in copies do
                if ra >= usable || rb >= usable then
                    raise (CircuitException(sprintf "a copy constraint reaches row %d, beyond the %d usable rows" (max ra rb) usable))
            Ok
                { K = k
                  N = n
                  Usable = usable
                  Advice = if withWitness then s.Advice |> Array.map (fun c -> c.ToArray n) else [||]
                  Fixed = fixedArr
                  Instance = inst |> Array.map (fun c -> let a = Array.zeroCreate n in Array.blit c 0 a 0 c.Length; a)
                  Copies = copies.ToArray()
                  RowsUsed = rowsUsed
                  Regions = Array.init s.RegionStarts.Count (fun i -> struct (s.RegionNames[i], s.RegionStarts[i], s.RegionHeights[i])) }
        with CircuitException msg -> Error(sprintf "circuit synthesis: %s" msg)
