/// Compiles the circuit's identities into a flat program (common subexpressions shared,
/// challenges folded into constants) and evaluates y-combinations of them over many
/// points at once. Evaluation is node-major over blocks of points: each node runs one
/// tight loop over the block, so the per-point cost is a few field operations, not an
/// interpreter dispatch. Used for the quotient numerator on coset evaluations and for
/// the row-wise self-check on the base domain.
module internal ZkLora.Math.Plonk.Evaluator

open System
open System.Collections.Generic
open System.Threading.Tasks
open ZkLora.Math
open ZkLora.Math.Plonk.Argument

type internal Op =
    | Const = 0uy
    | Load = 1uy
    | LoadX = 2uy
    | LoadL0 = 3uy
    | LoadLLast = 4uy
    | LoadLActive = 5uy
    | Neg = 6uy
    | Add = 7uy
    | Sub = 8uy
    | Mul = 9uy
    | Scale = 10uy

[<Struct; CustomEquality; NoComparison>]
type internal Node =
    { Op: Op
      A: int
      B: int
      Slot: int
      Rot: int
      C: Fp }
    member x.Equals(y: Node) =
        x.Op = y.Op && x.A = y.A && x.B = y.B && x.Slot = y.Slot && x.Rot = y.Rot && x.C.Equals y.C
    override x.Equals(o: obj) =
        match o with
        | :? Node as y -> x.Equals y
        | _ -> false
    override x.GetHashCode() = HashCode.Combine(x.Op, x.A, x.B, x.Slot, x.Rot, x.C.GetHashCode())
    interface IEquatable<Node> with
        member x.Equals y = x.Equals y

/// A compiled set of identities.
type Program internal (nodes: Node[], roots: int[], slots: PolyRef[]) =
    member internal _.Nodes = nodes
    /// Node index of each identity, in order.
    member _.Roots = roots
    /// The polynomial each load slot reads (the caller supplies their values in this order).
    member _.Slots = slots
    member _.NodeCount = nodes.Length

/// Compiles terms with the challenge values substituted.
let compile (terms: Term[]) (challenge: Challenge -> Fp) : Program =
    let nodes = ResizeArray<Node>()
    let index = Dictionary<Node, int>()
    let slots = ResizeArray<PolyRef>()
    let slotIndex = Dictionary<PolyRef, int>()
    let add (n: Node) =
        match index.TryGetValue n with
        | true, i -> i
        | _ ->
            nodes.Add n
            index[n] <- nodes.Count - 1
            nodes.Count - 1
    let leaf op = add { Op = op; A = 0; B = 0; Slot = 0; Rot = 0; C = Fp.Zero }
    let constant (c: Fp) = add { Op = Op.Const; A = 0; B = 0; Slot = 0; Rot = 0; C = c }
    let isConst i = nodes[i].Op = Op.Const
    let binary op a b = add { Op = op; A = a; B = b; Slot = 0; Rot = 0; C = Fp.Zero }
    let rec go (t: Term) : int =
        match t with
        | TConst c -> constant c
        | TChallenge c -> constant (challenge c)
        | TQuery(p, r) ->
            let s =
                match slotIndex.TryGetValue p with
                | true, s -> s
                | _ ->
                    slots.Add p
                    slotIndex[p] <- slots.Count - 1
                    slots.Count - 1
            add { Op = Op.Load; A = 0; B = 0; Slot = s; Rot = r; C = Fp.Zero }
        | TX -> leaf Op.LoadX
        | TL0 -> leaf Op.LoadL0
        | TLLast -> leaf Op.LoadLLast
        | TLActive -> leaf Op.LoadLActive
        | TNeg a ->
            let ia = go a
            if isConst ia then constant (-nodes[ia].C) else add { Op = Op.Neg; A = ia; B = 0; Slot = 0; Rot = 0; C = Fp.Zero }
        | TAdd(a, TNeg b) ->
            let ia, ib = go a, go b
            if isConst ia && isConst ib then constant (nodes[ia].C - nodes[ib].C) else binary Op.Sub ia ib
        | TAdd(a, b) ->
            let ia, ib = go a, go b
            if isConst ia && isConst ib then constant (nodes[ia].C + nodes[ib].C) else binary Op.Add ia ib
        | TMul(a, b) ->
            let ia, ib = go a, go b
            match isConst ia, isConst ib with
            | true, true -> constant (nodes[ia].C * nodes[ib].C)
            | true, false -> add { Op = Op.Scale; A = ib; B = 0; Slot = 0; Rot = 0; C = nodes[ia].C }
            | false, true -> add { Op = Op.Scale; A = ia; B = 0; Slot = 0; Rot = 0; C = nodes[ib].C }
            | _ -> binary Op.Mul ia ib
        | TScale(a, c) ->
            let ia = go a
            if isConst ia then constant (nodes[ia].C * c) else add { Op = Op.Scale; A = ia; B = 0; Slot = 0; Rot = 0; C = c }
    let roots = terms |> Array.map go
    Program(nodes.ToArray(), roots, slots.ToArray())

/// Values of everything the program reads over one evaluation domain of `Size` points
/// (a power of two). Rotation r reads index (i + r·RotationScale) mod Size.
type Sources =
    { Size: int
      RotationScale: int
      /// One array per program slot (see `Program.Slots`).
      Polys: Fp[][]
      X: Fp[]
      L0: Fp[]
      LLast: Fp[]
      LActive: Fp[] }

[<Literal>]
let private Block = 64

let private runBlock (p: Program) (src: Sources) (y: Fp) (start: int) (count: int) (regs: Fp[]) (output: Span<Fp>) =
    let nodes = p.Nodes
    let mask = src.Size - 1
    for k in 0 .. nodes.Length - 1 do
        let nd = nodes[k]
        let o = k * Block
        match nd.Op with
        | Op.Const -> for j in 0 .. count - 1 do regs[o + j] <- nd.C
        | Op.Load ->
            let arr = src.Polys[nd.Slot]
            let shift = nd.Rot * src.RotationScale
            for j in 0 .. count - 1 do regs[o + j] <- arr[(start + j + shift) &&& mask]
        | Op.LoadX -> for j in 0 .. count - 1 do regs[o + j] <- src.X[start + j]
        | Op.LoadL0 -> for j in 0 .. count - 1 do regs[o + j] <- src.L0[start + j]
        | Op.LoadLLast -> for j in 0 .. count - 1 do regs[o + j] <- src.LLast[start + j]
        | Op.LoadLActive -> for j in 0 .. count - 1 do regs[o + j] <- src.LActive[start + j]
        | Op.Neg ->
            let a = nd.A * Block
            for j in 0 .. count - 1 do regs[o + j] <- -regs[a + j]
        | Op.Add ->
            let a, b = nd.A * Block, nd.B * Block
            for j in 0 .. count - 1 do regs[o + j] <- regs[a + j] + regs[b + j]
        | Op.Sub ->
            let a, b = nd.A * Block, nd.B * Block
            for j in 0 .. count - 1 do regs[o + j] <- regs[a + j] - regs[b + j]
        | Op.Mul ->
            let a, b = nd.A * Block, nd.B * Block
            for j in 0 .. count - 1 do regs[o + j] <- regs[a + j] * regs[b + j]
        | _ ->
            let a = nd.A * Block
            let c = nd.C
            for j in 0 .. count - 1 do regs[o + j] <- regs[a + j] * c
    for j in 0 .. count - 1 do
        let mutable acc = Fp.Zero
        for r in p.Roots do acc <- acc * y + regs[r * Block + j]
        output[j] <- acc

/// Σ_i y^(N-1-i)·identity_i at every point of the domain (Horner over identities in order).
let evaluateCombined (p: Program) (src: Sources) (y: Fp) : Fp[] =
    if src.Polys.Length <> p.Slots.Length then invalidArg "src" "one value array per program slot is required"
    let out = Array.zeroCreate src.Size
    let blocks = (src.Size + Block - 1) / Block
    Parallel.For(0, blocks, (fun () -> Array.zeroCreate<Fp> (max 1 p.NodeCount * Block)), (fun b _ regs ->
        let start = b * Block
        let count = min Block (src.Size - start)
        runBlock p src y start count regs (Span(out, start, count))
        regs), (fun _ -> ())) |> ignore
    out

/// Each identity separately at every point (for the self-check's reports): result[i][row].
let evaluateEach (p: Program) (src: Sources) : Fp[][] =
    let m = p.Roots.Length
    let out = Array.init m (fun _ -> Array.zeroCreate src.Size)
    let single = Array.init m (fun i -> Program(p.Nodes, [| p.Roots[i] |], p.Slots))
    for i in 0 .. m - 1 do
        let v = evaluateCombined single[i] src Fp.One
        Array.blit v 0 out[i] 0 src.Size
    out
