/// Reading untrusted files: only regular files, a hard byte cap, never a hang or an exception
/// (issue 15, item 7; item 13 for the messages).
module ZkLora.Proofs.Tests.SafeFileTests

open System
open System.Diagnostics
open System.IO
open System.Threading.Tasks
open Expecto
open ZkLora.Proofs

let tempDir () =
    let d = Path.Combine(Path.GetTempPath(), "zklora-safefile-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    d

/// Makes a FIFO with the system's mkfifo (Unix only).
let mkfifo (path: string) =
    use p = Process.Start(ProcessStartInfo("mkfifo", [| path |], UseShellExecute = false))
    p.WaitForExit()
    if p.ExitCode <> 0 then failtestf "mkfifo %s failed" path

/// Runs a read on another thread: a read that hangs fails the test instead of hanging the suite.
/// (A guard, not a timing assertion: a correct read returns at once, a wrong one never.)
let notHanging (f: unit -> 'T) : 'T =
    let t = Task.Run(fun () -> f ())
    if not (t.Wait(TimeSpan.FromMinutes 2.0)) then failtest "the read hung"
    t.Result

let expectError (contains: string) (r: Result<'T, string>) =
    match r with
    | Ok _ -> failtestf "read succeeded but should be refused (%s)" contains
    | Error e -> Expect.stringContains e contains "message"

let unixOnly name body =
    if OperatingSystem.IsWindows() then ptestCase name body else testCase name body

[<Tests>]
let tests =
    testList "safe file reading" [
        test "a regular file is read completely" {
            let d = tempDir ()
            let p = Path.Combine(d, "a.json")
            File.WriteAllBytes(p, [| for i in 0 .. 200000 -> byte i |])
            match SafeFile.readBytes "test" 1_000_000L p with
            | Ok b -> Expect.equal b (File.ReadAllBytes p) "same bytes"
            | Error e -> failtest e
        }
        test "a file above the cap is refused" {
            let d = tempDir ()
            let p = Path.Combine(d, "a.json")
            File.WriteAllBytes(p, Array.zeroCreate 1001)
            SafeFile.readBytes "test" 1000L p |> expectError "larger than 1000 bytes"
            Expect.isOk (SafeFile.readBytes "test" 1001L p) "exactly the cap is fine"
        }
        test "failures carry their kind (callers never match the message)" {
            let d = tempDir ()
            let big = Path.Combine(d, "big")
            File.WriteAllBytes(big, Array.zeroCreate 1001)
            let f = Path.Combine(d, "f")
            File.WriteAllText(f, "x")
            let kindOf p = match SafeFile.tryReadBytes "test" 1000L p with Error e -> Some e.Kind | Ok _ -> None
            Expect.equal (kindOf (Path.Combine(d, "none"))) (Some SafeFile.Missing) "missing"
            Expect.equal (kindOf big) (Some SafeFile.TooLarge) "too large"
            Expect.equal (kindOf d) (Some SafeFile.Unreadable) "a directory"
            Expect.equal (kindOf (Path.Combine(f, "under"))) (Some SafeFile.Unreadable) "a path under a file cannot exist: not 'missing'"
            Expect.equal (kindOf f) None "a small regular file is read"
        }
        test "a missing file, a directory and a path under a file get precise messages" {
            let d = tempDir ()
            SafeFile.readBytes "statement" 1000L (Path.Combine(d, "none")) |> expectError "does not exist"
            SafeFile.readBytes "statement" 1000L d |> expectError "is a directory, not a file"
            let f = Path.Combine(d, "f")
            File.WriteAllText(f, "{}")
            SafeFile.readBytes "statement" 1000L (Path.Combine(f, "x")) |> expectError "is a file, not a directory"
        }
        unixOnly "a FIFO is refused without waiting for a writer" <| fun () ->
            let d = tempDir ()
            let p = Path.Combine(d, "fifo")
            mkfifo p
            notHanging (fun () -> SafeFile.readBytes "meta" 1000L p) |> expectError "meta file"
        unixOnly "a symbolic link (to /dev/zero, or to a regular file) is refused" <| fun () ->
            let d = tempDir ()
            let z = Path.Combine(d, "zero")
            File.CreateSymbolicLink(z, "/dev/zero") |> ignore
            notHanging (fun () -> SafeFile.readBytes "statement" 1000L z) |> expectError "symbolic link"
            let f = Path.Combine(d, "f")
            File.WriteAllText(f, "{}")
            let l = Path.Combine(d, "l")
            File.CreateSymbolicLink(l, f) |> ignore
            SafeFile.readBytes "statement" 1000L l |> expectError "symbolic link"
        unixOnly "a device is refused (its size of 0 is not trusted, nothing is read from it)" <| fun () ->
            for dev in [ "/dev/zero"; "/dev/urandom"; "/dev/null" ] do
                if File.Exists dev then
                    notHanging (fun () -> SafeFile.readBytes "proof" (1L <<< 30) dev) |> expectError "not a regular file"
    ]
