// ZkLora.Api 0.1.0 held these types; they now live in ZkLora.Verification (which has no
// TorchSharp dependency), in the same namespace. The forwards keep code compiled against 0.1.0 working.
using System.Runtime.CompilerServices;

// RS0026 (several overloads with optional parameters) is reported on the forward: the typed
// VerifyCommitmentAsync/OpenActivationAsync overloads differ from the JSON-string ones in a required
// parameter's type, so no call but a null literal is ambiguous (suppressed at their declaration too);
// likewise the single- and multi-directory BatchVerifyProofs(Async) overloads taking an ILogger.
#pragma warning disable RS0026
[assembly: TypeForwardedTo(typeof(ZkLora.Api.ActivationCommitments))]
#pragma warning restore RS0026
[assembly: TypeForwardedTo(typeof(ZkLora.Api.ActivationOpening))]
[assembly: TypeForwardedTo(typeof(ZkLora.Api.ActivationsFormatException))]
[assembly: TypeForwardedTo(typeof(ZkLora.Api.AdapterManifest))]
[assembly: TypeForwardedTo(typeof(ZkLora.Api.AdapterManifestEntry))]
[assembly: TypeForwardedTo(typeof(ZkLora.Api.ArtifactFormatException))]
[assembly: TypeForwardedTo(typeof(ZkLora.Api.CommitmentMismatchException))]
[assembly: TypeForwardedTo(typeof(ZkLora.Api.FixedPointSettings))]
[assembly: TypeForwardedTo(typeof(ZkLora.Api.InferenceTranscript))]
[assembly: TypeForwardedTo(typeof(ZkLora.Api.InferenceTranscriptEntry))]
#pragma warning disable RS0026
[assembly: TypeForwardedTo(typeof(ZkLora.Api.ProofVerification))]
#pragma warning restore RS0026
[assembly: TypeForwardedTo(typeof(ZkLora.Api.ProofVerificationException))]
[assembly: TypeForwardedTo(typeof(ZkLora.Api.ProofVerificationFailure))]
[assembly: TypeForwardedTo(typeof(ZkLora.Api.ProofVerificationResult))]
