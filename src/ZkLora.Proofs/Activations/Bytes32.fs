namespace ZkLora.Proofs

open System
open System.Buffers
open System.Security.Cryptography

/// An immutable 32-byte value: a BLAKE3 digest (Merkle root, node) or a commitment nonce.
/// Text form is "0x" followed by 64 hex digits (written lower case; read in either case,
/// with or without the prefix).
[<Sealed>]
type Bytes32 private (data: byte[]) =

    /// Size in bytes.
    static member Size = 32

    /// The all-zero value: the root of an empty activation list and the Merkle padding node.
    static member Zero = Bytes32(Array.zeroCreate 32)

    /// Copies exactly 32 bytes; any other length is a caller bug.
    static member FromSpan(bytes: ReadOnlySpan<byte>) =
        if bytes.Length <> 32 then
            invalidArg "bytes" (sprintf "expected 32 bytes, got %d" bytes.Length)
        Bytes32(bytes.ToArray())

    /// Takes ownership of a 32-byte array the caller will not touch again (no copy).
    static member internal Own(bytes: byte[]) =
        if bytes.Length <> 32 then invalidArg "bytes" "expected 32 bytes"
        Bytes32 bytes

    /// 32 bytes from the operating system's CSPRNG.
    static member Random() = Bytes32(RandomNumberGenerator.GetBytes 32)

    /// Parses exactly 64 hex digits (either case), optionally prefixed by "0x" or "0X" (the
    /// original Python zkLoRA strips such a prefix when present); anything else is None.
    static member TryParseHex(text: string) : Bytes32 option =
        if isNull text then
            None
        else
            let digits =
                if text.Length >= 2 && text[0] = '0' && (text[1] = 'x' || text[1] = 'X') then text.AsSpan 2
                else text.AsSpan()
            let bytes = Array.zeroCreate<byte> 32
            let mutable consumed = 0
            let mutable written = 0
            if digits.Length <> 64 then None
            else
                match Convert.FromHexString(digits, Span<byte> bytes, &consumed, &written) with
                | OperationStatus.Done when written = 32 -> Some(Bytes32 bytes)
                | _ -> None

    /// Read-only view of the bytes.
    member _.Span = ReadOnlySpan<byte> data

    /// A fresh copy of the bytes.
    member _.ToArray() = Array.copy data

    /// The array itself, for internal hashing code that only reads it.
    member internal _.Raw = data

    /// True when every byte is zero.
    member _.IsZero = Array.forall ((=) 0uy) data

    /// "0x" + 64 lower-case hex digits.
    member _.ToHex() = "0x" + Convert.ToHexStringLower data

    override this.ToString() = this.ToHex()

    /// Constant-time comparison (roots are public, nonces are not; one rule for both).
    override _.Equals(other: obj) =
        match other with
        | :? Bytes32 as o -> CryptographicOperations.FixedTimeEquals(ReadOnlySpan<byte> data, o.Span)
        | _ -> false

    override _.GetHashCode() = BitConverter.ToInt32(data, 0)

    interface IEquatable<Bytes32> with
        member this.Equals(other: Bytes32) = this.Equals(box other)
