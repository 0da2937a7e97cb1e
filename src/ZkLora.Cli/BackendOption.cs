using System.CommandLine;
using ZkLora.Api;

namespace ZkLora.Cli;

/// <summary><c>--backend plonk|projection</c>: the proof backend a contributor commits its adapter for.</summary>
internal static class BackendOption
{
    public static Option<string> Create()
    {
        var o = new Option<string>("--backend")
        {
            Description = "Proof backend: projection (default; Pedersen commitment with a one-time adapter proof, one " +
                          "projection proof per module and session) or plonk (Poseidon commitment, one PLONK proof per call).",
            DefaultValueFactory = _ => "projection",
        };
        o.AcceptOnlyFromAmong("plonk", "projection");
        return o;
    }

    public static ProofBackend Read(ParseResult parse, Option<string> option) =>
        parse.GetValue(option) == "plonk" ? ProofBackend.Plonk : ProofBackend.Projection;
}
