/// One `lora_forward` call for both parties (ContributorCall): the contributor's answer is the exact
/// fixed-point delta of its adapter, and B refuses every inconsistent answer before recording it.
module ZkLora.Proofs.Tests.ContributorCallTests

open System.Numerics
open Expecto
open ZkLora.Proofs
open ZkLora.Proofs.FixedPoint
open ZkLora.Proofs.ContributorCall

let private cfg = defaultConfig
// rank 1, in 2, out 2; scaling 1/2
let private a = [| [| BigInteger 3 <<< 18; BigInteger -(1 <<< 19) |] |]
let private b = [| [| BigInteger 1 <<< 20 |]; [| BigInteger -(1 <<< 19) |] |]
let private scaling = { Num = BigInteger 1; Den = BigInteger 2 }
let private rows = [| [| 0.5; -1.25 |]; [| 2.0; 0.0 |] |]

let private answered () =
    match answer cfg a b scaling rows with
    | Ok r -> r
    | Error e -> failtestf "answer failed: %A" e

let private request : Request =
    { SessionId = "s"; ModuleName = "m"; InvocationIndex = 3L; InputShape = [| 2L; 2L |]; OutDim = 2; FixedPoint = cfg }

let private response () : Response =
    let r = answered ()
    { SessionId = "s"; ModuleName = "m"; InvocationIndex = 3L; InputShape = [| 2L; 2L |]; OutputShape = [| 2L; 2L |]
      FixedPoint = cfg; ScalingNum = scaling.Num; ScalingDen = scaling.Den; QDelta = r.Delta; Output = r.Output }

let private expectInconsistent (contains: string) (r: Result<TranscriptEntry * float[][], ResponseFailure>) =
    match r with
    | Error(Inconsistent m) -> Expect.stringContains m contains "message"
    | Error(OutsidePolicy m) -> failtestf "refused by the policy, expected an inconsistency: %s" m
    | Ok _ -> failtestf "accepted an answer with a wrong %s" contains

[<Tests>]
let tests =
    testList "contributor call" [
        test "the answer is the fixed-point delta of the quantized rows, and its record has the output shape" {
            let r = answered ()
            let x = quantizeRows cfg rows |> Result.defaultWith (fun e -> failtestf "%A" e)
            Expect.equal r.X x "B and A quantize alike"
            Expect.equal (Ok r.Delta) (deltaRows cfg a b x scaling.Num scaling.Den) "the exact delta"
            Expect.equal r.Output (dequantizeRows cfg r.Delta) "output = delta / 2^scale_bits"
            let e = record "s" "m" 0L [| 1L; 2L; 2L |] 2 cfg scaling r.X r.Delta
            Expect.equal e.OutputShape [| 1L; 2L; 2L |] "leading dims, then out_dim"
        }
        test "an unquantizable input value is named by row and column" {
            match answer cfg a b scaling [| [| 0.5; nan |] |] with
            | Error(Unquantizable f) -> Expect.equal (f.Row, f.Column) (0, 1) "position"
            | other -> failtestf "expected Unquantizable, got %A" other
        }
        test "B accepts a consistent answer and records its own x with the received q_delta" {
            let r = answered ()
            match checkResponse ParameterPolicy.standard request r.X (response ()) with
            | Ok(e, values) ->
                Expect.equal e.Delta r.Delta "received q_delta"
                Expect.equal e.X r.X "B's own quantization"
                Expect.equal e.InvocationIndex 3L "expected index"
                Expect.equal values r.Output "values added"
            | Error f -> failtestf "refused: %A" f
        }
        test "B refuses every inconsistent answer" {
            let x = (answered ()).X
            let check (resp: Response) = checkResponse ParameterPolicy.standard request x resp
            let ok = response ()
            check { ok with ModuleName = "other" } |> expectInconsistent "session or module name"
            check { ok with SessionId = "t" } |> expectInconsistent "session or module name"
            check { ok with InputShape = [| 1L; 4L |] } |> expectInconsistent "input_shape"
            check { ok with OutputShape = [| 2L; 3L |] } |> expectInconsistent "output_shape"
            check { ok with InvocationIndex = 2L } |> expectInconsistent "invocation_index 2, expected 3"
            check { ok with FixedPoint = { cfg with ScaleBits = 19 } } |> expectInconsistent "fixed_point"
            check { ok with ScalingDen = BigInteger.Zero } |> expectInconsistent "scaling"
            let q = ok.QDelta |> Array.map Array.copy
            q[1][0] <- valueBound cfg + BigInteger.One
            check { ok with QDelta = q } |> expectInconsistent "q_delta[1][0] is outside the value bound"
            let out = ok.Output |> Array.map Array.copy
            out[0][1] <- out[0][1] + 1e-3
            check { ok with Output = out } |> expectInconsistent "output[0][1]"
        }
        test "B refuses parameters outside its policy" {
            let x = (answered ()).X
            let narrow = { ParameterPolicy.standard with MaxIntermediateBits = 100 }
            match checkResponse narrow request x (response ()) with
            | Error(OutsidePolicy m) -> Expect.stringContains m "intermediate_bits" "names the parameter"
            | other -> failtestf "expected OutsidePolicy, got %A" other
        }
    ]
