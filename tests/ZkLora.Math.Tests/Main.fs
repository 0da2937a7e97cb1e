module ZkLora.Math.Tests.Main

open Expecto

[<EntryPoint>]
let main argv =
    // child-process mode of FieldCodegenTests: run the field operators under the JIT listing
    if argv = [| FieldCodegenTests.probeSwitch |] then FieldCodegenTests.probe ()
    else runTestsInAssemblyWithCLIArgs [] argv
