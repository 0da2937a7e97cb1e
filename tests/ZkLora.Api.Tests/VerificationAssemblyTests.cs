using System.Reflection;
using Xunit;

namespace ZkLora.Api.Tests;

/// <summary>
/// ZkLora.Verification is what a verifier references from C#: its whole assembly closure must
/// load without TorchSharp or ZkLora.Model (the package closure is checked in the packaging tests).
/// </summary>
public class VerificationAssemblyTests
{
    [Fact]
    public void The_verification_assembly_closure_has_neither_TorchSharp_nor_ZkLora_Model()
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var pending = new Queue<Assembly>([typeof(ProofVerification).Assembly]);
        while (pending.TryDequeue(out var a))
        {
            if (!seen.Add(a.GetName().Name!)) continue;
            foreach (var r in a.GetReferencedAssemblies())
            {
                if (r.Name is null || seen.Contains(r.Name)) continue;
                if (r.Name.StartsWith("System", StringComparison.Ordinal) || r.Name is "mscorlib" or "netstandard") continue;
                pending.Enqueue(Assembly.Load(r));
            }
        }
        Assert.Contains("ZkLora.Proofs", seen);
        Assert.Contains("ZkLora.Math", seen);
        Assert.DoesNotContain(seen, n => n.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase) || n == "ZkLora.Model");
    }

    [Fact]
    public void The_types_ZkLora_Api_shipped_in_0_1_0_are_forwarded_to_ZkLora_Verification()
    {
        var forwarded = typeof(ZkLoraInfo).Assembly.GetForwardedTypes();
        foreach (var t in new[] { typeof(ProofVerification), typeof(AdapterManifest), typeof(InferenceTranscript), typeof(FixedPointSettings), typeof(ActivationCommitments) })
        {
            Assert.Contains(t, forwarded);
            Assert.Equal("ZkLora.Verification", t.Assembly.GetName().Name);
            Assert.Equal("ZkLora.Api", t.Namespace);
        }
    }

    [Fact]
    public void Lora_scaling_is_reduced_with_a_positive_denominator()
    {
        Assert.Equal(new LoraScaling(1, 2), new LoraScaling(-2, -4));
        Assert.Equal("-3/4", new LoraScaling(3, -4).ToString());
        Assert.Equal(new LoraScaling(0, 1), new LoraScaling(0, 7));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LoraScaling(1, 0));
        Assert.Equal(0.25, new LoraScaling(1, 4).ToDouble());
    }
}
