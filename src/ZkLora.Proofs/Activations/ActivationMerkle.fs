/// The BLAKE3 Merkle tree of the activation commitment, bit-compatible with the original
/// Python zkLoRA:
///   leaf_i = BLAKE3(be64(value_i) || nonce)          (40 bytes in)
///   parent = BLAKE3(left || right)                    (64 bytes in)
///   a level of odd length gets a 32-zero-byte right neighbour, except a root; the leaf
///   level counts as never being the root (the original pads it even for one value);
///   no values -> root = 32 zero bytes; one value -> root = BLAKE3(leaf || zeros).
/// So the tree shape is a function of the value count n alone: level k has
/// L_k = ceil(n / 2^k) nodes and the height is ceil(log2 n), but 1 for n = 1.
///
/// Security note. Binding: two different value lists (or one position with two values)
/// under the same root need a BLAKE3 collision. Leaves (40-byte inputs) and inner nodes
/// (64-byte inputs) can never be confused without a collision either, because BLAKE3 of
/// different-length inputs are unrelated outputs; this is what pins the tree height in an
/// opening. Hiding: while the 256-bit nonce stays secret, the root is a pseudorandom
/// function of the values and reveals nothing but itself. The nonce is shared by all
/// leaves (the original's format), so whoever learns it can test guesses for any leaf.
///
/// Memory: the builder streams. Values arrive in blocks of 2^16; each block is hashed (in
/// parallel) into one subtree node and pushed into a frontier of at most one pending node
/// per level, so building a root needs O(block + log n) memory whatever n is.
module ZkLora.Proofs.ActivationMerkle

open System
open System.Buffers.Binary
open System.Threading.Tasks
open Blake3

/// Bytes per digest and per nonce.
[<Literal>]
let HashSize = 32

/// log2 of the values hashed per block (a full block is an aligned perfect subtree).
[<Literal>]
let BlockLevels = 16

/// Values per block.
[<Literal>]
let BlockSize = 65536

/// Below this many hashes per level/block, threads cost more than they save.
[<Literal>]
let private ParallelThreshold = 8192

/// Hashes per parallel work item.
[<Literal>]
let private ChunkSize = 4096

/// Height of the tree over n values: 0 for none, 1 for one (its leaf is padded, as in the
/// original), else ceil(log2 n).
let height (n: int64) : int =
    if n <= 0L then 0
    elif n = 1L then 1
    else 64 - Numerics.BitOperations.LeadingZeroCount(uint64 (n - 1L))

/// ceil(n / 2^k): the number of nodes at level k of a tree over n values.
let levelLength (n: int64) (k: int) : int64 =
    if k = 0 then n else ((n - 1L) >>> k) + 1L

/// BLAKE3(be64(value) || nonce) into dest. `scratch` is a 40-byte work buffer.
let hashLeafInto (scratch: byte[]) (nonce: byte[]) (value: float) (dest: Span<byte>) =
    BinaryPrimitives.WriteInt64BigEndian(Span<byte>(scratch, 0, 8), BitConverter.DoubleToInt64Bits value)
    Buffer.BlockCopy(nonce, 0, scratch, 8, HashSize)
    Hasher.Hash(ReadOnlySpan<byte>(scratch, 0, 40), dest)

/// BLAKE3(left || right) into dest. `scratch` is a 64-byte work buffer.
let hashPairInto (scratch: byte[]) (left: ReadOnlySpan<byte>) (right: ReadOnlySpan<byte>) (dest: Span<byte>) =
    left.CopyTo(Span<byte>(scratch, 0, HashSize))
    right.CopyTo(Span<byte>(scratch, HashSize, HashSize))
    Hasher.Hash(ReadOnlySpan<byte>(scratch, 0, 64), dest)

/// Leaf hash of one value (allocating; for verifiers and tests).
let leafHash (nonce: Bytes32) (value: float) : Bytes32 =
    let out = Array.zeroCreate<byte> HashSize
    hashLeafInto (Array.zeroCreate 40) nonce.Raw value (Span<byte> out)
    Bytes32.Own out

/// Parent hash of two nodes (allocating; for verifiers and tests).
let parentHash (left: Bytes32) (right: Bytes32) : Bytes32 =
    let out = Array.zeroCreate<byte> HashSize
    hashPairInto (Array.zeroCreate 64) left.Span right.Span (Span<byte> out)
    Bytes32.Own out

/// Runs body(lo, hi) over [0, count) in chunks: on the thread pool when count is large.
let private forChunks (count: int) (body: int -> int -> unit) =
    if count < ParallelThreshold then
        body 0 count
    else
        let chunks = (count + ChunkSize - 1) / ChunkSize
        Parallel.For(0, chunks, fun c -> body (c * ChunkSize) (min count ((c + 1) * ChunkSize)))
        |> ignore

/// Leaf hashes of values[offset .. offset+count) into leaves[0 .. 32*count).
let private hashLeaves (nonce: byte[]) (values: float[]) (offset: int) (count: int) (leaves: byte[]) =
    forChunks count (fun lo hi ->
        let scratch = Array.zeroCreate<byte> 40
        for i in lo .. hi - 1 do
            hashLeafInto scratch nonce values[offset + i] (Span<byte>(leaves, i * HashSize, HashSize)))

/// One level up: nodes src[0 .. 2*pairs) -> dst[0 .. pairs) (distinct buffers).
let private hashLevel (src: byte[]) (dst: byte[]) (pairs: int) =
    forChunks pairs (fun lo hi ->
        for j in lo .. hi - 1 do
            Hasher.Hash(ReadOnlySpan<byte>(src, 2 * j * HashSize, 2 * HashSize), Span<byte>(dst, j * HashSize, HashSize)))

/// What a finished tree yields: the root, the value count, and when an opening was asked
/// for, the opened value with its sibling path (bottom-up, zero bytes where padding).
type TreeResult =
    { Root: Bytes32
      Count: int64
      Opened: (float * Bytes32 list) option }

/// Streaming builder. Feed values with AddBlock (every block but the last must hold exactly
/// BlockSize values), then call Finish once. Not thread-safe: one feeder at a time.
/// `target` is the index to open, or -1 for a plain root.
type TreeBuilder(nonce: Bytes32, target: int64) =
    let nonceBytes = nonce.Raw
    // pending left node per level (null = none); level 64 is never reached for int64 counts
    let frontier: byte[][] = Array.zeroCreate 65
    let siblings: byte[][] = Array.zeroCreate 64
    let mutable targetValue = nan
    let leafBuf = Array.zeroCreate<byte> (BlockSize * HashSize)
    let levelBuf = Array.zeroCreate<byte> (BlockSize / 2 * HashSize)
    let pairScratch = Array.zeroCreate<byte> 64
    let mutable count = 0L
    let mutable closed = false

    /// Keeps the node at (level, index) if it is the opened position's sibling there.
    let record (level: int) (index: int64) (node: ReadOnlySpan<byte>) =
        if target >= 0L && level < 64 && ((target >>> level) ^^^ 1L) = index then
            siblings[level] <- node.ToArray()

    /// Pushes the node at (level, index) into the frontier, carrying completed pairs upward.
    /// Nodes arrive left to right per level, so a pending node is always the left sibling.
    let addNode (level: int) (index: int64) (node: byte[]) =
        let mutable lvl = level
        let mutable idx = index
        let mutable cur = node
        record lvl idx (ReadOnlySpan<byte> cur)
        while not (isNull frontier[lvl]) do
            let parent = Array.zeroCreate<byte> HashSize
            hashPairInto pairScratch (ReadOnlySpan<byte> frontier[lvl]) (ReadOnlySpan<byte> cur) (Span<byte> parent)
            frontier[lvl] <- null
            lvl <- lvl + 1
            idx <- idx >>> 1
            cur <- parent
            record lvl idx (ReadOnlySpan<byte> cur)
        frontier[lvl] <- cur

    /// Reduces the block's `length` leaves (in leafBuf) to one node, padding odd levels with
    /// zeros, and collects the opened position's in-block siblings when it lies in this block.
    /// Returns the node and its level. A full block is an aligned perfect subtree (no padding);
    /// a short block is the last one, so its odd levels are the right edge of the whole tree,
    /// whose parity matches (full blocks add an even number of nodes to every level below it).
    let reduceBlock (length: int) (targetOffset: int) : byte[] * int =
        let zero = ReadOnlySpan<byte>(Array.zeroCreate<byte> HashSize)
        let mutable src = leafBuf
        let mutable dst = levelBuf
        let mutable len = length
        let mutable k = 0
        while len > 1 do
            if targetOffset >= 0 then
                let s = (targetOffset >>> k) ^^^ 1
                if s < len then siblings[k] <- ReadOnlySpan<byte>(src, s * HashSize, HashSize).ToArray()
            let pairs = len / 2
            hashLevel src dst pairs
            if len % 2 = 1 then
                hashPairInto pairScratch (ReadOnlySpan<byte>(src, (len - 1) * HashSize, HashSize)) zero
                    (Span<byte>(dst, pairs * HashSize, HashSize))
            len <- (len + 1) / 2
            k <- k + 1
            // ping-pong: level 1 lands in levelBuf, level 2 back in leafBuf, and so on
            let t = src
            src <- dst
            dst <- t
        ReadOnlySpan<byte>(src, 0, HashSize).ToArray(), k

    /// Number of values absorbed so far.
    member _.Count = count

    /// Absorbs values[offset .. offset+length). Only the final block may be shorter than
    /// BlockSize. Values must be finite (JSON has no NaN/Infinity; a non-finite value here
    /// is a caller bug).
    member _.AddBlock(values: float[], offset: int, length: int) =
        if closed then invalidOp "TreeBuilder: a short block was already added or Finish was called"
        if length < 0 || length > BlockSize then invalidArg "length" "block longer than BlockSize"
        if length > 0 then
            let start = count
            let targetOffset = if target >= start && target < start + int64 length then int (target - start) else -1
            if targetOffset >= 0 then targetValue <- values[offset + targetOffset]
            hashLeaves nonceBytes values offset length leafBuf
            let node, level = reduceBlock length targetOffset
            if length = BlockSize then
                addNode BlockLevels (start >>> BlockLevels) node
            else
                closed <- true
                if start = 0L then
                    // the whole list fits in this block: its node is the root (for a single
                    // value, its leaf, which Finish still pads once)
                    addNode level 0L node
                else
                    // lift the right-edge node to block level: it is a left child whose
                    // right neighbour at every level up to BlockLevels is padding
                    let zero = Array.zeroCreate<byte> HashSize
                    for _ in level .. BlockLevels - 1 do
                        hashPairInto pairScratch (ReadOnlySpan<byte> node) (ReadOnlySpan<byte> zero) (Span<byte> node)
                    addNode BlockLevels (start >>> BlockLevels) node
            count <- start + int64 length

    /// Closes the tree: pads the right edge level by level and returns the root (and the
    /// opening path when one was asked for and target < count).
    member _.Finish() : TreeResult =
        closed <- true
        let n = count
        if n = 0L then
            { Root = Bytes32.Zero; Count = 0L; Opened = None }
        else
            let h = height n
            let zero = Array.zeroCreate<byte> HashSize
            // carry = the last node of level k built from the ragged right edge, if any
            let mutable carry: byte[] = null
            for k in 0 .. h - 1 do
                if not (isNull frontier[k]) then
                    let right = if isNull carry then zero else carry
                    let parent = Array.zeroCreate<byte> HashSize
                    hashPairInto pairScratch (ReadOnlySpan<byte> frontier[k]) (ReadOnlySpan<byte> right) (Span<byte> parent)
                    frontier[k] <- null
                    carry <- parent
                elif not (isNull carry) then
                    let parent = Array.zeroCreate<byte> HashSize
                    hashPairInto pairScratch (ReadOnlySpan<byte> carry) (ReadOnlySpan<byte> zero) (Span<byte> parent)
                    carry <- parent
                if not (isNull carry) then
                    record (k + 1) (levelLength n (k + 1) - 1L) (ReadOnlySpan<byte> carry)
            let root =
                if not (isNull frontier[h]) then
                    if not (isNull carry) then invalidOp "TreeBuilder: perfect tree with a ragged edge"
                    frontier[h]
                else
                    carry
            let opened =
                if target >= 0L && target < n then
                    let path =
                        [ for k in 0 .. h - 1 ->
                              if isNull siblings[k] then Bytes32.Zero else Bytes32.Own siblings[k] ]
                    Some(targetValue, path)
                else
                    None
            { Root = Bytes32.Own root; Count = n; Opened = opened }

/// Feeds a TreeBuilder from a producer that yields one value at a time (the JSON reader),
/// hashing block k on the thread pool while the producer parses block k+1.
type PipelinedFeeder(builder: TreeBuilder) =
    let mutable current = Array.zeroCreate<float> BlockSize
    let mutable spare = Array.zeroCreate<float> BlockSize
    let mutable fill = 0
    let mutable inFlight: Task = Task.CompletedTask

    let dispatch () =
        inFlight.Wait() // the previous block is hashed and `spare` is free again
        let block = current
        inFlight <- Task.Run(fun () -> builder.AddBlock(block, 0, BlockSize))
        current <- spare
        spare <- block
        fill <- 0

    /// Appends one value.
    member _.Add(value: float) =
        current[fill] <- value
        fill <- fill + 1
        if fill = BlockSize then dispatch ()

    /// Waits for background hashing, absorbs the final short block and closes the tree.
    member _.Finish() : TreeResult =
        inFlight.Wait()
        if fill > 0 then builder.AddBlock(current, 0, fill)
        builder.Finish()

    /// Waits for background hashing without finishing (after a read error or cancellation),
    /// so no work outlives the call.
    member _.Drain() =
        try inFlight.Wait() with _ -> ()

/// Builds the tree over an in-memory array (finite values), optionally opening `target`.
let build (nonce: Bytes32) (values: float[]) (target: int64) : TreeResult =
    let builder = TreeBuilder(nonce, target)
    let mutable offset = 0
    while offset < values.Length do
        let len = min BlockSize (values.Length - offset)
        builder.AddBlock(values, offset, len)
        offset <- offset + len
    builder.Finish()

/// Why an opening path does not check out against a root.
type PathFailure =
    | IndexNotBelowCount of Index: int64 * Count: int64
    | WrongPathLength of Expected: int * Actual: int
    | PaddingSiblingNotZero of Level: int
    | RealSiblingIsZero of Level: int
    | RootMismatch

/// Checks in O(log n) that `value` sits at `index` of a tree over `count` values with this
/// nonce and root, given the sibling path (bottom-up). The count fixes the shape: the path
/// length must be the height, and at each level the sibling must be the zero padding
/// exactly when its index is past the end of that level (a real node is a BLAKE3 output,
/// never all zeros in practice), so a path cannot pretend to come from another shape that
/// differs along it.
let verifyPath (root: Bytes32) (nonce: Bytes32) (count: int64) (index: int64) (value: float) (path: Bytes32 list) =
    if count <= 0L || index < 0L || index >= count then
        Error(IndexNotBelowCount(index, count))
    else
        let h = height count
        let len = List.length path
        if len <> h then
            Error(WrongPathLength(h, len))
        else
            let scratch = Array.zeroCreate<byte> 64
            let cur = Array.zeroCreate<byte> HashSize
            hashLeafInto (Array.zeroCreate 40) nonce.Raw value (Span<byte> cur)
            let rec climb k (i: int64) (siblings: Bytes32 list) =
                match siblings with
                | [] -> Ok()
                | sibling :: rest ->
                    let isPadding = (i ^^^ 1L) >= levelLength count k
                    if isPadding && not sibling.IsZero then Error(PaddingSiblingNotZero k)
                    elif not isPadding && sibling.IsZero then Error(RealSiblingIsZero k)
                    else
                        let here = ReadOnlySpan<byte> cur
                        if i &&& 1L = 0L then hashPairInto scratch here sibling.Span (Span<byte> cur)
                        else hashPairInto scratch sibling.Span here (Span<byte> cur)
                        climb (k + 1) (i >>> 1) rest
            match climb 0 index path with
            | Error e -> Error e
            | Ok() ->
                if Security.Cryptography.CryptographicOperations.FixedTimeEquals(ReadOnlySpan<byte> cur, root.Span) then Ok()
                else Error RootMismatch
