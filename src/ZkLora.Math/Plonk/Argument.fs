/// Every polynomial identity the vanishing argument proves, in one term language shared
/// by the prover (compiled evaluator over coset evaluations), the verifier (evaluation
/// at x from opened values) and the row-wise self-check. Deriving the opening queries
/// from these terms means prover and verifier cannot disagree about what is opened.
///
/// Identities (n = 2^k rows, u = usable rows, l_0, l_last = l_u, l_active = 1 - Σ_{i≥u} l_i):
///  - gates: each constraint, at every row (selectors switch them off);
///  - permutation, chunks j = 0..J-1 of the equality columns, product polynomials Z_j:
///      l_0·(1 - Z_0) = 0;  l_last·(Z_{J-1} - 1) = 0;  l_0·(Z_j - Z_{j-1}(ω^u X)) = 0 for j ≥ 1;
///      l_active·(Z_j(ωX)·Π_p (v_p + β·σ_p + γ) - Z_j(X)·Π_p (v_p + β·δ^p·X + γ)) = 0;
///  - logUp, per table group with compressed table t = Σ θ^i T_i, inputs f_l = Σ θ^i F_{l,i},
///    multiplicities m, helper columns h_c, running sum Z:
///      l_0·Z = 0;  l_last·Z = 0;
///      l_active·(h_c·Π_{l∈c}(β - f_l) - Σ_{l∈c} s_l·Π_{l'∈c, l'≠l}(β - f_l')) = 0
///      (s_l the lookup's selector, a fixed 0/1 column, or 1 for an unselected lookup);
///      l_active·((Z(ωX) - Z(X) - Σ_c h_c)·(β - t) + m) = 0.
///
/// Lookup soundness (logUp, Haböck 2022): the last two identities on the active rows give
/// Σ_{rows} Σ_l s_l/(β - f_l) = Σ_{rows} m/(β - t) (telescoping Z from 0 to 0). Selectors
/// are fixed by the verifying key and 0/1, so every selected input has weight exactly 1 and
/// no two inputs can cancel (weights summing to 0 mod p would need p selected rows). With f and m
/// committed before β and p larger than the number of terms, this rational identity in β
/// holds only if every input is a table value; a false statement passes with probability
/// ≤ (u·(L + 1))/|F| over β, plus ≤ u²·L·(w - 1)/|F| for a θ-compression collision of
/// w-wide tuples. Several lookups into one table share t, m and Z; each extra lookup costs
/// one term in a helper column.
// (The identities below are built with `add`/`sub`/`mul`, the same trees as the Term
// operators: F# does not resolve operator members of a type in an internal module.)
module internal ZkLora.Math.Plonk.Argument

open System.Collections.Generic
open ZkLora.Math

/// A polynomial the identities read.
[<Struct>]
type PolyRef =
    | AdviceP of advice: int
    | FixedP of fixedColumn: int
    | InstanceP of instance: int
    /// σ of permutation column p.
    | SigmaP of sigma: int
    /// Grand product of permutation chunk j.
    | PermZ of chunk: int
    /// logUp multiplicities of table group g.
    | LookupM of mgroup: int
    /// logUp helper column c of group g.
    | LookupH of hgroup: int * hchunk: int
    /// logUp running sum of group g.
    | LookupZ of zgroup: int

/// Verifier challenges the identities use.
type Challenge =
    | Theta = 0
    | Beta = 1
    | Gamma = 2

/// A term of a polynomial identity.
[<NoComparison>]
type Term =
    | TConst of Fp
    | TQuery of PolyRef * rotation: int
    | TChallenge of Challenge
    /// The evaluation point X itself.
    | TX
    | TL0
    | TLLast
    | TLActive
    | TNeg of Term
    | TAdd of Term * Term
    | TMul of Term * Term
    | TScale of Term * Fp

/// Named identity (for self-check reports).
type Identity = { Name: string; Term: Term }

let rec ofExpression (e: Expression) : Term =
    match e with
    | Constant c -> TConst c
    | Selector _ -> invalidOp "selectors are replaced before proving"
    | Fixed(c, r) -> TQuery(FixedP c, r)
    | Advice(c, r) -> TQuery(AdviceP c, r)
    | Instance(c, r) -> TQuery(InstanceP c, r)
    | Negated a -> TNeg(ofExpression a)
    | Sum(a, b) -> TAdd(ofExpression a, ofExpression b)
    | Product(a, b) -> TMul(ofExpression a, ofExpression b)
    | Scaled(a, c) -> TScale(ofExpression a, c)

let private add a b = TAdd(a, b)
let private sub a b = TAdd(a, TNeg b)
let private mul a b = TMul(a, b)

/// Rotation that reaches row u (the "last" row) from row 0: u - n = -(blinding + 1).
let lastRotation (cs: ConstraintSystem) = -(cs.BlindingFactors + 1)

let private columnPoly (c: Column) =
    match c.Kind with
    | ColumnKind.Advice -> AdviceP c.Index
    | ColumnKind.Fixed -> FixedP c.Index
    | _ -> InstanceP c.Index

/// Σ θ^(w-1-i)·e_i (Horner), the compression of a tuple.
let compress (terms: Term[]) =
    let mutable acc = terms[0]
    for i in 1 .. terms.Length - 1 do acc <- TAdd(TMul(TChallenge Challenge.Theta, acc), terms[i])
    acc

/// All identities of the circuit, in the fixed order the vanishing argument combines them.
let identities (cs: ConstraintSystem) : Identity[] =
    let out = ResizeArray<Identity>()
    for g in cs.Gates do
        for i in 0 .. g.Constraints.Length - 1 do
            out.Add { Name = sprintf "gate '%s' constraint %d" g.Name i; Term = ofExpression g.Constraints[i] }
    let one = TConst Fp.One
    let beta, gamma = TChallenge Challenge.Beta, TChallenge Challenge.Gamma
    let chunks = cs.PermutationChunks
    if chunks > 0 then
        let size = cs.PermutationChunkSize
        out.Add { Name = "permutation: Z_0 starts at 1"; Term = mul TL0 (sub one (TQuery(PermZ 0, 0))) }
        out.Add { Name = "permutation: last product is 1"; Term = mul TLLast (sub (TQuery(PermZ(chunks - 1), 0)) one) }
        for j in 1 .. chunks - 1 do
            out.Add
                { Name = sprintf "permutation: chunk %d continues chunk %d" j (j - 1)
                  Term = mul TL0 (sub (TQuery(PermZ j, 0)) (TQuery(PermZ(j - 1), lastRotation cs))) }
        let mutable deltaPow = Fp.One
        for j in 0 .. chunks - 1 do
            let cols = [| j * size .. min (cs.PermutationColumns.Length - 1) ((j + 1) * size - 1) |]
            let mutable left = TQuery(PermZ j, 1)
            let mutable right = TQuery(PermZ j, 0)
            for p in cols do
                let v = TQuery(columnPoly cs.PermutationColumns[p], 0)
                left <- mul left (add (add v (mul beta (TQuery(SigmaP p, 0)))) gamma)
                right <- mul right (add (add v (TScale(mul beta TX, deltaPow))) gamma)
                deltaPow <- deltaPow * Permutation.delta
            out.Add { Name = sprintf "permutation: product step of chunk %d" j; Term = mul TLActive (sub left right) }
    for gi in 0 .. cs.LookupGroups.Length - 1 do
        let g = cs.LookupGroups[gi]
        let z = TQuery(LookupZ gi, 0)
        out.Add { Name = sprintf "lookup group %d: running sum starts at 0" gi; Term = TMul(TL0, z) }
        out.Add { Name = sprintf "lookup group %d: running sum ends at 0" gi; Term = TMul(TLLast, z) }
        let inputOf l = compress (cs.Lookups[l].Inputs |> Array.map ofExpression)
        for ci in 0 .. g.Chunks.Length - 1 do
            let members = g.Chunks[ci]
            let denoms = members |> Array.map (fun l -> TAdd(beta, TNeg(inputOf l)))
            let prod (skip: int) =
                let mutable acc = one
                let mutable first = true
                for i in 0 .. denoms.Length - 1 do
                    if i <> skip then
                        acc <- (if first then denoms[i] else TMul(acc, denoms[i]))
                        first <- false
                acc
            // Σ_l s_l·Π_{l'≠l}(β - f_l'), s_l the lookup's selector (1 when it has none).
            let numer =
                members
                |> Array.mapi (fun i l ->
                    match cs.Lookups[l].Selector with
                    | Some sel -> TMul(TQuery(FixedP sel, 0), prod i)
                    | None -> prod i)
                |> Array.reduce (fun a b -> TAdd(a, b))
            out.Add
                { Name = sprintf "lookup group %d: helper %d" gi ci
                  Term = mul TLActive (sub (mul (TQuery(LookupH(gi, ci), 0)) (prod (-1))) numer) }
        let t = compress (g.Table |> Array.map (fun c -> TQuery(FixedP c, 0)))
        let hs = Array.init g.Chunks.Length (fun ci -> TQuery(LookupH(gi, ci), 0)) |> Array.reduce (fun a b -> TAdd(a, b))
        out.Add
            { Name = sprintf "lookup group %d: running sum step" gi
              Term = mul TLActive (add (mul (sub (sub (TQuery(LookupZ gi, 1)) z) hs) (sub beta t)) (TQuery(LookupM gi, 0))) }
    out.ToArray()

/// Degree of a term in units of the column polynomials (X and the Lagrange selectors count 1).
let rec degree (t: Term) =
    match t with
    | TConst _ | TChallenge _ -> 0
    | TQuery _ | TX | TL0 | TLLast | TLActive -> 1
    | TNeg a | TScale(a, _) -> degree a
    | TAdd(a, b) -> max (degree a) (degree b)
    | TMul(a, b) -> degree a + degree b

/// Distinct (polynomial, rotation) queries of a set of terms.
let queries (terms: Term seq) : HashSet<struct (PolyRef * int)> =
    let set = HashSet<struct (PolyRef * int)>()
    let rec go t =
        match t with
        | TQuery(p, r) -> set.Add(struct (p, r)) |> ignore
        | TConst _ | TChallenge _ | TX | TL0 | TLLast | TLActive -> ()
        | TNeg a | TScale(a, _) -> go a
        | TAdd(a, b) | TMul(a, b) -> go a; go b
    for t in terms do go t
    set

/// Evaluates a term at one point given every query's value (the verifier's view).
let rec evaluateAt
    (query: PolyRef -> int -> Fp)
    (challenge: Challenge -> Fp)
    (x: Fp)
    (l0: Fp)
    (lLast: Fp)
    (lActive: Fp)
    (t: Term)
    : Fp =
    let recur = evaluateAt query challenge x l0 lLast lActive
    match t with
    | TConst c -> c
    | TQuery(p, r) -> query p r
    | TChallenge c -> challenge c
    | TX -> x
    | TL0 -> l0
    | TLLast -> lLast
    | TLActive -> lActive
    | TNeg a -> -(recur a)
    | TAdd(a, b) -> recur a + recur b
    | TMul(a, b) -> recur a * recur b
    | TScale(a, c) -> recur a * c
