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
    // add ±Q (Q given per entry) to the accumulators
    let addStep (qx: int -> Fq) (qy: int -> Fq) =
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
    for t in digits.Length - 2 .. -1 .. 0 do
        // doubling: λ = 3x²/(2y)
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
        let digits = naf u
        let chunks = max 1 (min (Environment.ProcessorCount * 2) (half / 512))
        let size = (half + chunks - 1) / chunks
        Threading.Tasks.Parallel.For(0, chunks, fun c ->
            let start = c * size
            let count = min size (half - start)
            if count > 0 then foldChunk points half u digits out start count) |> ignore
        out

