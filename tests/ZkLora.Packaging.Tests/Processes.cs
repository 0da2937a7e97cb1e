using System.Diagnostics;
using System.Text;

namespace ZkLora.Packaging.Tests;

/// <summary>The outcome of a finished child process.</summary>
public sealed record ProcessResult(string Command, int ExitCode, string StdOut, string StdErr)
{
    /// <summary>Everything the process printed, for assertion messages.</summary>
    public string Describe() => $"`{Command}` exited {ExitCode}\n--- stdout\n{StdOut}\n--- stderr\n{StdErr}";
}

/// <summary>
/// Runs child processes (dotnet, the installed tool, the sample) with a clean environment: the
/// MSBuild variables `dotnet test` sets for its own build would otherwise leak into the child
/// `dotnet pack`/`build` and point it at the wrong SDK pieces; NUGET_PACKAGES would override the
/// temporary global packages folder of the local-feed configuration.
/// </summary>
public static class Processes
{
    private static readonly string[] LeakingVariables =
    [
        "MSBUILD_EXE_PATH", "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBuildLoadMicrosoftTargetsReadOnly",
        "MSBUILDNOINPROCNODE", "NUGET_PACKAGES", "DOTNET_HOST_PATH", "VSTEST_HOST_DEBUG",
    ];

    /// <summary>The dotnet executable running these tests (so child processes use the same SDK).</summary>
    public static string Dotnet { get; } = FindDotnet();

    private static string FindDotnet()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
        string? main = Environment.ProcessPath;
        if (main is not null && Path.GetFileNameWithoutExtension(main) == "dotnet") return main;
        return "dotnet";
    }

    /// <summary>A start description with the cleaned environment.</summary>
    public static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments, string workingDirectory)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (string a in arguments) psi.ArgumentList.Add(a);
        foreach (string v in LeakingVariables) psi.Environment.Remove(v);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        psi.Environment["NO_COLOR"] = "1";
        return psi;
    }

    /// <summary>Runs to completion; kills the whole process tree when it overruns <paramref name="timeout"/>.</summary>
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout)
    {
        var args = arguments.ToArray();
        string command = fileName + " " + string.Join(' ', args);
        using var process = Process.Start(StartInfo(fileName, args, workingDirectory))
            ?? throw new InvalidOperationException($"could not start {command}");
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return new ProcessResult(command, -1, await stdout, (await stderr) + $"\n!! killed after {timeout}");
        }
        return new ProcessResult(command, process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs `dotnet …`.</summary>
    public static Task<ProcessResult> DotnetAsync(string workingDirectory, TimeSpan timeout, params string[] arguments) =>
        RunAsync(Dotnet, arguments, workingDirectory, timeout);
}
