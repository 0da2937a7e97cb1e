using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using ZkLora.Proofs;

namespace ZkLora.Api.Multiparty;

/// <summary>One LoRA injection point a contributor serves.</summary>
/// <param name="ModuleName">Module name in the base model.</param>
/// <param name="InDim">Input width.</param>
/// <param name="OutDim">Output width.</param>
/// <param name="Rank">LoRA rank.</param>
public sealed record InjectionPoint(string ModuleName, int InDim, int OutDim, int Rank);
