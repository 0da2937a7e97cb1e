/// The constant-time claim for field arithmetic rests on the JIT's output, so it is checked
/// on that output: a child copy of this test program runs the operators with the JIT's
/// disassembly switched on, and the listings of the optimised workers behind them must
/// contain no conditional jump and no call (a call could reach code with data-dependent
/// branches).
/// x64 only (the JIT listing's mnemonics are what is parsed).
module ZkLora.Math.Tests.FieldCodegenTests

open System
open System.Diagnostics
open System.IO
open System.Reflection
open System.Runtime.InteropServices
open System.Text.RegularExpressions
open Expecto
open ZkLora.Math

/// Command-line switch that makes the test program run `probe` instead of the tests.
let probeSwitch = "--field-codegen-probe"

/// The workers behind +, -, unary -, * and Square (the operators are inlined wrappers).
let private operators = [ "AddLimbs"; "SubLimbs"; "MulLimbs"; "SqrLimbs" ]

let private exercise (a: FieldElement<'P>) (b: FieldElement<'P>) =
    let mutable x = a
    for _ in 1..100 do x <- ((x + b) * a - b).Square() + (-x)
    x.IsZero

/// Runs every field operator so the JIT compiles (and, when asked to, lists) them.
let probe () =
    let f1 = exercise (Fp.random ()) (Fp.random ())
    let f2 = exercise (Fq.random ()) (Fq.random ())
    printfn "probe done %b %b" f1 f2
    0

/// Splits a JIT listing file into (method header, instruction mnemonics) per method.
let private parseListing (text: string) =
    text.Split("; Assembly listing for method ", StringSplitOptions.RemoveEmptyEntries)
    |> Array.filter (fun chunk -> chunk.StartsWith "ZkLora.Math.FieldElement`1[")
    |> Array.map (fun chunk ->
        let header = chunk.Substring(0, chunk.IndexOf '\n')
        let mnemonics =
            chunk.Split('\n')
            |> Array.choose (fun line ->
                let m = Regex.Match(line, @"^\s+([a-z][a-z0-9]*)\b")
                if m.Success && not (line.TrimStart().StartsWith ";") then Some m.Groups[1].Value else None)
        header, mnemonics)

[<Tests>]
let tests =
    testList "fields" [
        test "optimised field arithmetic contains no conditional jump and no call" {
            if RuntimeInformation.ProcessArchitecture <> Architecture.X64 then
                skiptest "the listing check parses x64 mnemonics"
            let listing = Path.Combine(Path.GetTempPath(), sprintf "zklora-field-codegen-%d.txt" Environment.ProcessId)
            let psi = ProcessStartInfo(Environment.ProcessPath)
            // When run as `dotnet tests.dll`, ProcessPath is the dotnet host: pass the assembly.
            if Path.GetFileNameWithoutExtension(Environment.ProcessPath) = "dotnet" then
                psi.ArgumentList.Add(Assembly.GetExecutingAssembly().Location)
            psi.ArgumentList.Add probeSwitch
            psi.RedirectStandardOutput <- true
            psi.RedirectStandardError <- true
            psi.Environment["DOTNET_TieredCompilation"] <- "0" // one fully optimised listing per method
            psi.Environment["DOTNET_JitDisasm"] <- String.Join(" ", operators)
            psi.Environment["DOTNET_JitStdOutFile"] <- listing
            try
                use child = Process.Start psi
                let out = child.StandardOutput.ReadToEnd() + child.StandardError.ReadToEnd()
                Expect.isTrue (child.WaitForExit 120_000) "probe finished"
                Expect.equal child.ExitCode 0 (sprintf "probe exit code; output: %s" out)
                Expect.isTrue (File.Exists listing) "the runtime wrote a JIT listing"
                let methods = parseListing (File.ReadAllText listing)
                // 4 workers × 2 fields
                Expect.equal methods.Length (operators.Length * 2) (sprintf "listed methods: %A" (Array.map fst methods))
                for header, mnemonics in methods do
                    Expect.isGreaterThan mnemonics.Length 20 (sprintf "parsed instructions of %s" header)
                    let bad = mnemonics |> Array.filter (fun m -> (m.StartsWith "j" && m <> "jmp") || m = "call")
                    Expect.isEmpty bad (sprintf "%s has branches or calls: %A" header bad)
            finally
                if File.Exists listing then File.Delete listing
        }
    ]
