/// What the verifier logs (through `Microsoft.Extensions.Logging`'s `ILogger`, never the console):
/// one structured message per finished step, with named placeholders and a stable event id and
/// name. The rendered text of each message is the line `zklora verify --verbose` prints. Levels:
/// information for a step that passed, warning for something skipped; failures are not logged
/// here, they are the `Error` the verifier returns (the host reports them).
module internal ZkLora.Proofs.VerifyLog

open System.Numerics
open Microsoft.Extensions.Logging

let private modulePolicy =
    LoggerMessage.Define<string, int, int, int, BigInteger, BigInteger>(
        LogLevel.Information, EventId(1, "ModulePolicy"),
        "module {Module}: fixed-point config (scale_bits {ScaleBits}, value_bits {ValueBits}, intermediate_bits {IntermediateBits}), scaling {ScalingNum}/{ScalingDen}")

let private adapterProofsCached =
    LoggerMessage.Define<string>(
        LogLevel.Information, EventId(2, "AdapterProofsCached"),
        "adapter proofs of manifest {Manifest}: verified before (cached)")

let private adapterProofsVerified =
    LoggerMessage.Define<string, int>(
        LogLevel.Information, EventId(3, "AdapterProofsVerified"),
        "adapter proofs of manifest {ManifestDigest}: {Modules} module(s) verify")

let private otherSessionsIgnored =
    LoggerMessage.Define<int>(
        LogLevel.Warning, EventId(4, "OtherSessionsIgnored"),
        "ignoring {Artifacts} artifact(s) of sessions not in the transcript")

let private statementMatches =
    LoggerMessage.Define<string, string, int64>(
        LogLevel.Information, EventId(5, "StatementMatches"),
        "statement {SessionId}.{Module}.{Invocation} matches the transcript and the pinned manifest")

let private projectionStatementMatches =
    LoggerMessage.Define<string, string, int64, int>(
        LogLevel.Information, EventId(6, "ProjectionStatementMatches"),
        "statement {SessionId}.{Module}.{Invocation} ({Calls} call(s)) matches the transcript and the pinned manifest")

let private circuitProofsVerify =
    LoggerMessage.Define<int, string>(
        LogLevel.Information, EventId(7, "CircuitProofsVerify"),
        "{Proofs} proof(s) of circuit {CircuitId} verify")

let private projectionProofsVerify =
    LoggerMessage.Define<int, int>(
        LogLevel.Information, EventId(8, "ProjectionProofsVerify"),
        "{Proofs} projection proof(s) covering {Calls} call(s) verify")

/// A module's pinned configuration and scaling passed the parameter policy.
let modulePolicyChecked (logger: ILogger) (name: string) (c: FixedPoint.FixedPointConfig) (s: FixedPoint.Scaling) =
    modulePolicy.Invoke(logger, name, c.ScaleBits, c.ValueBits, c.IntermediateBits, s.Num, s.Den, null)

/// A manifest's adapter proofs verified earlier in this context (`manifest`: its digest or path).
let adapterProofsVerifiedBefore (logger: ILogger) (manifest: string) = adapterProofsCached.Invoke(logger, manifest, null)

/// A manifest's adapter proofs verified now.
let adapterProofsVerify (logger: ILogger) (digest: string) (modules: int) = adapterProofsVerified.Invoke(logger, digest, modules, null)

/// Artifacts of sessions the transcript does not have were skipped.
let otherSessions (logger: ILogger) (count: int) = otherSessionsIgnored.Invoke(logger, count, null)

/// A PLONK statement matches its transcript entry and the pinned manifest.
let statementChecked (logger: ILogger) (k: ArtifactNames.ProofKey) =
    statementMatches.Invoke(logger, k.SessionId, k.ModuleName, k.InvocationIndex, null)

/// A projection statement (first call `k`, `calls` calls) matches the transcript and the pinned manifest.
let projectionStatementChecked (logger: ILogger) (k: ArtifactNames.ProofKey) (calls: int) =
    projectionStatementMatches.Invoke(logger, k.SessionId, k.ModuleName, k.InvocationIndex, calls, null)

/// The PLONK proofs of one circuit verify (one batch).
let circuitVerifies (logger: ILogger) (proofs: int) (circuitId: string) = circuitProofsVerify.Invoke(logger, proofs, circuitId, null)

/// The projection proofs verify (one batch).
let projectionVerifies (logger: ILogger) (proofs: int) (calls: int) = projectionProofsVerify.Invoke(logger, proofs, calls, null)
