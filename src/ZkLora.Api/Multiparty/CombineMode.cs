using System.Numerics;
using System.Security.Cryptography;
using ZkLora.Model;
using ZkLora.Proofs;
using static TorchSharp.torch;
using FsEntry = ZkLora.Proofs.TranscriptEntry;
using FsFixedPoint = ZkLora.Proofs.FixedPoint;

namespace ZkLora.Api.Multiparty;

/// <summary>How a base-model user combines a contributor's answer with the module's own output.</summary>
public enum CombineMode
{
    /// <summary>module output = base output + delta (the LoRA forward; the default).</summary>
    AddDelta,
    /// <summary>module output = the contributor's output (the delta alone replaces the base output).</summary>
    Replace,
}
