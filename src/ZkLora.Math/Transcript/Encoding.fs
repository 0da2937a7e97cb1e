/// Strict little-endian encodings (proofs, verifying keys, digests).
namespace ZkLora.Math.Transcript

open System
open System.Buffers.Binary
open System.IO
open System.Text
open ZkLora.Math

/// Append-only little-endian writer for canonical encodings (keys, proofs, digests).
[<Sealed>]
type ByteWriter() =
    let ms = new MemoryStream()
    let scratch = Array.zeroCreate<byte> 32
    member _.Byte(v: byte) = ms.WriteByte v
    member _.UInt32(v: uint32) =
        BinaryPrimitives.WriteUInt32LittleEndian(Span(scratch, 0, 4), v)
        ms.Write(scratch, 0, 4)
    member w.Int32(v: int) = w.UInt32(uint32 v)
    member _.UInt64(v: uint64) =
        BinaryPrimitives.WriteUInt64LittleEndian(Span(scratch, 0, 8), v)
        ms.Write(scratch, 0, 8)
    member _.Fp(v: Fp) =
        v.WriteBytes(Span scratch)
        ms.Write(scratch, 0, 32)
    member _.Bytes(v: ReadOnlySpan<byte>) = ms.Write v
    member w.Bytes(v: byte[]) = w.Bytes(ReadOnlySpan v)
    /// Length-prefixed UTF-8 string.
    member w.String(s: string) =
        let b = Encoding.UTF8.GetBytes s
        w.Int32 b.Length
        w.Bytes b
    member _.Length = int ms.Length
    member _.ToArray() = ms.ToArray()

/// A malformed encoding, raised inside decoders and turned into `Error` at their boundary.
exception internal DecodeException of string

/// Strict reader: every read checks the remaining length; field elements must be
/// canonical; `Finish` rejects trailing bytes. Errors name the field and the offset.
[<Sealed>]
type ByteReader(data: byte[], what: string) =
    let mutable pos = 0
    let fail fmt = Printf.ksprintf (fun s -> raise (DecodeException(sprintf "%s: %s" what s))) fmt
    let need (n: int) (field: string) =
        if n < 0 || data.Length - pos < n then
            fail "truncated: %s needs %d bytes at offset %d, %d left" field n pos (data.Length - pos)
    member _.Position = pos
    member _.Remaining = data.Length - pos
    member _.Byte(field: string) =
        need 1 field
        pos <- pos + 1
        data[pos - 1]
    member _.UInt32(field: string) =
        need 4 field
        pos <- pos + 4
        BinaryPrimitives.ReadUInt32LittleEndian(ReadOnlySpan(data, pos - 4, 4))
    member r.Int32(field: string) =
        let v = r.UInt32 field
        if v > uint32 Int32.MaxValue then fail "%s = %d at offset %d is out of range" field v (pos - 4)
        int v
    member _.UInt64(field: string) =
        need 8 field
        pos <- pos + 8
        BinaryPrimitives.ReadUInt64LittleEndian(ReadOnlySpan(data, pos - 8, 8))
    member _.Fp(field: string) : Fp =
        need 32 field
        match Fp.TryReadBytes(ReadOnlySpan(data, pos, 32)) with
        | Ok v ->
            pos <- pos + 32
            v
        | Error e -> fail "%s at offset %d: %s" field pos e
    member _.Bytes(n: int, field: string) =
        need n field
        pos <- pos + n
        ReadOnlySpan(data, pos - n, n)
    member r.Expect(expected: ReadOnlySpan<byte>, field: string) =
        let at = pos
        let got = r.Bytes(expected.Length, field)
        if not (got.SequenceEqual expected) then fail "bad %s at offset %d" field at
    /// Rejects trailing bytes.
    member _.Finish() =
        if pos <> data.Length then fail "%d trailing byte(s) after offset %d" (data.Length - pos) pos

module internal Decode =
    /// Runs a decoder, turning decode failures into Error.
    let run (f: unit -> 'T) : Result<'T, string> =
        try Ok(f ())
        with DecodeException msg -> Error msg
