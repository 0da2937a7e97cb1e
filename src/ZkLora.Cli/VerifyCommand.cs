using System.CommandLine;
using System.Globalization;
using ZkLora.Api;

namespace ZkLora.Cli;

/// <summary>
/// <c>zklora verify --proof-dir D --transcript T --expected-adapters M [--verbose]</c>: checks every
/// proof against B's transcript and the manifest pinned before inference. Exit 0 when everything
/// verifies, 1 when a proof is rejected, 2 for a usage or input error (a missing, misnamed or
/// malformed transcript or manifest, a proof directory that does not exist).
/// </summary>
internal static class VerifyCommand
{
    public static Command Create()
    {
        var proofDir = new Option<string[]>("--proof-dir") { Description = "The contributor's proof directory (repeat once per contributor).", Required = true };
        var transcript = new Option<string>("--transcript") { Description = "The base-model user's transcript.", Required = true };
        var adapters = new Option<string[]>("--expected-adapters") { Description = "The adapter manifest pinned BEFORE inference (repeat once per contributor).", Required = true };
        var verbose = new Option<bool>("--verbose") { Description = "Print each check as it passes, and each module's fixed-point config and scaling." };
        var policy = new ParameterPolicyOptions();
        var command = new Command("verify",
            "Verify a proof directory against the transcript and the pinned adapter manifest: full coverage, exact statements, " +
            "adapter commitments, file digests, value bounds and the zero-knowledge proofs. " +
            "Exit 0 when all verify, 1 when a proof is rejected, 2 for a usage or input error.")
        {
            proofDir, transcript, adapters, verbose,
        };
        foreach (var o in policy.All) command.Options.Add(o);
        command.SetAction(parse =>
        {
            ParameterPolicy p;
            try
            {
                p = policy.Read(parse);
            }
            catch (ArgumentException e)
            {
                parse.InvocationConfiguration.Error.WriteLine($"zklora verify: {e.Message}");
                return ExitCodes.UsageOrInput;
            }
            return Run(parse.GetRequiredValue(proofDir), parse.GetRequiredValue(transcript), parse.GetRequiredValue(adapters), parse.GetValue(verbose), p,
                parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
        });
        return command;
    }

    /// <summary>Runs the verification and prints the outcome; returns the exit code.</summary>
    public static int Run(string proofDir, string transcript, string adapters, bool verbose) =>
        Run([proofDir], transcript, [adapters], verbose, ParameterPolicy.Standard, Console.Out, Console.Error);

    /// <summary>Runs the verification over several contributors' directories and manifests; returns the exit code.</summary>
    public static int Run(IReadOnlyList<string> proofDirs, string transcript, IReadOnlyList<string> adapters, bool verbose, ParameterPolicy policy,
        TextWriter output, TextWriter error)
    {
        try
        {
            // The verifier's own inputs first: a missing or malformed transcript or pinned manifest
            // is a usage error (exit 2), not a rejected proof. What is wrong inside a proof directory
            // (the contributor's files) is a rejection (exit 1).
            foreach (var d in proofDirs) InputPaths.RequireDirectory(d, "--proof-dir");
            InputPaths.RequireFile(transcript, "--transcript");
            foreach (var m in adapters) InputPaths.RequireFile(m, "--expected-adapters");
            InferenceTranscript.Read(transcript);
            foreach (var m in adapters) AdapterManifest.Read(m);
        }
        catch (Exception e) when (CliErrors.IsInputError(e))
        {
            error.WriteLine($"zklora verify: {CliErrors.Describe(e)}");
            return ExitCodes.UsageOrInput;
        }
        try
        {
            var r = ProofVerification.BatchVerifyProofs(proofDirs, transcript, adapters,
                new ProofVerificationOptions { ParameterPolicy = policy, Verbose = verbose, Log = output });
            output.WriteLine($"Done verifying {r.ProofCount} proofs. Total time: {r.TotalTime.TotalSeconds.ToString("F3", CultureInfo.InvariantCulture)} s");
            return ExitCodes.Ok;
        }
        catch (ProofVerificationException e)
        {
            error.WriteLine($"zklora verify: REJECTED ({e.Reason}): {e.Message}");
            return ExitCodes.Rejected;
        }
        catch (Exception e) when (CliErrors.IsInputError(e))
        {
            error.WriteLine($"zklora verify: {CliErrors.Describe(e)}");
            return ExitCodes.UsageOrInput;
        }
    }
}
