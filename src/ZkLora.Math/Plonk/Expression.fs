namespace ZkLora.Math.Plonk

open System.Collections.Generic
open ZkLora.Math

/// The three kinds of PLONKish column.
type ColumnKind =
    /// Private witness values chosen by the prover (blinded in the proof).
    | Advice = 0
    /// Values fixed by the circuit shape (selectors, constants, lookup tables).
    | Fixed = 1
    /// Public values supplied to both prover and verifier.
    | Instance = 2

/// Any column, identified by kind and index within its kind.
[<Struct>]
type Column =
    { Kind: ColumnKind
      Index: int }
    override c.ToString() =
        match c.Kind with
        | ColumnKind.Advice -> sprintf "advice[%d]" c.Index
        | ColumnKind.Fixed -> sprintf "fixed[%d]" c.Index
        | _ -> sprintf "instance[%d]" c.Index

/// Row offsets relative to the row a constraint is checked at.
[<RequireQualifiedAccess>]
module Rotation =
    [<Literal>]
    let Cur = 0
    [<Literal>]
    let Next = 1
    [<Literal>]
    let Prev = -1

/// A multivariate polynomial over column queries (column, rotation) and selectors.
/// A gate constraint holds at row r when the expression evaluates to zero with every
/// query (c, rot) read at row r + rot (cyclically, rows are the n-th roots of unity).
[<NoComparison; CustomEquality>]
type Expression =
    | Constant of Fp
    | Selector of selector: int
    | Fixed of column: int * rotation: int
    | Advice of column: int * rotation: int
    | Instance of column: int * rotation: int
    | Negated of Expression
    | Sum of Expression * Expression
    | Product of Expression * Expression
    | Scaled of Expression * Fp

    static member Zero = Constant Fp.Zero
    static member One = Constant Fp.One
    static member OfInt(v: int64) = Constant(Fp.OfInt64 v)
    static member (+)(a: Expression, b: Expression) = Sum(a, b)
    static member (-)(a: Expression, b: Expression) = Sum(a, Negated b)
    static member (*)(a: Expression, b: Expression) = Product(a, b)
    static member (~-)(a: Expression) = Negated a
    static member (+)(a: Expression, c: Fp) = Sum(a, Constant c)
    static member (+)(c: Fp, a: Expression) = Sum(Constant c, a)
    static member (-)(a: Expression, c: Fp) = Sum(a, Constant(-c))
    static member (-)(c: Fp, a: Expression) = Sum(Constant c, Negated a)
    static member (*)(a: Expression, c: Fp) = Scaled(a, c)
    static member (*)(c: Fp, a: Expression) = Scaled(a, c)
    static member (+)(a: Expression, c: int) = Sum(a, Expression.OfInt(int64 c))
    static member (+)(c: int, a: Expression) = Sum(Expression.OfInt(int64 c), a)
    static member (-)(a: Expression, c: int) = Sum(a, Expression.OfInt(int64 (-c)))
    static member (-)(c: int, a: Expression) = Sum(Expression.OfInt(int64 c), Negated a)
    static member (*)(a: Expression, c: int) = Scaled(a, Fp.OfInt64(int64 c))
    static member (*)(c: int, a: Expression) = Scaled(a, Fp.OfInt64(int64 c))

    /// Structural equality (used to deduplicate, not to decide algebraic equality).
    override x.Equals(o: obj) =
        match o with
        | :? Expression as y -> Expression.StructEq(x, y)
        | _ -> false
    override x.GetHashCode() =
        match x with
        | Constant c -> c.GetHashCode()
        | Selector s -> 17 * s + 1
        | Fixed(c, r) -> hash (2, c, r)
        | Advice(c, r) -> hash (3, c, r)
        | Instance(c, r) -> hash (4, c, r)
        | Negated a -> 31 * a.GetHashCode() + 5
        | Sum(a, b) -> hash (6, a.GetHashCode(), b.GetHashCode())
        | Product(a, b) -> hash (7, a.GetHashCode(), b.GetHashCode())
        | Scaled(a, c) -> hash (8, a.GetHashCode(), c.GetHashCode())
    static member private StructEq(x: Expression, y: Expression) =
        match x, y with
        | Constant a, Constant b -> a.Equals b
        | Selector a, Selector b -> a = b
        | Fixed(a, r), Fixed(b, s) | Advice(a, r), Advice(b, s) | Instance(a, r), Instance(b, s) -> a = b && r = s
        | Negated a, Negated b -> Expression.StructEq(a, b)
        | Sum(a, b), Sum(c, d) | Product(a, b), Product(c, d) -> Expression.StructEq(a, c) && Expression.StructEq(b, d)
        | Scaled(a, c), Scaled(b, d) -> c.Equals d && Expression.StructEq(a, b)
        | _ -> false

    override x.ToString() =
        let rot r = if r = 0 then "" elif r > 0 then sprintf "@+%d" r else sprintf "@%d" r
        match x with
        | Constant c ->
            let v = c.ToBigInteger()
            if v < System.Numerics.BigInteger 1_000_000 then string v
            elif Fp.Modulus - v < System.Numerics.BigInteger 1_000_000 then sprintf "-%O" (Fp.Modulus - v)
            else c.ToString()
        | Selector s -> sprintf "q%d" s
        | Fixed(c, r) -> sprintf "f%d%s" c (rot r)
        | Advice(c, r) -> sprintf "a%d%s" c (rot r)
        | Instance(c, r) -> sprintf "i%d%s" c (rot r)
        | Negated a -> sprintf "-(%O)" a
        | Sum(a, Negated b) -> sprintf "(%O - %O)" a b
        | Sum(a, b) -> sprintf "(%O + %O)" a b
        | Product(a, b) -> sprintf "%O * %O" a b
        | Scaled(a, c) -> sprintf "%O * %O" a (Constant c)

/// Operations on expressions.
[<RequireQualifiedAccess>]
module Expression =
    let constant (v: Fp) = Constant v
    let ofInt (v: int64) = Expression.OfInt v

    /// Σ of the expressions (0 for none).
    let sum (es: Expression seq) =
        es |> Seq.fold (fun acc e -> match acc with Constant c when c.IsZero -> e | _ -> acc + e) Expression.Zero

    /// Folds an expression bottom-up: one function per node kind. The evaluator of
    /// every consumer (MockProver, verifier, compiled prover evaluator) is built on it.
    let rec evaluate
        (constant: Fp -> 'T)
        (selector: int -> 'T)
        (fixedQ: int -> int -> 'T)
        (advice: int -> int -> 'T)
        (instance: int -> int -> 'T)
        (negated: 'T -> 'T)
        (sum: 'T -> 'T -> 'T)
        (product: 'T -> 'T -> 'T)
        (scaled: 'T -> Fp -> 'T)
        (e: Expression)
        : 'T =
        let recur = evaluate constant selector fixedQ advice instance negated sum product scaled
        match e with
        | Constant c -> constant c
        | Selector s -> selector s
        | Fixed(c, r) -> fixedQ c r
        | Advice(c, r) -> advice c r
        | Instance(c, r) -> instance c r
        | Negated a -> negated (recur a)
        | Sum(a, b) -> sum (recur a) (recur b)
        | Product(a, b) -> product (recur a) (recur b)
        | Scaled(a, c) -> scaled (recur a) c

    /// Degree as a polynomial in the column polynomials (selectors count as degree 1).
    let rec degree (e: Expression) =
        match e with
        | Constant _ -> 0
        | Selector _ | Fixed _ | Advice _ | Instance _ -> 1
        | Negated a | Scaled(a, _) -> degree a
        | Sum(a, b) -> max (degree a) (degree b)
        | Product(a, b) -> degree a + degree b

    /// Every (column, rotation) the expression reads, in first-occurrence order
    /// (selectors are reported by `selectors`).
    let queries (e: Expression) : struct (Column * int) list =
        let seen = HashSet<struct (Column * int)>()
        let acc = ResizeArray()
        let add kind c r =
            let q = struct ({ Kind = kind; Index = c }, r)
            if seen.Add q then acc.Add q
        let rec go e =
            match e with
            | Constant _ | Selector _ -> ()
            | Fixed(c, r) -> add ColumnKind.Fixed c r
            | Advice(c, r) -> add ColumnKind.Advice c r
            | Instance(c, r) -> add ColumnKind.Instance c r
            | Negated a | Scaled(a, _) -> go a
            | Sum(a, b) | Product(a, b) -> go a; go b
        go e
        List.ofSeq acc

    /// The selectors an expression reads.
    let selectors (e: Expression) : int list =
        let acc = SortedSet<int>()
        let rec go e =
            match e with
            | Selector s -> acc.Add s |> ignore
            | Constant _ | Fixed _ | Advice _ | Instance _ -> ()
            | Negated a | Scaled(a, _) -> go a
            | Sum(a, b) | Product(a, b) -> go a; go b
        go e
        List.ofSeq acc

    /// Replaces every selector s by a query of fixed column `columnOf s` at the current row
    /// (selectors become ordinary fixed columns when the constraint system is finalized).
    let rec replaceSelectors (columnOf: int -> int) (e: Expression) =
        let recur = replaceSelectors columnOf
        match e with
        | Selector s -> Fixed(columnOf s, 0)
        | Constant _ | Fixed _ | Advice _ | Instance _ -> e
        | Negated a -> Negated(recur a)
        | Scaled(a, c) -> Scaled(recur a, c)
        | Sum(a, b) -> Sum(recur a, recur b)
        | Product(a, b) -> Product(recur a, recur b)

/// An advice column handle returned by the constraint-system builder.
[<Struct>]
type AdviceColumn internal (index: int) =
    member _.Index = index
    member _.Column = { Kind = ColumnKind.Advice; Index = index }
    /// The query of this column at the given rotation.
    member _.Query(rotation: int) = Advice(index, rotation)
    member c.Cur = c.Query Rotation.Cur
    member c.Next = c.Query Rotation.Next
    member c.Prev = c.Query Rotation.Prev
    override _.ToString() = sprintf "advice[%d]" index

/// A fixed column handle.
[<Struct>]
type FixedColumn internal (index: int) =
    member _.Index = index
    member _.Column = { Kind = ColumnKind.Fixed; Index = index }
    member _.Query(rotation: int) = Fixed(index, rotation)
    member c.Cur = c.Query Rotation.Cur
    member c.Next = c.Query Rotation.Next
    member c.Prev = c.Query Rotation.Prev
    override _.ToString() = sprintf "fixed[%d]" index

/// An instance (public input) column handle.
[<Struct>]
type InstanceColumn internal (index: int) =
    member _.Index = index
    member _.Column = { Kind = ColumnKind.Instance; Index = index }
    member _.Query(rotation: int) = Instance(index, rotation)
    member c.Cur = c.Query Rotation.Cur
    member c.Next = c.Query Rotation.Next
    member c.Prev = c.Query Rotation.Prev
    override _.ToString() = sprintf "instance[%d]" index

/// A selector: a boolean fixed column enabled per row by regions, queried at the current row.
[<Struct>]
type Selector internal (index: int) =
    member _.Index = index
    member _.Expr = Expression.Selector index
    override _.ToString() = sprintf "selector[%d]" index

/// A fixed column that holds a lookup table (filled by `Layouter.AssignTable`).
[<Struct>]
type TableColumn internal (column: FixedColumn) =
    member _.Fixed = column
    member _.Column = column.Column
    override _.ToString() = sprintf "table(%O)" column
