using System.Numerics;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Control;
using Microsoft.FSharp.Core;
using ZkLora.Proofs;
using Fp = ZkLora.Math.FieldElement<ZkLora.Math.PallasBase>;

// Purpose-built leaks for PublicSurfaceTests: each type shows an F# core type to consumers in one
// way the scanner must catch ("Hidden" members and "Clean" types must not be reported). Nothing
// here is used by anything else.
#pragma warning disable CS0067, CS0169, CS0649, IDE0051
namespace ZkLora.Api.Tests.LeakSamples;

public class FieldLeak
{
    public FSharpOption<int>? Option;
    private FSharpOption<int>? _hiddenField;
}

public class PropertyLeak
{
    public Manifest? Manifest { get; set; }
    internal Manifest? HiddenInternal { get; set; }
}

public class NestedGenericLeak
{
    public Task<IReadOnlyList<FSharpList<TranscriptEntry>>> Entries() => throw new NotSupportedException();
    private FSharpList<int> Hidden() => FSharpList<int>.Empty;
}

public class ParameterLeak
{
    public void Take(ref Fp[] salt) { }
}

public class ConstructorLeak
{
    public ConstructorLeak(FixedPoint.FixedPointConfig config) { }
    private ConstructorLeak(FSharpOption<int> hidden) { }
}

public class BaseTypeLeak : FSharpFunc<int, int>
{
    public override int Invoke(int func) => func;
}

public abstract class InterfaceLeak : IEquatable<ManifestAdapter>
{
    public abstract bool Equals(ManifestAdapter? other);
}

public class ConstraintLeak<T> where T : FSharpFunc<int, int>
{
}

public class GenericMethodLeak
{
    public T Pick<T>(T value) where T : FSharpFunc<int, int> => value;
}

public class EventLeak
{
    public event FSharpHandler<int>? Changed;
}

public class ProtectedLeak
{
    protected FSharpResult<int, string> Secret => FSharpResult<int, string>.NewOk(1);

    protected class Inner
    {
        public FSharpOption<int>? Value;
    }
}

public sealed class CleanSealed
{
    private FSharpResult<int, string> Hidden => FSharpResult<int, string>.NewOk(1);
    public BigInteger Value => BigInteger.One;
}

public class Outer
{
    public class PublicNested
    {
        public ZkLora.Proofs.InferenceTranscript Make() => throw new NotSupportedException();
    }

    private class HiddenNested
    {
        public FSharpOption<int>? Value;
    }
}

public class IndexerLeak
{
    public int this[FSharpOption<int> key] => 0;
}
