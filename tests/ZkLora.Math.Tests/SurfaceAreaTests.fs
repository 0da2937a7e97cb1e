/// ZkLora.Math's public surface against SurfaceArea.txt (see tests/Shared/SurfaceArea.fs).
module ZkLora.Math.Tests.SurfaceAreaTests

open System.IO
open Expecto

[<Tests>]
let tests =
    ZkLora.Tests.SurfaceArea.tests
        typeof<ZkLora.Math.PallasBase>.Assembly
        (Path.Combine(__SOURCE_DIRECTORY__, "SurfaceArea.txt"))
        [ "ZkLora.Math.PallasBase :: static property P0 : System.UInt64 { get; }"
          "ZkLora.Math.FpModule : static class" ]
        [ "Mont256"; "SafeGcd" ]
