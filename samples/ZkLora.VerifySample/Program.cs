// zkLoRA for .NET — a verifier's C# program, built from the ZkLora.Verification package alone.
//
//   ZkLora.VerifySample <proof-dir> <transcript.json> <pinned-manifest.json>
//       Verifies the contributor's proofs against the base-model user's transcript and the
//       manifest the verifier pinned before inference.
//
// Exit codes: 0 verified, 1 rejected, 2 usage error.
using ZkLora.Samples;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };

if (args is not [var proofDir, var transcript, var manifest])
{
    Console.Error.WriteLine("usage: ZkLora.VerifySample <proof-dir> <transcript.json> <pinned-manifest.json>");
    return 2;
}
try
{
    return await SampleVerifier.VerifyAsync(proofDir, transcript, manifest, cancel.Token);
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("cancelled");
    return 1;
}
