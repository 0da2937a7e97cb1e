/// ZkLora.Proofs' public surface against SurfaceArea.txt (see tests/Shared/SurfaceArea.fs).
module ZkLora.Proofs.Tests.SurfaceAreaTests

open System.IO
open Expecto

[<Tests>]
let tests =
    ZkLora.Tests.SurfaceArea.tests
        typeof<ZkLora.Proofs.Manifest>.Assembly
        (Path.Combine(__SOURCE_DIRECTORY__, "SurfaceArea.txt"))
        [ "ZkLora.Proofs.FixedPoint : static class"
          "ZkLora.Proofs.FixedPoint :: static quantize(c: ZkLora.Proofs.FixedPoint+FixedPointConfig, v: System.Double) : Microsoft.FSharp.Core.FSharpResult<System.Numerics.BigInteger, System.String>"
          "ZkLora.Proofs.Manifest :: property Adapters : Microsoft.FSharp.Collections.FSharpList<ZkLora.Proofs.ManifestAdapter> { get; }" ]
        [ "quantizeReference"; "fastRowsOnly" ]
