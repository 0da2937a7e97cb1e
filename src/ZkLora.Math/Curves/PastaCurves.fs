/// The two Pasta curves as F# modules of thin, named functions over the generic `Point` /
/// `Affine` types (Curves/Point.fs), `HashToCurve` and `Msm`.
///
/// Pallas: y² = x³ + 5 over Fp, group order q (scalars are Fq), generator (p − 1, 2).
/// Vesta:  y² = x³ + 5 over Fq, group order p (scalars are Fp), generator (q − 1, 2).
namespace ZkLora.Math

open System
open System.Numerics

/// A Pallas point (projective coordinates).
type Pallas = Point<PallasBase, VestaBase>
/// A Pallas point in affine coordinates (identity = (0, 0)); the form MSM bases take.
type PallasAffine = Affine<PallasBase, VestaBase>
/// A Vesta point (projective coordinates).
type Vesta = Point<VestaBase, PallasBase>
/// A Vesta point in affine coordinates (identity = (0, 0)); the form MSM bases take.
type VestaAffine = Affine<VestaBase, PallasBase>

/// The Pallas curve: y² = x³ + 5 over Fp, scalars in Fq.
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Pallas =
    /// The group order (= the modulus of Fq).
    let order : BigInteger = Pallas.Order
    let generator : Pallas = Pallas.Generator
    let generatorAffine : PallasAffine = PallasAffine.Generator
    let identity : Pallas = Pallas.Identity
    let inline add (a: Pallas) (b: Pallas) : Pallas = a + b
    /// Mixed addition with an affine point (cheaper than `add`).
    let inline addAffine (a: Pallas) (b: PallasAffine) : Pallas = a.AddAffine b
    let inline sub (a: Pallas) (b: Pallas) : Pallas = a - b
    let inline neg (a: Pallas) : Pallas = -a
    let inline double (a: Pallas) : Pallas = a.Double()
    /// k·P, constant-time in k (use for secret scalars).
    let inline mul (p: Pallas) (k: Fq) : Pallas = p * k
    /// k·P, variable-time width-5 wNAF: only for public scalars.
    let inline mulVartime (p: Pallas) (k: Fq) : Pallas = p.MulVartime k
    let inline isIdentity (p: Pallas) = p.IsIdentity
    let inline isOnCurve (p: Pallas) = p.IsOnCurve
    let inline equal (a: Pallas) (b: Pallas) = a.Equals b
    let inline toAffine (p: Pallas) : PallasAffine = p.ToAffine()
    let inline ofAffine (a: PallasAffine) : Pallas = Pallas.OfAffine a
    /// Affine coordinates as canonical integers, None for the identity.
    let inline toBigIntegers (p: Pallas) : (BigInteger * BigInteger) option = p.ToAffine().ToBigIntegers()
    /// Validates integer coordinates (reduced modulo the field; must satisfy the curve equation).
    let ofBigIntegers (x: BigInteger) (y: BigInteger) : Result<PallasAffine, string> =
        PallasAffine.TryCreate(Fp.OfBigInteger x, Fp.OfBigInteger y)
    /// Many points to affine with one inversion per chunk.
    let inline batchNormalize (points: Pallas[]) : PallasAffine[] = Pallas.BatchNormalize points
    /// Compressed 32-byte encoding (x little-endian, bit 255 = parity of y, identity = zeros).
    let inline toBytes (p: Pallas) : byte[] = p.ToAffine().ToBytes()
    let inline affineToBytes (a: PallasAffine) : byte[] = a.ToBytes()
    /// Strict decoding of `toBytes`' format; every malformed input is an Error with a reason.
    let inline ofBytes (bytes: byte[]) : Result<Pallas, string> =
        if isNull bytes then Error "pallas point encoding is null"
        else PallasAffine.TryReadBytes(ReadOnlySpan bytes) |> Result.map Pallas.OfAffine
    let inline affineOfBytes (bytes: ReadOnlySpan<byte>) : Result<PallasAffine, string> = PallasAffine.TryReadBytes bytes
    /// The point for (domain, index) by try-and-increment over BLAKE3 (see HashToCurve).
    let inline hashToCurve (domain: string) (index: uint32) : PallasAffine = HashToCurve<PallasBase, VestaBase>.Hash(domain, index)
    /// hashToCurve domain 0 … count−1, computed in parallel: transparent commitment bases.
    let inline generators (domain: string) (count: int) : PallasAffine[] = HashToCurve<PallasBase, VestaBase>.Generators(domain, count)
    /// Σ scalars[i]·bases[i] (Pippenger, parallel, variable-time); lengths must match.
    let inline msm (bases: PallasAffine[]) (scalars: Fq[]) : Pallas = Msm<PallasBase, VestaBase>.Compute(bases, scalars)
    /// The same over (slices of) memory.
    let inline msmMemory (bases: ReadOnlyMemory<PallasAffine>) (scalars: ReadOnlyMemory<Fq>) : Pallas = Msm<PallasBase, VestaBase>.Compute(bases, scalars)
    /// Reference MSM (one scalar multiplication per term), for tests.
    let inline msmNaive (bases: PallasAffine[]) (scalars: Fq[]) : Pallas = Msm<PallasBase, VestaBase>.Naive(ReadOnlySpan bases, ReadOnlySpan scalars)

/// The Vesta curve: y² = x³ + 5 over Fq, scalars in Fp.
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Vesta =
    /// The group order (= the modulus of Fp).
    let order : BigInteger = Vesta.Order
    let generator : Vesta = Vesta.Generator
    let generatorAffine : VestaAffine = VestaAffine.Generator
    let identity : Vesta = Vesta.Identity
    let inline add (a: Vesta) (b: Vesta) : Vesta = a + b
    /// Mixed addition with an affine point (cheaper than `add`).
    let inline addAffine (a: Vesta) (b: VestaAffine) : Vesta = a.AddAffine b
    let inline sub (a: Vesta) (b: Vesta) : Vesta = a - b
    let inline neg (a: Vesta) : Vesta = -a
    let inline double (a: Vesta) : Vesta = a.Double()
    /// k·P, constant-time in k (use for secret scalars).
    let inline mul (p: Vesta) (k: Fp) : Vesta = p * k
    /// k·P, variable-time width-5 wNAF: only for public scalars.
    let inline mulVartime (p: Vesta) (k: Fp) : Vesta = p.MulVartime k
    let inline isIdentity (p: Vesta) = p.IsIdentity
    let inline isOnCurve (p: Vesta) = p.IsOnCurve
    let inline equal (a: Vesta) (b: Vesta) = a.Equals b
    let inline toAffine (p: Vesta) : VestaAffine = p.ToAffine()
    let inline ofAffine (a: VestaAffine) : Vesta = Vesta.OfAffine a
    /// Affine coordinates as canonical integers, None for the identity.
    let inline toBigIntegers (p: Vesta) : (BigInteger * BigInteger) option = p.ToAffine().ToBigIntegers()
    /// Validates integer coordinates (reduced modulo the field; must satisfy the curve equation).
    let ofBigIntegers (x: BigInteger) (y: BigInteger) : Result<VestaAffine, string> =
        VestaAffine.TryCreate(Fq.OfBigInteger x, Fq.OfBigInteger y)
    /// Many points to affine with one inversion per chunk.
    let inline batchNormalize (points: Vesta[]) : VestaAffine[] = Vesta.BatchNormalize points
    /// Compressed 32-byte encoding (x little-endian, bit 255 = parity of y, identity = zeros).
    let inline toBytes (p: Vesta) : byte[] = p.ToAffine().ToBytes()
    let inline affineToBytes (a: VestaAffine) : byte[] = a.ToBytes()
    /// Strict decoding of `toBytes`' format; every malformed input is an Error with a reason.
    let inline ofBytes (bytes: byte[]) : Result<Vesta, string> =
        if isNull bytes then Error "vesta point encoding is null"
        else VestaAffine.TryReadBytes(ReadOnlySpan bytes) |> Result.map Vesta.OfAffine
    let inline affineOfBytes (bytes: ReadOnlySpan<byte>) : Result<VestaAffine, string> = VestaAffine.TryReadBytes bytes
    /// The point for (domain, index) by try-and-increment over BLAKE3 (see HashToCurve).
    let inline hashToCurve (domain: string) (index: uint32) : VestaAffine = HashToCurve<VestaBase, PallasBase>.Hash(domain, index)
    /// hashToCurve domain 0 … count−1, computed in parallel: transparent commitment bases.
    let inline generators (domain: string) (count: int) : VestaAffine[] = HashToCurve<VestaBase, PallasBase>.Generators(domain, count)
    /// Σ scalars[i]·bases[i] (Pippenger, parallel, variable-time); lengths must match.
    let inline msm (bases: VestaAffine[]) (scalars: Fp[]) : Vesta = Msm<VestaBase, PallasBase>.Compute(bases, scalars)
    /// The same over (slices of) memory.
    let inline msmMemory (bases: ReadOnlyMemory<VestaAffine>) (scalars: ReadOnlyMemory<Fp>) : Vesta = Msm<VestaBase, PallasBase>.Compute(bases, scalars)
    /// Reference MSM (one scalar multiplication per term), for tests.
    let inline msmNaive (bases: VestaAffine[]) (scalars: Fp[]) : Vesta = Msm<VestaBase, PallasBase>.Naive(ReadOnlySpan bases, ReadOnlySpan scalars)
