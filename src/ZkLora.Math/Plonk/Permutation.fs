/// Copy constraints as a permutation σ of the cells of the equality-enabled columns
/// (the PLONK permutation argument).
///
/// Every cell (column p, row r) is labelled δ^p·ω^r. The labels are distinct: ω^r runs
/// over the 2^k-th roots of unity H and δ = g^(2^32) has odd order T, so the cosets
/// δ^p·H are disjoint for p < T. σ maps each cell to the next cell of its equivalence
/// class (a cycle), so "every cell equals its σ-image" is exactly "all copy constraints
/// hold". The grand product Π (v + β·id + γ)/(v + β·σ + γ) over all cells is 1 for a
/// satisfying assignment and, by Schwartz–Zippel over (β, γ), differs from 1 with
/// probability ≥ 1 - (m·n)/|F| when some cell differs from its σ-image.
module internal ZkLora.Math.Plonk.Permutation

open System.Collections.Generic
open ZkLora.Math

/// δ = g^(2^32) for the multiplicative generator g = 5: the coset separator.
let delta: Fp = Fp.Generator.Pow(1UL <<< 32)

/// Index of each permutation column in `cs.PermutationColumns`.
let columnIndex (cs: ConstraintSystem) =
    let d = Dictionary<Column, int>()
    cs.PermutationColumns |> Array.iteri (fun i c -> d[c] <- i)
    d

/// The cycle structure of σ over cells p·n + r: `mapping[p·n + r]` is the next cell of
/// the cell's equivalence class. Built by splicing cycles, smaller into larger
/// (union by size keeps the total work O(N log N)).
let mapping (cs: ConstraintSystem) (n: int) (copies: struct (Column * int * Column * int)[]) : int[] =
    let m = cs.PermutationColumns.Length
    if int64 m * int64 n > int64 System.Int32.MaxValue then
        raise (CircuitException(sprintf "%d permutation columns × %d rows is too many cells" m n))
    let total = m * n
    let index = columnIndex cs
    let next = Array.init total id
    let rep = Array.init total id
    let size = Array.create total 1
    let cellOf (c: Column) (row: int) =
        match index.TryGetValue c with
        | true, p when row >= 0 && row < n -> p * n + row
        | true, _ -> raise (CircuitException(sprintf "copy constraint row %d is outside 0..%d" row (n - 1)))
        | _ -> raise (CircuitException(sprintf "copy constraint on %O, which is not equality-enabled" c))
    for struct (ca, ra, cb, rb) in copies do
        let mutable left = cellOf ca ra
        let mutable right = cellOf cb rb
        if rep[left] <> rep[right] then
            if size[rep[left]] < size[rep[right]] then
                let t = left
                left <- right
                right <- t
            let keep = rep[left]
            size[keep] <- size[keep] + size[rep[right]]
            let mutable cur = right
            let mutable go = true
            while go do
                rep[cur] <- keep
                cur <- next[cur]
                go <- cur <> right
            let t = next[left]
            next[left] <- next[right]
            next[right] <- t
    next

/// Powers ω^0 .. ω^(n-1) of the primitive n-th root of unity.
let omegaPowers (k: int) : Fp[] =
    let n = 1 <<< k
    let w = Fp.RootOfUnity k
    let out = Array.zeroCreate n
    let mutable acc = Fp.One
    for i in 0 .. n - 1 do
        out[i] <- acc
        acc <- acc * w
    out

/// σ_p(ω^r) = δ^p'·ω^r' where (p', r') = mapping(p, r), in Lagrange form (n values per column).
let sigmaValues (cs: ConstraintSystem) (k: int) (mapping: int[]) : Fp[][] =
    let n = 1 <<< k
    let m = cs.PermutationColumns.Length
    let omega = omegaPowers k
    let deltas = Array.zeroCreate m
    let mutable d = Fp.One
    for p in 0 .. m - 1 do
        deltas[p] <- d
        d <- d * delta
    Array.init m (fun p ->
        let col = Array.zeroCreate n
        for r in 0 .. n - 1 do
            let target = mapping[p * n + r]
            col[r] <- deltas[target / n] * omega[target % n]
        col)
