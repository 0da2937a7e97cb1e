/// `vecarg` mode: where the projection backend's prover time goes, piece by piece, at one
/// vector length n (docs/projection-protocol.md §5): MSMs with full-width and 10-bit scalars,
/// one inner-product-argument generator fold (128-bit and full-width scalar), a whole inner
/// product argument and a whole Hadamard-plus-linear proof and its verification.
module ZkLora.Bench.VectorArgBench

open System
open System.Diagnostics
open ZkLora.Math
open ZkLora.Math.Commitment
open ZkLora.Math.Transcript

let private cpuSeconds () = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds

let private measure (name: string) (f: unit -> unit) =
    f () // warm (generators, JIT)
    let c0 = cpuSeconds ()
    let sw = Stopwatch.StartNew()
    f ()
    printfn "  %-46s wall %7.3f s  cpu %7.3f s" name sw.Elapsed.TotalSeconds (cpuSeconds () - c0)

let run (args: string[]) =
    let log =
        match args with
        | [| "--log"; v |] -> int v
        | [||] -> 15
        | _ -> Measure.usageError "vecarg: options are [--log L] (vector length 2^L)"
    let n = 1 <<< log
    printfn "vecarg n=2^%d" log
    let generators = PedersenGenerators()
    let g = generators.G.Get n
    let h = generators.H.Get n
    let full = PedersenVector.randomScalars n
    let small = Array.init n (fun i -> Fp.OfUInt64(uint64 ((i * 7919) % 1024)))
    measure "msm n, full-width scalars" (fun () -> PedersenVector.msm (ReadOnlyMemory(g, 0, n)) (ReadOnlyMemory full) |> ignore)
    measure "msm n, 10-bit scalars" (fun () -> PedersenVector.msm (ReadOnlyMemory(g, 0, n)) (ReadOnlyMemory small) |> ignore)
    let u = InnerProductArgument.roundChallenge (Fp.Random())
    let gs = Array.sub g 0 n
    measure "fold n/2 points, 128-bit scalar (G side)" (fun () -> VestaFold.fold gs (n / 2) u |> ignore)
    measure "fold n/2 points, full-width scalar (H side)" (fun () -> VestaFold.fold gs (n / 2) (Fp.Random()) |> ignore)
    let ue, ua, ub = InnerProductArgument.endoChallenge (Fp.Random())
    measure "fold n/2 points, endoscaled challenge (G side)" (fun () -> VestaFold.foldEndo gs (n / 2) ue ua ub |> ignore)
    let b = PedersenVector.randomScalars n
    measure "inner product argument, n" (fun () ->
        use t = Transcript.create "bench"
        InnerProductArgument.prove generators t (Fp.Random()) (Fp.Random()) full b |> ignore)
    // a Hadamard statement: segment = upper half, a_L·a_R = 1 there, one linear relation
    let layout = { Length = n; SegStart = n / 2; SegCount = n / 2 }
    let aR = Array.init (n / 2) (fun i -> small[i] - Fp.OfUInt64 5000UL)
    let aL = Array.append (Array.sub full 0 (n / 2)) (let v = Array.copy aR in Fp.BatchInvert(Span v); v)
    let dL = PedersenVector.randomScalars n
    let dR = PedersenVector.randomScalars (n / 2)
    let dot (x: Fp[]) (y: Fp[]) = Array.fold2 (fun acc a b -> acc + a * b) Fp.Zero x y
    let k = dot aL dL + dot aR dR
    let alpha = Fp.Random()
    let p0 =
        PedersenVector.commit generators aL alpha
        + PedersenVector.msm (ReadOnlyMemory(h, n / 2, n / 2)) (ReadOnlyMemory aR)
    let mutable proof = Unchecked.defaultof<HadamardProof>
    measure "hadamard-plus-linear proof, n" (fun () ->
        use t = Transcript.create "bench"
        proof <- HadamardProof.prove generators t layout aL aR alpha Fp.One dL dR k)
    measure "hadamard-plus-linear verify, n" (fun () ->
        use t = Transcript.create "bench"
        match HadamardProof.verify generators t layout p0 Fp.One dL dR k proof with
        | Ok() -> ()
        | Error e -> failwith e)
    0
