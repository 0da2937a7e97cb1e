/// The commitment parameters the F# test suites derive their generators into. A suite owns one
/// instance for its process (as a host owns one per context), so each generator is hashed to the
/// curve once per run instead of once per test.
module ZkLora.Testing.TestParameters

open ZkLora.Math
open ZkLora.Math.Commitment

/// The suite's parameters.
let shared = PublicParameters()
/// Its Pedersen vector generators (projection backend and the vector arguments).
let pedersen = shared.Pedersen
/// Its IPA-over-Vesta commitment scheme (PLONK).
let pcs = shared.Plonk
