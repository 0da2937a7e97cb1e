/// Polynomial operations on plain arrays (coefficients low to high, or values on H) as the
/// proving system uses them, backed by `EvaluationDomain` and `Coefficients`.
namespace ZkLora.Math.Poly

open System
open System.Collections.Concurrent
open ZkLora.Math

/// Polynomial operations (coefficients low to high) on plain arrays, backed by Poly/.
module internal PolyOps =
    // Domains by log size, held through weak references: a domain (its twiddle table, up to
    // 2^(k−1) field elements) is shared while proofs use it and collected after, instead of
    // staying resident for the life of the process. Rebuilding one costs O(n) field
    // multiplications, negligible next to the FFTs it serves.
    let private domains = ConcurrentDictionary<int, WeakReference<EvaluationDomain<PallasBase>>>()

    let private log2 (n: int) =
        let k = Numerics.BitOperations.Log2(uint32 n)
        if n <= 0 || (1 <<< k) <> n then invalidArg "n" "size must be a power of two"
        k

    /// The (cached) domain of size n (no extension).
    let domain (n: int) : EvaluationDomain<PallasBase> =
        let k = log2 n
        let create () = EvaluationDomain<PallasBase>.Create(k, 0)
        let weak = domains.GetOrAdd(k, fun _ -> WeakReference<EvaluationDomain<PallasBase>>(create ()))
        lock weak (fun () ->
            match weak.TryGetTarget() with
            | true, d -> d
            | false, _ ->
                let d = create ()
                weak.SetTarget d
                d)

    /// Evaluations at ω^i (i < n) of the polynomial with coefficients `a` (in place).
    let fft (a: Fp[]) = (domain a.Length).FftInPlace a

    /// Coefficients from evaluations at the n-th roots of unity (in place).
    let ifft (a: Fp[]) = (domain a.Length).IFftInPlace a

    /// Evaluations at shift·ω^i of `coeffs` padded to `size` (a new array).
    let cosetFft (coeffs: Fp[]) (size: int) (shift: Fp) =
        if coeffs.Length > size then invalidArg "coeffs" "polynomial longer than the coset"
        let a = Array.zeroCreate size
        Array.blit coeffs 0 a 0 coeffs.Length
        (domain size).FftOnCosetInPlace(a, shift)
        a

    /// Coefficients from evaluations at shift·ω^i (in place).
    let cosetIfft (a: Fp[]) (shift: Fp) = (domain a.Length).IFftOnCosetInPlace(a, shift.Invert())

    /// l_i(x) for the given rows of the size-n domain (EvaluationDomain.LagrangeBasisAt).
    let lagrangeAt (n: int) (x: Fp) (rows: int[]) = (domain n).LagrangeBasisAt(x, rows)

    /// l_i(x) for every row of the size-n domain.
    let lagrangeBasis (n: int) (x: Fp) = (domain n).LagrangeBasis x

    /// p(x).
    let evaluate (coeffs: Fp[]) (x: Fp) = Coefficients.evaluate (Polynomial.ofOwnedArray<PallasBase, Coeff> coeffs) x

    /// (p(X) - p(z)) / (X - z), same length as p (top coefficient 0).
    let divideByLinear (coeffs: Fp[]) (z: Fp) =
        let struct (q, _) = Coefficients.divideByLinear (Polynomial.ofOwnedArray<PallasBase, Coeff> coeffs) z
        let out = Array.zeroCreate coeffs.Length
        q.Values.CopyTo(Span(out, 0, q.Length))
        out

