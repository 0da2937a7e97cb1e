/// The generator folding of one inner-product-argument round on Vesta,
/// [g_i + u·g_(half+i) for i < half], batched in affine coordinates (beside the MSM: both
/// are bulk curve arithmetic the commitment scheme builds on).
module ZkLora.Math.VestaFold

open System
open ZkLora.Math

/// Non-adjacent form of a (public) scalar, least significant digit first (digits -1, 0, 1).
let private naf (u: Fp) : sbyte[] =
    let mutable k = u.ToBigInteger()
    let digits = ResizeArray<sbyte>()
    while k.Sign > 0 do
        if k.IsEven then digits.Add 0y
        else
            let d = if int (k % Numerics.BigInteger 4) = 1 then 1 else -1
            digits.Add(sbyte d)
            k <- k - Numerics.BigInteger d
        k <- k >>> 1
    digits.ToArray()

/// In-place batch inversion of the entries of `d` where `skip` is false (others untouched);
/// `prefix` is scratch of the same length. Entries must be non-zero.
let private batchInvert (d: Fq[]) (skip: bool[]) (prefix: Fq[]) (count: int) =
    let mutable acc = Fq.One
    for j in 0 .. count - 1 do
        prefix[j] <- acc
        if not skip[j] then acc <- acc * d[j]
    let mutable inv = acc.Invert()
    for j in count - 1 .. -1 .. 0 do
        if not skip[j] then
            let dj = d[j]
            d[j] <- inv * prefix[j]
            inv <- inv * dj

/// Adds ±Q_j (coordinates given per entry by qx, qy) to the affine accumulators (xs, ys) of the
/// entries not in fallback, with one shared inversion; an entry whose denominator is zero
/// (the accumulator meets ±Q_j) moves to fallback.
let private batchAdd (xs: Fq[]) (ys: Fq[]) (den: Fq[]) (prefix: Fq[]) (fallback: bool[]) (count: int) (qx: int -> Fq) (qy: int -> Fq) =
    for j in 0 .. count - 1 do
        if not fallback[j] then
            let d = qx j - xs[j]
            if d.IsZero then fallback[j] <- true else den[j] <- d
    batchInvert den fallback prefix count
    for j in 0 .. count - 1 do
        if not fallback[j] then
            let x2 = qx j
            let l = (qy j - ys[j]) * den[j]
            let x3 = l.Square() - xs[j] - x2
            ys[j] <- l * (xs[j] - x3) - ys[j]
            xs[j] <- x3

/// Doubles the affine accumulators (λ = 3x²/(2y)) of the entries not in fallback, with one
/// shared inversion; an entry with y = 0 moves to fallback.
let private batchDouble (xs: Fq[]) (ys: Fq[]) (den: Fq[]) (prefix: Fq[]) (fallback: bool[]) (count: int) =
    for j in 0 .. count - 1 do
        if not fallback[j] then
            let d = ys[j] + ys[j]
            if d.IsZero then fallback[j] <- true else den[j] <- d
    batchInvert den fallback prefix count
    for j in 0 .. count - 1 do
        if not fallback[j] then
            let x2 = xs[j].Square()
            let l = (x2 + x2 + x2) * den[j]
            let x3 = l.Square() - xs[j] - xs[j]
            ys[j] <- l * (xs[j] - x3) - ys[j]
            xs[j] <- x3

/// out[i] = lo[i] + u·hi[i] for i in [start, start + count), by simultaneous double-and-add
/// over the NAF of u in affine coordinates: every step shares one field inversion across
/// the chunk (≈ 7 multiplications per doubling, 6 per addition, against ≈ 12 and 14 for
/// complete projective formulas). Exceptional cases (a zero denominator: an identity, or
/// the accumulator meeting ±P) fall back to projective arithmetic for that entry.
let private foldChunk (points: VestaAffine[]) (half: int) (u: Fp) (digits: sbyte[]) (out: VestaAffine[]) (start: int) (count: int) =
    let xs = Array.zeroCreate<Fq> count
    let ys = Array.zeroCreate<Fq> count
    let den = Array.zeroCreate<Fq> count
    let prefix = Array.zeroCreate<Fq> count
    let fallback = Array.zeroCreate<bool> count
    for j in 0 .. count - 1 do
        let p = points[half + start + j]
        xs[j] <- p.X
        ys[j] <- p.Y
        if p.IsIdentity then fallback[j] <- true
    let addStep = batchAdd xs ys den prefix fallback count
    for t in digits.Length - 2 .. -1 .. 0 do
        batchDouble xs ys den prefix fallback count
        match digits[t] with
        | 1y -> addStep (fun j -> points[half + start + j].X) (fun j -> points[half + start + j].Y)
        | -1y -> addStep (fun j -> points[half + start + j].X) (fun j -> -points[half + start + j].Y)
        | _ -> ()
    // + lo[i]
    for j in 0 .. count - 1 do
        if not fallback[j] && points[start + j].IsIdentity then fallback[j] <- true
    addStep (fun j -> points[start + j].X) (fun j -> points[start + j].Y)
    for j in 0 .. count - 1 do
        let i = start + j
        out[i] <-
            if fallback[j] then Vesta.OfAffine(points[half + i]).MulVartime(u).AddAffine(points[i]).ToAffine()
            else VestaAffine(xs[j], ys[j])

/// The Pasta endomorphism on Vesta: φ(x, y) = (ζ·x, y) = λ·(x, y) with ζ a primitive cube
/// root of unity in Fq and λ one in Fp (both found at first use from the moduli; the pair is
/// checked on a point, the other root of Fp taken if needed), and a reduced basis
/// (a1, b1), (a2, b2) of the lattice {(a, b) : a + b·λ ≡ 0 mod p} from the extended Euclidean
/// algorithm on (p, λ) (Gallant–Lambert–Vanstone; Hankerson–Menezes–Vanstone, Alg. 3.74).
/// A scalar k is then k1 + k2·λ with |k1|, |k2| ≈ √p, so k·P = k1·P + k2·φ(P) needs about
/// half the doublings.
let private endo =
    lazy (
        let q = Fq.Modulus
        let p = Fp.Modulus
        let cubeRoot (m: Numerics.BigInteger) =
            let mutable c = Numerics.BigInteger 2
            let mutable r = Numerics.BigInteger.One
            while r.IsOne do
                r <- Numerics.BigInteger.ModPow(c, (m - Numerics.BigInteger.One) / Numerics.BigInteger 3, m)
                c <- c + Numerics.BigInteger.One
            r
        let zeta = Fq.OfBigInteger(cubeRoot q)
        let pt = Vesta.hashToCurve "zklora/vesta-fold/endomorphism-check" 0u
        let phi = VestaAffine(zeta * pt.X, pt.Y)
        let l0 = cubeRoot p
        let lam =
            if Vesta.toAffine (Vesta.ofAffine pt * Fp.OfBigInteger l0) = phi then l0
            else
                let l1 = l0 * l0 % p
                if Vesta.toAffine (Vesta.ofAffine pt * Fp.OfBigInteger l1) = phi then l1
                else failwith "VestaFold: no endomorphism eigenvalue matches"
        let isqrt (n: Numerics.BigInteger) =
            let mutable x = Numerics.BigInteger.One <<< (int (n.GetBitLength()) / 2 + 1)
            let mutable go = true
            while go do
                let y = (x + n / x) / Numerics.BigInteger 2
                if y >= x then go <- false else x <- y
            x
        let root = isqrt p
        let mutable rPrev, rCur = p, lam
        let mutable tPrev, tCur = Numerics.BigInteger.Zero, Numerics.BigInteger.One
        while rCur >= root do
            let qq = rPrev / rCur
            let rNext, tNext = rPrev - qq * rCur, tPrev - qq * tCur
            rPrev <- rCur
            rCur <- rNext
            tPrev <- tCur
            tCur <- tNext
        let a1, b1 = rCur, -tCur
        let qq = rPrev / rCur
        let rNext, tNext = rPrev - qq * rCur, tPrev - qq * tCur
        let a2, b2 =
            if rPrev * rPrev + tPrev * tPrev <= rNext * rNext + tNext * tNext then rPrev, -tPrev else rNext, -tNext
        zeta, lam, (a1, b1, a2, b2))

/// k = k1 + k2·λ mod p with |k1|, |k2| about √p (k canonical in [0, p)).
let internal decompose (k: Fp) : Numerics.BigInteger * Numerics.BigInteger =
    let _, _, (a1, b1, a2, b2) = endo.Force()
    let p = Fp.Modulus
    let kv = k.ToBigInteger()
    // round(x / p) for a possibly negative x
    let roundDiv (x: Numerics.BigInteger) =
        let twice = Numerics.BigInteger 2 * x + p
        let d = Numerics.BigInteger.Divide(twice, Numerics.BigInteger 2 * p)
        if twice.Sign < 0 && not (Numerics.BigInteger.Remainder(twice, Numerics.BigInteger 2 * p)).IsZero then d - Numerics.BigInteger.One else d
    let c1 = roundDiv (b2 * kv)
    let c2 = roundDiv (-b1 * kv)
    kv - c1 * a1 - c2 * a2, -c1 * b1 - c2 * b2

/// out[i] = lo[i] + k1·hi[i] + k2·φ(hi[i]) (= lo[i] + u·hi[i]) by a joint double-and-add
/// over the NAFs of |k1| and |k2|, batch-affine as foldChunk; exceptional entries fall back
/// to projective arithmetic with u.
let private foldChunkGlv (points: VestaAffine[]) (half: int) (u: Fp) (zeta: Fq) (e1: sbyte[]) (e2: sbyte[]) (out: VestaAffine[]) (start: int) (count: int) =
    let xs = Array.zeroCreate<Fq> count
    let ys = Array.zeroCreate<Fq> count
    let den = Array.zeroCreate<Fq> count
    let prefix = Array.zeroCreate<Fq> count
    let fallback = Array.zeroCreate<bool> count
    let hiX j = points[half + start + j].X
    let hiY j = points[half + start + j].Y
    for j in 0 .. count - 1 do
        if points[half + start + j].IsIdentity || points[start + j].IsIdentity then fallback[j] <- true
    let addStep = batchAdd xs ys den prefix fallback count
    let addDigits (d1: sbyte) (d2: sbyte) =
        if d1 <> 0y then addStep hiX (fun j -> if d1 > 0y then hiY j else -(hiY j))
        if d2 <> 0y then addStep (fun j -> zeta * hiX j) (fun j -> if d2 > 0y then hiY j else -(hiY j))
    let len = max e1.Length e2.Length
    let at (e: sbyte[]) t = if t < e.Length then e[t] else 0y
    // start the accumulators at the top digit(s)
    let top = len - 1
    let t1, t2 = at e1 top, at e2 top
    for j in 0 .. count - 1 do
        if t1 <> 0y then
            xs[j] <- hiX j
            ys[j] <- if t1 > 0y then hiY j else -(hiY j)
        else
            xs[j] <- zeta * hiX j
            ys[j] <- if t2 > 0y then hiY j else -(hiY j)
    if t1 <> 0y && t2 <> 0y then addDigits 0y t2
    for t in top - 1 .. -1 .. 0 do
        batchDouble xs ys den prefix fallback count
        addDigits (at e1 t) (at e2 t)
    addStep (fun j -> points[start + j].X) (fun j -> points[start + j].Y)
    for j in 0 .. count - 1 do
        let i = start + j
        out[i] <-
            if fallback[j] then Vesta.OfAffine(points[half + i]).MulVartime(u).AddAffine(points[i]).ToAffine()
            else VestaAffine(xs[j], ys[j])

/// NAF digits of k·sign (sign folded into the digits), least significant first.
let private signedNaf (k: Numerics.BigInteger) : sbyte[] =
    let d = naf (Fp.OfBigInteger(Numerics.BigInteger.Abs k))
    if k.Sign < 0 then d |> Array.map (fun x -> -x) else d

/// [g_i + u·g_(half+i)] for a public u.
let fold (points: VestaAffine[]) (half: int) (u: Fp) : VestaAffine[] =
    let out = Array.zeroCreate<VestaAffine> half
    if u.IsZero then
        Array.blit points 0 out 0 half
        out
    elif half < 512 then
        let folded = Array.init half (fun i -> Vesta.OfAffine(points[half + i]).MulVartime(u).AddAffine(points[i]))
        Vesta.batchNormalize folded
    else
        let chunks = max 1 (min (Environment.ProcessorCount * 2) (half / 512))
        let size = (half + chunks - 1) / chunks
        // the endomorphism halves the doublings of a full-width scalar; a short one (the
        // IPA's 128-bit challenges) already has half as many and keeps the plain NAF
        let useGlv = u.ToBigInteger().GetBitLength() > 160L
        let zeta, _, _ = endo.Force()
        let e1, e2 = if useGlv then (let k1, k2 = decompose u in signedNaf k1, signedNaf k2) else [||], [||]
        let digits = if useGlv then [||] else naf u
        Threading.Tasks.Parallel.For(0, chunks, fun c ->
            let start = c * size
            let count = min size (half - start)
            if count > 0 then
                if useGlv then foldChunkGlv points half u zeta e1 e2 out start count
                else foldChunk points half u digits out start count) |> ignore
        out

/// The eigenvalue λ of the endomorphism φ(x, y) = (ζ·x, y) on Vesta (φ(P) = λ·P).
let endomorphismEigenvalue () : Fp = (let _, lam, _ = endo.Force() in Fp.OfBigInteger lam)

/// [g_i + u·g_(half+i)] for u = k1 + k2·λ with short k1, k2 given by the caller (an
/// "endoscaled" challenge: the doublings follow max(|k1|, |k2|), 64 bits for 64-bit halves).
/// The caller guarantees u ≡ k1 + k2·λ (mod p); exceptional entries use u directly.
let foldEndo (points: VestaAffine[]) (half: int) (u: Fp) (k1: Numerics.BigInteger) (k2: Numerics.BigInteger) : VestaAffine[] =
    if half < 512 || u.IsZero then fold points half u
    else
        let out = Array.zeroCreate<VestaAffine> half
        let chunks = max 1 (min (Environment.ProcessorCount * 2) (half / 512))
        let size = (half + chunks - 1) / chunks
        let zeta, _, _ = endo.Force()
        let e1, e2 = signedNaf k1, signedNaf k2
        Threading.Tasks.Parallel.For(0, chunks, fun c ->
            let start = c * size
            let count = min size (half - start)
            if count > 0 then foldChunkGlv points half u zeta e1 e2 out start count) |> ignore
        out

