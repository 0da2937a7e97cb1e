using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using ZkLora.Api;

namespace ZkLora.Cli;

/// <summary>
/// <c>zklora verify --proof-dir D --transcript T --expected-adapters M [--expected-adapters-sha256 H] [--verbose]</c>:
/// checks every proof against B's transcript and the manifest pinned before inference (the file, or
/// its SHA-256 digest when the file itself comes from the contributor). Exit 0 when everything
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
        var adaptersSha256 = new Option<string[]>("--expected-adapters-sha256")
        {
            Description = "The SHA-256 (64 hex digits) of the manifest pinned BEFORE inference, as `zklora serve` printed it: the manifest file " +
                          "given with --expected-adapters must have exactly this digest (repeat once per --expected-adapters, in the same order). " +
                          "A different digest is a rejection (exit 1).",
        };
        var verbose = new Option<bool>("--verbose") { Description = "Print each check as it passes, and each module's fixed-point config and scaling (on standard error with --json)." };
        var json = CliJson.Option("the outcome: {\"status\":\"verified\",\"exit_code\":0,\"proofs\":…,\"circuits\":…,\"seconds\":…}, " +
                                  "{\"status\":\"rejected\",\"exit_code\":1,\"reason\":…,\"message\":…} or {\"status\":\"error\",\"exit_code\":2,\"error\":…}");
        var policy = new ParameterPolicyOptions();
        var command = new Command("verify",
            "Verify a proof directory against the transcript and the pinned adapter manifest: full coverage, exact statements, " +
            "adapter commitments, file digests, value bounds and the zero-knowledge proofs. " +
            "Exit 0 when all verify, 1 when a proof is rejected, 2 for a usage or input error.")
        {
            proofDir, transcript, adapters, adaptersSha256, verbose, json,
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
                if (parse.GetValue(json)) CliJson.Error(parse.InvocationConfiguration.Output, e.Message);
                return ExitCodes.UsageOrInput;
            }
            return Run(parse.GetRequiredValue(proofDir), parse.GetRequiredValue(transcript), parse.GetRequiredValue(adapters), parse.GetValue(verbose), p,
                parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, parse.GetValue(adaptersSha256) ?? [], parse.GetValue(json));
        });
        return command;
    }

    /// <summary>Runs the verification and prints the outcome; returns the exit code.</summary>
    public static int Run(string proofDir, string transcript, string adapters, bool verbose) =>
        Run([proofDir], transcript, [adapters], verbose, ParameterPolicy.Standard, Console.Out, Console.Error);

    /// <summary>
    /// Runs the verification over several contributors' directories and manifests, with
    /// <paramref name="adapterDigests"/> empty or one pinned SHA-256 per manifest in
    /// <paramref name="adapters"/>; returns the exit code.
    /// </summary>
    public static int Run(IReadOnlyList<string> proofDirs, string transcript, IReadOnlyList<string> adapters, bool verbose, ParameterPolicy policy,
        TextWriter output, TextWriter error, IReadOnlyList<string>? adapterDigests = null, bool json = false)
    {
        var scratch = new Scratch();
        try
        {
            var outcome = Run(proofDirs, transcript, adapters, verbose, policy, json ? error : output, adapterDigests ?? [], scratch);
            if (outcome.Message is { } message) error.WriteLine($"zklora verify: {message}");
            if (outcome.Result is { } r && !json)
                output.WriteLine($"Done verifying {r.ProofCount} proofs. Total time: {r.TotalTime.TotalSeconds.ToString("F3", CultureInfo.InvariantCulture)} s");
            if (json)
            {
                CliJson.Write(output, w =>
                {
                    w.WriteString("status", outcome.ExitCode switch { ExitCodes.Ok => "verified", ExitCodes.Rejected => "rejected", _ => "error" });
                    w.WriteNumber("exit_code", outcome.ExitCode);
                    if (outcome.Result is { } ok)
                    {
                        w.WriteNumber("proofs", ok.ProofCount);
                        w.WriteNumber("circuits", ok.CircuitCount);
                        w.Number("seconds", ok.TotalTime.TotalSeconds);
                    }
                    else if (outcome.ExitCode == ExitCodes.Rejected)
                    {
                        w.WriteString("reason", outcome.Reason.ToString());
                        w.WriteString("message", outcome.Detail);
                    }
                    else w.WriteString("error", outcome.Detail);
                });
            }
            return outcome.ExitCode;
        }
        finally
        {
            DeleteQuietly(scratch.Folder);
        }
    }

    private sealed class Scratch
    {
        public string? Folder { get; set; }
    }

    /// <summary>What the verification concluded: the result, or the failure with its one-line message.</summary>
    private sealed record Outcome(int ExitCode, ProofVerificationResult? Result, ProofVerificationFailure Reason, string Detail, string? Message);

    private static Outcome Input(Exception e) => new(ExitCodes.UsageOrInput, null, default, CliErrors.Describe(e), CliErrors.Describe(e));

    private static Outcome Rejected(ProofVerificationFailure reason, string detail) =>
        new(ExitCodes.Rejected, null, reason, detail, $"REJECTED ({reason}): {detail}");

    private static Outcome Run(IReadOnlyList<string> proofDirs, string transcript, IReadOnlyList<string> adapters, bool verbose, ParameterPolicy policy,
        TextWriter log, IReadOnlyList<string> adapterDigests, Scratch scratch)
    {
        try
        {
            if (adapterDigests.Count != 0 && adapterDigests.Count != adapters.Count)
                throw new InputException($"give one --expected-adapters-sha256 per --expected-adapters ({adapters.Count}), not {adapterDigests.Count}");
            var digests = adapterDigests.Select(d => HexDigest.Require(d, "--expected-adapters-sha256")).ToList();
            // The verifier's own inputs first: a missing or malformed transcript or pinned manifest
            // is a usage error (exit 2), not a rejected proof. What is wrong inside a proof directory
            // (the contributor's files) is a rejection (exit 1).
            foreach (var d in proofDirs) InputPaths.RequireDirectory(d, "--proof-dir");
            InputPaths.RequireFile(transcript, "--transcript");
            foreach (var m in adapters) InputPaths.RequireFile(m, "--expected-adapters");
            InferenceTranscript.Read(transcript);
            if (digests.Count > 0)
            {
                // Pinned by digest: the manifest file (perhaps shipped by the contributor) must hash to
                // exactly the pinned SHA-256. The bytes that were hashed are the bytes verified: they are
                // copied to a private folder first, so the file cannot change between check and use.
                string pinnedCopies = Directory.CreateTempSubdirectory("zklora-verify-pinned-").FullName;
                scratch.Folder = pinnedCopies;
                var copies = new List<string>();
                for (int i = 0; i < adapters.Count; i++)
                {
                    byte[] bytes = ReadManifestBytes(adapters[i]);
                    string actual = Convert.ToHexStringLower(SHA256.HashData(bytes));
                    if (!string.Equals(actual, digests[i], StringComparison.Ordinal))
                        return Rejected(ProofVerificationFailure.ManifestMismatch,
                            $"the manifest '{adapters[i]}' has SHA-256 {actual}, not the pinned {digests[i]} (--expected-adapters-sha256)");
                    string copy = Path.Combine(pinnedCopies, $"{i}.manifest.json");
                    File.WriteAllBytes(copy, bytes);
                    copies.Add(copy);
                    // A projection manifest's one-time adapter proof lies next to it under a derived name and
                    // travels with the copy. It needs no pin: it is verified against the pinned manifest's
                    // commitments and digest. Read strictly (regular file, size cap), as the verifier does.
                    string adapterProofs = AdapterManifest.AdapterProofsPath(adapters[i]);
                    if (File.Exists(adapterProofs))
                    {
                        var read = ZkLora.Proofs.SafeFile.readBytes("adapter proofs", ZkLora.Proofs.ProjectionArtifacts.maxAdapterProofsFileBytes, adapterProofs);
                        if (read.IsError) return Rejected(ProofVerificationFailure.InvalidAdapterProof, read.ErrorValue);
                        File.WriteAllBytes(AdapterManifest.AdapterProofsPath(copy), read.ResultValue);
                    }
                }
                adapters = copies;
            }
            // A pinned manifest that is not a manifest is the verifier's input error (with a digest pin,
            // only a pin of a malformed file gets here).
            foreach (var m in adapters) AdapterManifest.Read(m);
        }
        catch (Exception e) when (CliErrors.IsInputError(e))
        {
            return Input(e);
        }
        try
        {
            ProofVerificationResult r;
            var context = TuningEnvironment.NewVerificationContext();
            if (!verbose && ReferenceEquals(log, Console.Out) && ServeProgress.ConsoleIsInteractive)
            {
                // A long verification on a terminal: a spinner showing the step under way (the
                // verifier's verbose lines, not printed).
                r = AnsiConsole.Status().Start("verifying…", ctx =>
                    ProofVerification.BatchVerifyProofs(proofDirs, transcript, adapters,
                        new ProofVerificationOptions { ParameterPolicy = policy, Logger = new StatusLogger(ctx), Context = context }));
            }
            else
            {
                // --verbose: the verifier's messages as plain lines (as before the library logged through ILogger).
                r = ProofVerification.BatchVerifyProofs(proofDirs, transcript, adapters,
                    new ProofVerificationOptions { ParameterPolicy = policy, Logger = verbose ? new PlainLineLogger(log, maxChars: int.MaxValue) : null, Context = context });
            }
            return new Outcome(ExitCodes.Ok, r, default, "", null);
        }
        catch (ProofVerificationException e)
        {
            return Rejected(e.Reason, e.Message);
        }
        catch (Exception e) when (CliErrors.IsInputError(e))
        {
            return Input(e);
        }
    }

    /// <summary>Shows each message the verifier logs as the status of a Spectre.Console spinner.</summary>
    private sealed class StatusLogger(StatusContext status) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            string value = PlainLineLogger.Escape(formatter(state, exception), int.MaxValue);
            status.Status(Markup.Escape("verifying: " + (value.Length > 60 ? value[..60] + "…" : value)));
        }
    }

    // A manifest is small (one entry per module); the bound keeps a hostile file from filling memory.
    private const long MaxManifestBytes = 64L << 20;

    private static byte[] ReadManifestBytes(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (stream.Length > MaxManifestBytes)
            throw new InputException($"--expected-adapters '{path}' is larger than {MaxManifestBytes} bytes: not a manifest");
        var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    private static void DeleteQuietly(string? folder)
    {
        if (folder is null) return;
        try { Directory.Delete(folder, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
