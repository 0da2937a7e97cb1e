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
            Description = "Proof backend: plonk (default; Poseidon commitment, PLONK circuit per call) or projection " +
                          "(Pedersen commitment with a one-time adapter proof, one projection proof per module and session).",
            DefaultValueFactory = _ => "plonk",
        };
        o.AcceptOnlyFromAmong("plonk", "projection");
        return o;
    }

    public static ProofBackend Read(ParseResult parse, Option<string> option) =>
        parse.GetValue(option) == "projection" ? ProofBackend.Projection : ProofBackend.Plonk;
}
