/// The verifier's bounds on the parameters a contributor chooses: the fixed-point config
/// (announced in `init_response` and pinned in the manifest) and the LoRA scaling num/den
/// (in the manifest and every `lora_forward` response).
///
/// Why a policy on top of `FixedPoint.validateConfig` and `LoraCircuit.validate`: those
/// accept everything the circuit can represent (intermediate_bits up to 250, a den of ~240
/// bits). Every soundness argument of a proof backend is a statement about bounded integers
/// (docs/circuit.md, "No wrap-around"); the wider the parameters, the closer each identity
/// gets to the field modulus and the more an argument depends on every range check being
/// exactly tight. Real LoRA adapters use a scaling alpha/r of a few bits and configs of at
/// most a few dozen bits, so the verifier refuses anything far outside that before it reads a
/// proof — a wrong or overlooked bound elsewhere then cannot be reached by a contributor's
/// choice of parameters. The base-model user applies the same policy to what a contributor
/// announces before sending it any activation.
///
/// A verifier that knowingly accepts wider parameters passes its own policy; the circuit's
/// validation still applies on top of it.
module ZkLora.Proofs.ParameterPolicy

open System.Numerics
open ZkLora.Proofs.FixedPoint

/// Inclusive upper bounds on a contributor's parameters.
type ParameterPolicy =
    { /// Largest scale_bits accepted.
      MaxScaleBits: int
      /// Largest value_bits accepted.
      MaxValueBits: int
      /// Largest intermediate_bits accepted.
      MaxIntermediateBits: int
      /// Largest |num| of the scaling num/den accepted.
      MaxScalingNumerator: BigInteger
      /// Largest den of the scaling num/den accepted (den ≥ 1 always).
      MaxScalingDenominator: BigInteger }

/// The default policy: scale_bits ≤ 32, value_bits ≤ 64, intermediate_bits ≤ 128,
/// |num| ≤ 2^64 and den ≤ 2^64. Covers the default config (20, 63, 127), the peers' configs
/// and every scaling alpha/r (or alpha/√r when rational) a PEFT adapter produces.
let standard =
    { MaxScaleBits = 32
      MaxValueBits = 64
      MaxIntermediateBits = 128
      MaxScalingNumerator = BigInteger.One <<< 64
      MaxScalingDenominator = BigInteger.One <<< 64 }

/// The bounds a policy itself must respect: the config limits of the contract (a policy cannot
/// admit what `validateConfig` refuses) and a positive den.
let validate (p: ParameterPolicy) : Result<ParameterPolicy, string> =
    if p.MaxScaleBits < 0 then Error(sprintf "parameter policy: max scale_bits %d must be ≥ 0" p.MaxScaleBits)
    elif p.MaxValueBits < minValueBits then Error(sprintf "parameter policy: max value_bits %d must be ≥ %d" p.MaxValueBits minValueBits)
    elif p.MaxIntermediateBits > maxIntermediateBits then
        Error(sprintf "parameter policy: max intermediate_bits %d exceeds the contract's limit %d" p.MaxIntermediateBits maxIntermediateBits)
    elif p.MaxScalingNumerator.Sign < 0 then Error "parameter policy: the largest scaling numerator must be ≥ 0"
    elif p.MaxScalingDenominator < BigInteger.One then Error "parameter policy: the largest scaling denominator must be ≥ 1"
    else Ok p

/// Checks a fixed-point config against the policy (after the contract's own validation).
let checkConfig (p: ParameterPolicy) (c: FixedPointConfig) : Result<unit, string> =
    match validateConfig c with
    | Error e -> Error e
    | Ok c ->
        let over what v max =
            Error(sprintf "fixed-point config (%d, %d, %d): %s = %d is above the verifier's limit %d"
                      c.ScaleBits c.ValueBits c.IntermediateBits what v max)
        if c.ScaleBits > p.MaxScaleBits then over "scale_bits" c.ScaleBits p.MaxScaleBits
        elif c.ValueBits > p.MaxValueBits then over "value_bits" c.ValueBits p.MaxValueBits
        elif c.IntermediateBits > p.MaxIntermediateBits then over "intermediate_bits" c.IntermediateBits p.MaxIntermediateBits
        else Ok()

/// Checks a scaling num/den against the policy (after the contract's own validation).
let checkScaling (p: ParameterPolicy) (s: Scaling) : Result<unit, string> =
    match validateScaling s with
    | Error e -> Error e
    | Ok s ->
        if BigInteger.Abs s.Num > p.MaxScalingNumerator then
            Error(sprintf "scaling %O/%O: |num| is above the verifier's limit %O" s.Num s.Den p.MaxScalingNumerator)
        elif s.Den > p.MaxScalingDenominator then
            Error(sprintf "scaling %O/%O: den is above the verifier's limit %O" s.Num s.Den p.MaxScalingDenominator)
        else Ok()

/// Checks both parameters of one module.
let check (p: ParameterPolicy) (c: FixedPointConfig) (s: Scaling) : Result<unit, string> =
    checkConfig p c |> Result.bind (fun () -> checkScaling p s)
