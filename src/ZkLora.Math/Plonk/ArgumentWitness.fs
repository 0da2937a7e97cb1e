/// The prover's argument columns in Lagrange form (values at the rows): blinded advice,
/// logUp multiplicities, helpers and running sums, permutation grand products. Rows
/// after the usable ones are CSPRNG randomness (zero knowledge); the pinned row u of
/// each running product/sum carries its final value.
module internal ZkLora.Math.Plonk.ArgumentWitness

open System.Collections.Generic
open System.Threading.Tasks
open ZkLora.Math
open ZkLora.Math.Plonk.Argument

/// Fills rows from `first` to the end with fresh CSPRNG field elements.
let randomizeTail (col: Fp[]) (first: int) =
    if first < col.Length then Randomness.fill (System.Span(col, first, col.Length - first))

/// Copies the advice columns and fills their blinding rows (u .. n-1) with randomness.
let blindAdvice (a: Assignment) : Fp[][] =
    a.Advice
    |> Array.map (fun col ->
        let c = Array.copy col
        randomizeTail c a.Usable
        c)

/// Lagrange-basis selector columns on the base domain: l_0, l_last = l_u, l_active.
let lagrangeSelectors (n: int) (usable: int) =
    let l0 = Array.zeroCreate n
    let lLast = Array.zeroCreate n
    let lActive = Array.zeroCreate n
    l0[0] <- Fp.One
    lLast[usable] <- Fp.One
    for r in 0 .. usable - 1 do lActive[r] <- Fp.One
    struct (l0, lLast, lActive)

/// Base-domain sources for a program: every slot's values from `poly`.
let baseSources (p: Evaluator.Program) (k: int) (usable: int) (poly: PolyRef -> Fp[]) : Evaluator.Sources =
    let n = 1 <<< k
    let struct (l0, lLast, lActive) = lagrangeSelectors n usable
    { Size = n
      RotationScale = 1
      Polys = p.Slots |> Array.map poly
      X = Permutation.omegaPowers k
      L0 = l0
      LLast = lLast
      LActive = lActive }

/// θ-compressed lookup inputs (per lookup) and tables (per group) at every row.
let compressedLookupValues (cs: ConstraintSystem) (k: int) (usable: int) (theta: Fp) (poly: PolyRef -> Fp[]) =
    let inputTerms = cs.Lookups |> Array.map (fun l -> Argument.compress (l.Inputs |> Array.map ofExpression))
    let tableTerms = cs.LookupGroups |> Array.map (fun g -> Argument.compress (g.Table |> Array.map (fun c -> TQuery(FixedP c, 0))))
    let program = Evaluator.compile (Array.append inputTerms tableTerms) (fun _ -> theta)
    let values = Evaluator.evaluateEach program (baseSources program k usable poly)
    struct (values[.. cs.Lookups.Length - 1], values[cs.Lookups.Length ..])

/// Whether lookup l applies at a row (its selector is on, or it has none).
let selectedRows (cs: ConstraintSystem) (fixedCols: Fp[][]) (l: int) : int -> bool =
    match cs.Lookups[l].Selector with
    | Some sel ->
        let col = fixedCols[sel]
        fun r -> not col[r].IsZero
    | None -> fun _ -> true

/// logUp multiplicities: for each group, how many times each table row is hit by the
/// group's inputs over the usable rows (counted on the first row holding that value).
/// Inputs missing from the table are left uncounted; the argument then fails, which is
/// what a cheating prover deserves (the honest prover checks satisfaction first).
let multiplicities (cs: ConstraintSystem) (n: int) (usable: int) (fixedCols: Fp[][]) (inputs: Fp[][]) (tables: Fp[][]) : Fp[][] =
    cs.LookupGroups
    |> Array.mapi (fun gi g ->
        let t = tables[gi]
        let firstRow = Dictionary<Fp, int>(usable)
        for r in usable - 1 .. -1 .. 0 do firstRow[t[r]] <- r
        let counts = Array.zeroCreate<int64> n
        for l in g.Lookups do
            let f = inputs[l]
            let selected = selectedRows cs fixedCols l
            for r in 0 .. usable - 1 do
                if selected r then
                    match firstRow.TryGetValue f[r] with
                    | true, row -> counts[row] <- counts[row] + 1L
                    | _ -> ()
        let m = counts |> Array.map (fun c -> Fp.OfUInt64(uint64 c))
        randomizeTail m usable
        m)

/// logUp helper columns (per group, per chunk) and running sums (per group) for challenge β.
let lookupColumns (cs: ConstraintSystem) (n: int) (usable: int) (fixedCols: Fp[][]) (beta: Fp) (inputs: Fp[][]) (tables: Fp[][]) (m: Fp[][]) =
    let helpers = Array.zeroCreate<Fp[][]> cs.LookupGroups.Length
    let sums = Array.zeroCreate<Fp[]> cs.LookupGroups.Length
    Parallel.For(0, cs.LookupGroups.Length, fun gi ->
        let g = cs.LookupGroups[gi]
        let hs =
            g.Chunks
            |> Array.map (fun chunk ->
                let h = Array.zeroCreate<Fp> n
                for l in chunk do
                    let selected = selectedRows cs fixedCols l
                    // unselected rows contribute 0 (BatchInvert leaves zeros as zeros)
                    let inv = Array.init usable (fun r -> if selected r then beta - inputs[l][r] else Fp.Zero)
                    Fp.BatchInvert(System.Span inv)
                    for r in 0 .. usable - 1 do h[r] <- h[r] + inv[r]
                randomizeTail h usable
                h)
        let tInv = Array.init usable (fun r -> beta - tables[gi][r])
        Fp.BatchInvert(System.Span tInv)
        let z = Array.zeroCreate<Fp> n
        let mutable acc = Fp.Zero
        for r in 0 .. usable - 1 do
            let mutable step = -(m[gi][r] * tInv[r])
            for h in hs do step <- step + h[r]
            acc <- acc + step
            z[r + 1] <- acc
        randomizeTail z (usable + 1)
        helpers[gi] <- hs
        sums[gi] <- z) |> ignore
    struct (helpers, sums)

/// Permutation grand products, one per chunk of equality columns, for challenges β, γ.
let permutationProducts (cs: ConstraintSystem) (k: int) (usable: int) (beta: Fp) (gamma: Fp) (columnValues: Column -> Fp[]) (sigmas: Fp[][]) =
    let n = 1 <<< k
    let chunks = cs.PermutationChunks
    let size = cs.PermutationChunkSize
    let omega = Permutation.omegaPowers k
    let ratios =
        Array.init chunks (fun j ->
            let numer = Array.create usable Fp.One
            let denom = Array.create usable Fp.One
            let cols = [| j * size .. min (cs.PermutationColumns.Length - 1) ((j + 1) * size - 1) |]
            for p in cols do
                let v = columnValues cs.PermutationColumns[p]
                let betaDelta = beta * Permutation.delta.Pow(uint64 p)
                let sigma = sigmas[p]
                for r in 0 .. usable - 1 do
                    numer[r] <- numer[r] * (v[r] + betaDelta * omega[r] + gamma)
                    denom[r] <- denom[r] * (v[r] + beta * sigma[r] + gamma)
            Fp.BatchInvert(System.Span denom)
            Array.init usable (fun r -> numer[r] * denom[r]))
    let zs = Array.zeroCreate<Fp[]> chunks
    let mutable carry = Fp.One
    for j in 0 .. chunks - 1 do
        let z = Array.zeroCreate<Fp> n
        z[0] <- carry
        for r in 0 .. usable - 1 do z[r + 1] <- z[r] * ratios[j][r]
        carry <- z[usable]
        randomizeTail z (usable + 1)
        zs[j] <- z
    zs

/// All Lagrange-form columns a proof commits to (or reads), by polynomial reference.
type Columns =
    { Advice: Fp[][]
      Fixed: Fp[][]
      Instance: Fp[][]
      Sigma: Fp[][]
      PermZ: Fp[][]
      LookupM: Fp[][]
      LookupH: Fp[][][]
      LookupZ: Fp[][] }
    member c.Get(p: PolyRef) =
        match p with
        | AdviceP i -> c.Advice[i]
        | FixedP i -> c.Fixed[i]
        | InstanceP i -> c.Instance[i]
        | SigmaP i -> c.Sigma[i]
        | PermZ j -> c.PermZ[j]
        | LookupM g -> c.LookupM[g]
        | LookupH(g, ch) -> c.LookupH[g][ch]
        | LookupZ g -> c.LookupZ[g]
    member c.Column(col: Column) =
        match col.Kind with
        | ColumnKind.Advice -> c.Advice[col.Index]
        | ColumnKind.Fixed -> c.Fixed[col.Index]
        | _ -> c.Instance[col.Index]

/// Every argument column for the given challenges (what the prover computes between
/// transcript rounds, all at once: for self-checks and tests).
let allColumns (cs: ConstraintSystem) (a: Assignment) (sigmas: Fp[][]) (theta: Fp) (beta: Fp) (gamma: Fp) : Columns =
    let advice = blindAdvice a
    let partial =
        { Advice = advice; Fixed = a.Fixed; Instance = a.Instance; Sigma = sigmas
          PermZ = [||]; LookupM = [||]; LookupH = [||]; LookupZ = [||] }
    let struct (inputs, tables) = compressedLookupValues cs a.K a.Usable theta partial.Get
    let m = multiplicities cs a.N a.Usable a.Fixed inputs tables
    let struct (h, z) = lookupColumns cs a.N a.Usable a.Fixed beta inputs tables m
    let pz = permutationProducts cs a.K a.Usable beta gamma partial.Column sigmas
    { partial with PermZ = pz; LookupM = m; LookupH = h; LookupZ = z }

/// Identities that do not vanish on the base domain: (identity name, first failing row).
/// Vanishing at every row is exactly divisibility of the combined numerator by X^n - 1.
let rowCheck (cs: ConstraintSystem) (k: int) (usable: int) (cols: Columns) (challenge: Challenge -> Fp) : (string * int) list =
    let ids = identities cs
    let program = Evaluator.compile (ids |> Array.map (fun i -> i.Term)) challenge
    let values = Evaluator.evaluateEach program (baseSources program k usable cols.Get)
    [ for i in 0 .. ids.Length - 1 do
        match values[i] |> Array.tryFindIndex (fun v -> not v.IsZero) with
        | Some row -> yield ids[i].Name, row
        | None -> () ]
