// The verify path of the samples, written against the ZkLora.Verification package only. The
// verify-only sample (this folder) is built from it with nothing else; ZkLora.Sample links this
// file for its own `verify` command and for the check after its both-parties run.
using System.Globalization;
using ZkLora.Api;

namespace ZkLora.Samples;

/// <summary>Verifies a proof directory and reports the outcome on the console.</summary>
internal static class SampleVerifier
{
    /// <summary>
    /// Batch-verifies <paramref name="proofDir"/> against the user's transcript and the manifest
    /// pinned before inference. Prints <c>verified N proofs (C circuits) in T s</c> and returns 0,
    /// or prints <c>REJECTED (reason): message</c> to standard error and returns 1.
    /// </summary>
    public static async Task<int> VerifyAsync(string proofDir, string transcript, string pinnedManifest, CancellationToken ct)
    {
        try
        {
            ProofVerificationResult result = await ProofVerification.BatchVerifyProofsAsync(
                proofDir, transcript, pinnedManifest, cancellationToken: ct);
            Console.WriteLine($"verified {result.ProofCount} proofs ({result.CircuitCount} circuits) in {Seconds(result.TotalTime)}");
            return 0;
        }
        catch (ProofVerificationException e)
        {
            Console.Error.WriteLine($"REJECTED ({e.Reason}): {e.Message}");
            return 1;
        }
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture) + " s";
}
