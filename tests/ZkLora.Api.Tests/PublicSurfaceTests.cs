using System.Reflection;
using Xunit;

namespace ZkLora.Api.Tests;

/// <summary>
/// ZkLora.Api is the C# face of the library: nothing of the F# core (FSharp.Core lists, options,
/// results, functions; ZkLora.Proofs records; ZkLora.Math field elements) may show in anything a
/// consumer can see.
/// </summary>
public class PublicSurfaceTests
{
    private static readonly HashSet<string> Forbidden = ["FSharp.Core", "ZkLora.Math", "ZkLora.Proofs"];

    [Fact]
    public void No_FSharp_core_or_ZkLora_Math_or_ZkLora_Proofs_type_is_visible_in_ZkLora_Api()
    {
        // ZkLora.Api and ZkLora.Verification (which holds the types ZkLora.Api 0.1.0 had and now forwards).
        var exported = typeof(ZkLoraInfo).Assembly.GetExportedTypes().Concat(typeof(ProofVerification).Assembly.GetExportedTypes()).ToArray();
        Assert.True(exported.Length > 20, $"only {exported.Length} exported types: the scan would prove little");
        Assert.Contains(typeof(ParameterPolicy), exported);
        Assert.Contains(typeof(ProofVerification), typeof(ZkLoraInfo).Assembly.GetForwardedTypes());
        var leaks = PublicSurfaceScanner.FindLeaks(exported, Forbidden);
        Assert.True(leaks.Count == 0,
            $"{leaks.Count} public signature(s) of ZkLora.Api expose F# core types; give them C# types or make them internal:\n  " +
            string.Join("\n  ", leaks.Select(l => l.ToString()).Order(StringComparer.Ordinal)));
    }

    [Fact]
    public void The_Api_references_the_F_sharp_core_at_all_so_the_scan_is_not_vacuous()
    {
        foreach (var assembly in new[] { typeof(ZkLoraInfo).Assembly, typeof(ProofVerification).Assembly })
        {
            var referenced = assembly.GetReferencedAssemblies().Select(a => a.Name).ToHashSet();
            Assert.Contains("FSharp.Core", referenced);
            Assert.Contains("ZkLora.Proofs", referenced);
        }
    }

    /// <summary>
    /// The scanner on purpose-built leaks (in this test assembly): each way a type can become
    /// visible must be reported, naming the member.
    /// </summary>
    [Fact]
    public void The_scanner_reports_every_kind_of_leak_and_names_the_member()
    {
        var samples = typeof(LeakSamples.FieldLeak).Assembly.GetExportedTypes()
            .Where(t => t.Namespace == typeof(LeakSamples.FieldLeak).Namespace);
        var leaks = PublicSurfaceScanner.FindLeaks(samples, Forbidden);
        string all = string.Join("\n", leaks);

        void Reported(string where, string role, string offender) =>
            Assert.True(leaks.Any(l => l.Where == where && l.Role == role && l.Offender.StartsWith(offender, StringComparison.Ordinal)),
                $"expected '{where}: {role} uses {offender}…' among:\n{all}");

        const string ns = "ZkLora.Api.Tests.LeakSamples.";
        Reported(ns + "FieldLeak.Option", "field type", "Microsoft.FSharp.Core.FSharpOption`1 (FSharp.Core)");
        Reported(ns + "PropertyLeak.Manifest", "property type", "ZkLora.Proofs.Manifest (ZkLora.Proofs)");
        Reported(ns + "NestedGenericLeak.Entries()", "return type", "Microsoft.FSharp.Collections.FSharpList`1");
        Reported(ns + "NestedGenericLeak.Entries()", "return type", "ZkLora.Proofs.TranscriptEntry");
        Reported(ns + "ParameterLeak.Take(FieldElement`1[]&)", "parameter 'salt'", "ZkLora.Math.FieldElement`1");
        Reported(ns + "ParameterLeak.Take(FieldElement`1[]&)", "parameter 'salt'", "ZkLora.Math.PallasBase");
        Reported(ns + "ConstructorLeak..ctor(FixedPointConfig)", "parameter 'config'", "ZkLora.Proofs.FixedPoint+FixedPointConfig");
        Reported(ns + "ConstructorLeak..ctor(FixedPointConfig)", "parameter 'config'", "ZkLora.Proofs.FixedPoint (ZkLora.Proofs)");
        Reported(ns + "BaseTypeLeak", "base type", "Microsoft.FSharp.Core.FSharpFunc`2");
        Reported(ns + "InterfaceLeak", "interface", "ZkLora.Proofs.ManifestAdapter");
        Reported(ns + "ConstraintLeak`1", "constraint of T", "Microsoft.FSharp.Core.FSharpFunc`2");
        Reported(ns + "GenericMethodLeak.Pick(T)", "constraint of T", "Microsoft.FSharp.Core.FSharpFunc`2");
        Reported(ns + "EventLeak.Changed", "event type", "Microsoft.FSharp.Control.FSharpHandler`1");
        Reported(ns + "ProtectedLeak.Secret", "property type", "Microsoft.FSharp.Core.FSharpResult`2");
        Reported(ns + "ProtectedLeak+Inner.Value", "field type", "Microsoft.FSharp.Core.FSharpOption`1");
        Reported(ns + "Outer+PublicNested.Make()", "return type", "ZkLora.Proofs.InferenceTranscript (ZkLora.Proofs)");
        Reported(ns + "IndexerLeak.Item", "index parameter 'key'", "Microsoft.FSharp.Core.FSharpOption`1");

        // What is not visible is not reported: private and internal members, and protected ones of sealed types.
        Assert.DoesNotContain(leaks, l => l.Where.Contains("Hidden", StringComparison.Ordinal));
        Assert.DoesNotContain(leaks, l => l.Where.StartsWith(ns + "Clean", StringComparison.Ordinal));
    }
}
