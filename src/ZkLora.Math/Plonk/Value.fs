namespace ZkLora.Math.Plonk

open ZkLora.Math

/// A mistake in a circuit's definition or synthesis (wrong column kind, a cell outside
/// the usable rows, a copy involving a column without equality, reading a witness value
/// during key generation…). Raised while the circuit's own code runs; the public entry
/// points turn it into an `Error`.
exception CircuitException of string

/// A witness value that may be unknown. Key generation synthesizes a circuit without
/// its witness (every advice value `Unknown`); proving and the MockProver need every
/// advice value `Known`. Arithmetic propagates `Unknown`, so a circuit author writes
/// one synthesis routine for both uses (the idea of halo2's `Value<F>`).
[<Struct; CustomEquality; NoComparison>]
type Value =
    val IsKnown: bool
    val private inner: Fp
    private new(known, v) = { IsKnown = known; inner = v }
    static member Known(v: Fp) = Value(true, v)
    static member Unknown = Value(false, Fp.Zero)
    /// The value; raises CircuitException when unknown (synthesis without a witness, as in
    /// key generation, must not read witness values: use the operators or TryGet).
    member x.Get() =
        if x.IsKnown then x.inner
        else raise (CircuitException "a witness value was read while synthesizing without a witness (key generation); use Value arithmetic or TryGet")
    /// The value, or ValueNone when unknown.
    member x.TryGet() = if x.IsKnown then ValueSome x.inner else ValueNone
    member x.Map(f: Fp -> Fp) = if x.IsKnown then Value(true, f x.inner) else Value.Unknown
    static member Map2(a: Value, b: Value, f: Fp -> Fp -> Fp) =
        if a.IsKnown && b.IsKnown then Value(true, f a.inner b.inner) else Value.Unknown
    static member (+)(a: Value, b: Value) = Value.Map2(a, b, (+))
    static member (-)(a: Value, b: Value) = Value.Map2(a, b, (-))
    static member (*)(a: Value, b: Value) = Value.Map2(a, b, (*))
    static member (~-)(a: Value) = a.Map(fun v -> -v)
    static member (+)(a: Value, b: Fp) = a.Map(fun v -> v + b)
    static member (-)(a: Value, b: Fp) = a.Map(fun v -> v - b)
    static member (*)(a: Value, b: Fp) = a.Map(fun v -> v * b)
    static member (*)(a: Fp, b: Value) = b.Map(fun v -> a * v)
    /// Inverse of a known non-zero value; an unknown stays unknown; zero maps to zero
    /// (the convention that keeps "is-zero" style gadgets total).
    member x.InvertOrZero() = x.Map(fun v -> match v.TryInvert() with ValueSome i -> i | ValueNone -> Fp.Zero)
    member x.Equals(y: Value) = x.IsKnown = y.IsKnown && x.inner.Equals y.inner
    override x.Equals(o: obj) =
        match o with
        | :? Value as y -> x.Equals y
        | _ -> false
    override x.GetHashCode() = if x.IsKnown then x.inner.GetHashCode() else 0
    override x.ToString() = if x.IsKnown then x.inner.ToString() else "<unknown>"
    interface System.IEquatable<Value> with
        member x.Equals y = x.Equals y

[<RequireQualifiedAccess>]
module Value =
    let known (v: Fp) = Value.Known v
    let unknown = Value.Unknown
    let ofInt64 (v: int64) = Value.Known(Fp.OfInt64 v)
    let map (f: Fp -> Fp) (v: Value) = v.Map f
    let map2 (f: Fp -> Fp -> Fp) (a: Value) (b: Value) = Value.Map2(a, b, f)
    /// Σ values (unknown if any is unknown).
    let sum (vs: Value seq) = Seq.fold (+) (Value.Known Fp.Zero) vs
