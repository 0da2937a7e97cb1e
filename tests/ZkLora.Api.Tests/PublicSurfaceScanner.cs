using System.Reflection;

namespace ZkLora.Api.Tests;

/// <summary>
/// Walks everything a consumer of an assembly can see — exported types (nested ones included),
/// protected nested types of unsealed types, base types, interfaces, generic parameter
/// constraints, and the signatures of public and protected fields, properties, indexers, events,
/// constructors and methods — and reports every place where a type from one of the forbidden
/// assemblies appears, however deeply it is nested (arrays, by-refs, pointers, generic arguments,
/// declaring types of nested types).
/// </summary>
internal static class PublicSurfaceScanner
{
    private const BindingFlags Declared =
        BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>One place where a forbidden type is visible.</summary>
    /// <param name="Where">The member or type, e.g. <c>ZkLora.Api.X.Foo(System.String)</c>.</param>
    /// <param name="Role">Which part of it, e.g. <c>return type</c>, <c>parameter 'x'</c>, <c>base type</c>.</param>
    /// <param name="Offender">The forbidden type and its assembly.</param>
    public sealed record Leak(string Where, string Role, string Offender)
    {
        public override string ToString() => $"{Where}: {Role} uses {Offender}";
    }

    /// <summary>Every leak of <paramref name="forbiddenAssemblies"/> in the visible surface of the given types.</summary>
    public static IReadOnlyList<Leak> FindLeaks(IEnumerable<Type> rootTypes, IReadOnlySet<string> forbiddenAssemblies)
    {
        var leaks = new List<Leak>();
        var queue = new Queue<Type>(rootTypes);
        var seen = new HashSet<Type>();
        while (queue.Count > 0)
        {
            var type = queue.Dequeue();
            if (!seen.Add(type)) continue;
            ScanType(type, forbiddenAssemblies, leaks);
            // Protected nested types are visible to subclasses but not exported.
            if (!type.IsSealed)
                foreach (var nested in type.GetNestedTypes(BindingFlags.NonPublic).Where(n => n.IsNestedFamily || n.IsNestedFamORAssem))
                    queue.Enqueue(nested);
            foreach (var nested in type.GetNestedTypes(BindingFlags.Public))
                queue.Enqueue(nested);
        }
        return leaks;
    }

    private static void ScanType(Type type, IReadOnlySet<string> forbidden, List<Leak> leaks)
    {
        string name = Name(type);
        void Check(Type? t, string role, string where)
        {
            if (t is null) return;
            foreach (var offender in Offenders(t, forbidden))
                leaks.Add(new Leak(where, role, $"{offender.FullName ?? offender.Name} ({offender.Assembly.GetName().Name})"));
        }

        Check(type.BaseType, "base type", name);
        foreach (var i in type.GetInterfaces()) Check(i, "interface", name);
        if (type.IsGenericTypeDefinition)
            foreach (var p in type.GetGenericArguments())
                foreach (var c in p.GetGenericParameterConstraints()) Check(c, $"constraint of {p.Name}", name);
        if (type.IsEnum) Check(Enum.GetUnderlyingType(type), "underlying type", name);

        bool subclassable = !type.IsSealed && !type.IsInterface && !type.IsEnum && !type.IsValueType;
        bool Visible(MethodBase? m) => m is not null && (m.IsPublic || (subclassable && (m.IsFamily || m.IsFamilyOrAssembly)));

        foreach (var f in type.GetFields(Declared))
            if (f.IsPublic || (subclassable && (f.IsFamily || f.IsFamilyOrAssembly)))
                Check(f.FieldType, "field type", $"{name}.{f.Name}");

        foreach (var p in type.GetProperties(Declared))
        {
            if (!Visible(p.GetMethod) && !Visible(p.SetMethod)) continue;
            string where = $"{name}.{p.Name}";
            Check(p.PropertyType, "property type", where);
            foreach (var ip in p.GetIndexParameters()) Check(ip.ParameterType, $"index parameter '{ip.Name}'", where);
        }

        foreach (var e in type.GetEvents(Declared))
            if (Visible(e.AddMethod) || Visible(e.RemoveMethod))
                Check(e.EventHandlerType, "event type", $"{name}.{e.Name}");

        foreach (var c in type.GetConstructors(Declared))
            if (Visible(c))
                foreach (var p in c.GetParameters()) Check(p.ParameterType, $"parameter '{p.Name}'", Signature(name, c));

        // Accessors are reported through their property or event.
        var accessors = type.GetProperties(Declared).SelectMany(p => p.GetAccessors(nonPublic: true))
            .Concat(type.GetEvents(Declared).SelectMany(e => new[] { e.AddMethod, e.RemoveMethod, e.RaiseMethod }))
            .OfType<MethodInfo>().ToHashSet();
        foreach (var m in type.GetMethods(Declared))
        {
            if (!Visible(m) || accessors.Contains(m)) continue;
            string where = Signature(name, m);
            Check(m.ReturnType, "return type", where);
            foreach (var p in m.GetParameters()) Check(p.ParameterType, $"parameter '{p.Name}'", where);
            if (m.IsGenericMethodDefinition)
                foreach (var g in m.GetGenericArguments())
                    foreach (var c in g.GetGenericParameterConstraints()) Check(c, $"constraint of {g.Name}", where);
        }
    }

    /// <summary>The forbidden types inside a type expression.</summary>
    private static IEnumerable<Type> Offenders(Type root, IReadOnlySet<string> forbidden)
    {
        var stack = new Stack<Type>([root]);
        var seen = new HashSet<Type>();
        while (stack.Count > 0)
        {
            var t = stack.Pop();
            if (!seen.Add(t)) continue;
            if (t.HasElementType)
            {
                stack.Push(t.GetElementType()!);
                continue;
            }
            if (t.IsGenericParameter)
            {
                foreach (var c in t.GetGenericParameterConstraints()) stack.Push(c);
                continue;
            }
            bool constructed = t.IsGenericType && !t.IsGenericTypeDefinition;
            // A constructed generic is reported through its definition (pushed below), by its short name.
            if (!constructed && forbidden.Contains(t.Assembly.GetName().Name ?? "")) yield return t;
            if (constructed)
            {
                stack.Push(t.GetGenericTypeDefinition());
                foreach (var a in t.GetGenericArguments()) stack.Push(a);
            }
            if (t.DeclaringType is { } outer) stack.Push(outer);
        }
    }

    private static string Name(Type t) => t.FullName ?? t.Name;

    private static string Signature(string typeName, MethodBase m) =>
        $"{typeName}.{m.Name}({string.Join(", ", m.GetParameters().Select(p => p.ParameterType.Name))})";
}
