/// One module call of the multi-party protocol (docs/wire-protocol.md, `lora_forward`), for both
/// parties: the contributor quantizes the rows it received, computes the exact fixed-point delta
/// and records the call; the base-model user checks the contributor's answer against its request
/// and its own quantization before recording it in its transcript. The C# server and client map
/// their wire types onto these functions and format the failures; the protocol logic lives here.
module ZkLora.Proofs.ContributorCall

open System
open System.Numerics
open ZkLora.Proofs.FixedPoint

/// A value of the input that cannot be quantized: its row, its column and why.
type QuantizeFailure = { Row: int; Column: int; Reason: string }

/// Quantizes rows of reals value by value (B and A quantize the same activations to the same
/// integers); the first value that cannot be quantized is reported.
let quantizeRows (cfg: FixedPointConfig) (rows: float[][]) : Result<BigInteger[][], QuantizeFailure> =
    let x = Array.zeroCreate<BigInteger[]> rows.Length
    let mutable failure = None
    let mutable r = 0
    while failure.IsNone && r < rows.Length do
        let row = Array.zeroCreate<BigInteger> rows[r].Length
        let mutable i = 0
        while failure.IsNone && i < row.Length do
            match quantize cfg (rows[r][i]) with
            | Ok q -> row[i] <- q
            | Error e -> failure <- Some { Row = r; Column = i; Reason = e }
            i <- i + 1
        x[r] <- row
        r <- r + 1
    match failure with
    | Some f -> Error f
    | None -> Ok x

/// The dequantized rows (q / 2^scale_bits).
let dequantizeRows (cfg: FixedPointConfig) (q: BigInteger[][]) : float[][] =
    q |> Array.map (Array.map (dequantize cfg))

/// Why the contributor cannot answer a call.
type AnswerFailure =
    /// An input value cannot be quantized.
    | Unquantizable of QuantizeFailure
    /// The fixed-point delta cannot be computed (a bound is exceeded).
    | DeltaFailed of string

/// The contributor's answer to one call: the quantized input, the exact delta of its adapter
/// (A, B, scaling) and the delta dequantized for the response.
type Answer = { X: BigInteger[][]; Delta: BigInteger[][]; Output: float[][] }

/// Computes the contributor's answer to the input rows with its quantized adapter.
let answer (cfg: FixedPointConfig) (a: BigInteger[][]) (b: BigInteger[][]) (scaling: Scaling) (rows: float[][]) : Result<Answer, AnswerFailure> =
    match quantizeRows cfg rows with
    | Error f -> Error(Unquantizable f)
    | Ok x ->
        match deltaRows cfg a b x scaling.Num scaling.Den with
        | Error e -> Error(DeltaFailed e)
        | Ok delta -> Ok { X = x; Delta = delta; Output = dequantizeRows cfg delta }

/// The output shape of a call: the input's leading dimensions, then out_dim.
let outputShape (inputShape: int64[]) (outDim: int) : int64[] =
    Array.append inputShape[.. inputShape.Length - 2] [| int64 outDim |]

/// The record of one answered call (what the contributor proves and B's transcript holds).
let record (sessionId: string) (moduleName: string) (index: int64) (inputShape: int64[]) (outDim: int) (cfg: FixedPointConfig) (scaling: Scaling) (x: BigInteger[][]) (delta: BigInteger[][]) : TranscriptEntry =
    { SessionId = sessionId; ModuleName = moduleName; InvocationIndex = index
      InputShape = Array.copy inputShape; OutputShape = outputShape inputShape outDim
      X = x; Delta = delta; FixedPoint = cfg; Scaling = scaling }

/// What B asked for in one call and expects back.
type Request =
    { SessionId: string
      ModuleName: string
      InvocationIndex: int64
      InputShape: int64[]
      OutDim: int
      /// The configuration the contributor announced in `init_response`.
      FixedPoint: FixedPointConfig }

/// A contributor's answer as it came off the wire.
type Response =
    { SessionId: string
      ModuleName: string
      InvocationIndex: int64
      InputShape: int64[]
      OutputShape: int64[]
      FixedPoint: FixedPointConfig
      ScalingNum: BigInteger
      ScalingDen: BigInteger
      QDelta: BigInteger[][]
      Output: float[][] }

/// Why B refuses a contributor's answer.
type ResponseFailure =
    /// The answer contradicts the request or itself (the message says what).
    | Inconsistent of string
    /// The answer's parameters lie outside B's parameter policy.
    | OutsidePolicy of string

/// Checks a contributor's answer against the request, B's parameter policy and the value bound,
/// and that every output value is exactly q_delta / 2^scale_bits (the combined output must follow
/// from the recorded integers alone). Returns the transcript entry (B's quantization `x`, the
/// received q_delta) and the delta values to add; the first failure, in the order below, otherwise.
let checkResponse (policy: ParameterPolicy.ParameterPolicy) (request: Request) (x: BigInteger[][]) (response: Response) : Result<TranscriptEntry * float[][], ResponseFailure> =
    let cfg = request.FixedPoint
    let expectedOut = outputShape request.InputShape request.OutDim
    let shapeText (s: int64[]) = String.Join(", ", s)
    let inconsistent m = Error(Inconsistent m)
    if response.SessionId <> request.SessionId || response.ModuleName <> request.ModuleName then
        inconsistent "session or module name differs from the request"
    elif response.InputShape <> request.InputShape then
        inconsistent (sprintf "input_shape [%s] is not the shape sent" (shapeText response.InputShape))
    elif response.OutputShape <> expectedOut then
        inconsistent (sprintf "output_shape [%s], expected [%s]" (shapeText response.OutputShape) (shapeText expectedOut))
    elif response.InvocationIndex <> request.InvocationIndex then
        inconsistent (sprintf "invocation_index %d, expected %d" response.InvocationIndex request.InvocationIndex)
    elif response.FixedPoint <> cfg then
        inconsistent "fixed_point differs from the one announced in init_response"
    else
    match ArtifactCommon.checkScaling "scaling" response.ScalingNum response.ScalingDen with
    | Error e -> inconsistent e
    | Ok scaling ->
    match ParameterPolicy.check policy response.FixedPoint { Num = response.ScalingNum; Den = response.ScalingDen } with
    | Error refused -> Error(OutsidePolicy refused)
    | Ok() ->
        let bound = valueBound cfg
        let values = Array.zeroCreate<float[]> response.QDelta.Length
        let mutable failure = None
        let mutable r = 0
        while failure.IsNone && r < response.QDelta.Length do
            let row = Array.zeroCreate<float> request.OutDim
            let mutable k = 0
            while failure.IsNone && k < request.OutDim do
                let q = response.QDelta[r][k]
                if BigInteger.Abs q > bound then failure <- Some(sprintf "q_delta[%d][%d] is outside the value bound" r k)
                else
                    let v = dequantize cfg q
                    let sent = response.Output[r][k]
                    if v <> sent then
                        failure <- Some(sprintf "output[%d][%d] = %s is not q_delta / 2^%d = %s" r k (sent.ToString "R") cfg.ScaleBits (v.ToString "R"))
                    else row[k] <- v
                k <- k + 1
            values[r] <- row
            r <- r + 1
        match failure with
        | Some m -> inconsistent m
        | None ->
            let entry = record request.SessionId request.ModuleName request.InvocationIndex request.InputShape request.OutDim cfg scaling x response.QDelta
            Ok(entry, values)
