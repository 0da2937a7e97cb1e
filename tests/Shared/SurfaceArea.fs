/// The public surface of an F# library, rendered as sorted text and compared with a checked-in
/// baseline. Roslyn's PublicApiAnalyzers guard the C# libraries; F# has no such analyzer, so this
/// test is the F# libraries' equivalent: any change to what another assembly can see (a type, a
/// member, a signature, a union case, a record field) makes it fail until the baseline is updated
/// on purpose. Linked into each F# test project (tests/Shared is not a project of its own).
module ZkLora.Tests.SurfaceArea

open System
open System.Globalization
open System.IO
open System.Reflection
open Expecto

/// Set to 1 to rewrite the baseline files with the current surface instead of comparing.
let updateVariable = "ZKLORA_UPDATE_SURFACE"

let private declared =
    BindingFlags.Public ||| BindingFlags.NonPublic ||| BindingFlags.Instance ||| BindingFlags.Static ||| BindingFlags.DeclaredOnly

/// A readable, stable name: namespace-qualified, generic arguments in angle brackets, nested
/// types joined with '+', no assembly versions.
let rec typeName (t: Type) : string =
    if t.IsGenericParameter then t.Name
    elif t.IsArray then
        typeName (t.GetElementType()) + "[" + String(',', t.GetArrayRank() - 1) + "]"
    elif t.IsByRef then typeName (t.GetElementType()) + "&"
    elif t.IsPointer then typeName (t.GetElementType()) + "*"
    elif t.IsFunctionPointer then "fnptr"
    else
        let bare (n: string) = match n.IndexOf '`' with -1 -> n | i -> n.Substring(0, i)
        let outer =
            if t.IsNested then
                let d = t.DeclaringType
                typeName (if d.IsGenericType then d.GetGenericTypeDefinition() else d) + "+"
            elif String.IsNullOrEmpty t.Namespace then ""
            else t.Namespace + "."
        let args =
            if t.IsGenericType then "<" + String.Join(", ", t.GetGenericArguments() |> Array.map typeName) + ">" else ""
        outer + bare t.Name + args

let private constraints (args: Type[]) =
    args
    |> Array.choose (fun a ->
        let cs = a.GetGenericParameterConstraints() |> Array.map typeName |> Array.sort
        let special = a.GenericParameterAttributes &&& GenericParameterAttributes.SpecialConstraintMask
        let flags =
            [ if special.HasFlag GenericParameterAttributes.ReferenceTypeConstraint then "class"
              if special.HasFlag GenericParameterAttributes.NotNullableValueTypeConstraint then "struct"
              if special.HasFlag GenericParameterAttributes.DefaultConstructorConstraint then "new()" ]
        match List.ofArray cs @ flags with
        | [] -> None
        | all -> Some(sprintf " where %s : %s" a.Name (String.Join(", ", all))))
    |> String.concat ""

let private parameters (ps: ParameterInfo[]) =
    ps
    |> Array.map (fun p ->
        let dir = if p.IsOut then "out " elif p.ParameterType.IsByRef && p.IsIn then "in " else ""
        let opt = if p.IsOptional then "?" else ""
        sprintf "%s%s%s: %s" dir opt p.Name (typeName p.ParameterType))
    |> fun a -> String.Join(", ", a)

let private literal (v: obj) =
    match v with
    | null -> "null"
    | :? string as s -> "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\""
    | :? IFormattable as f -> f.ToString(null, CultureInfo.InvariantCulture)
    | o -> string o

let private kind (t: Type) =
    if t.IsInterface then "interface"
    elif t.IsEnum then "enum"
    elif t.IsValueType then "struct"
    elif typeof<Delegate>.IsAssignableFrom t then "delegate"
    elif t.IsAbstract && t.IsSealed then "static class"
    elif t.IsAbstract then "abstract class"
    elif t.IsSealed then "sealed class"
    else "class"

/// One line per visible type and member, sorted ordinally.
let render (assembly: Assembly) : string list =
    let lines = Collections.Generic.List<string>()
    let rec visit (t: Type) =
        let name = typeName t
        // The type's own line reads "T : kind …" and sorts before its members, "T :: …".
        let add (s: string) = lines.Add(name + " :: " + s)
        let inherits =
            match t.BaseType with
            | null -> ""
            | b when b = typeof<obj> || b = typeof<ValueType> || b = typeof<Enum> || b = typeof<MulticastDelegate> -> ""
            | b -> " extends " + typeName b
        let interfaces =
            match t.GetInterfaces() |> Array.map typeName |> Array.sort with
            | [||] -> ""
            | a -> " implements " + String.Join(", ", a)
        let generics = if t.IsGenericTypeDefinition then constraints (t.GetGenericArguments()) else ""
        lines.Add(name + " : " + kind t + inherits + interfaces + generics)
        let subclassable = not t.IsSealed && not t.IsInterface && not t.IsValueType
        let visible (m: MethodBase) =
            not (isNull m) && (m.IsPublic || (subclassable && (m.IsFamily || m.IsFamilyOrAssembly)))
        let modifiers (m: MethodBase) =
            (if m.IsStatic then "static " else "")
            + (if m.IsAbstract && not t.IsInterface then "abstract "
               elif m.IsVirtual && not m.IsFinal && not m.IsAbstract then "virtual "
               else "")
            + (if m.IsFamily || m.IsFamilyOrAssembly then "protected " else "")
        let accessors = Collections.Generic.HashSet<MethodInfo>()
        for p in t.GetProperties declared do
            let get, set = p.GetMethod, p.SetMethod
            if not (isNull get) then accessors.Add get |> ignore
            if not (isNull set) then accessors.Add set |> ignore
            if visible get || visible set then
                let m = if visible get then get :> MethodBase else set :> MethodBase
                let index = match p.GetIndexParameters() with [||] -> "" | ps -> "[" + parameters ps + "]"
                let access = (if visible get then " get;" else "") + (if visible set then " set;" else "")
                add (sprintf "%sproperty %s%s : %s {%s }" (modifiers m) p.Name index (typeName p.PropertyType) access)
        for e in t.GetEvents declared do
            for a in [ e.AddMethod; e.RemoveMethod; e.RaiseMethod ] do
                if not (isNull a) then accessors.Add a |> ignore
            if visible e.AddMethod || visible e.RemoveMethod then
                add (sprintf "%sevent %s : %s" (modifiers e.AddMethod) e.Name (typeName e.EventHandlerType))
        for f in t.GetFields declared do
            if not f.IsSpecialName && (f.IsPublic || (subclassable && (f.IsFamily || f.IsFamilyOrAssembly))) then
                let prefix =
                    (if f.IsLiteral then "const " elif f.IsStatic then "static " else "")
                    + (if f.IsInitOnly then "readonly " else "")
                    + (if f.IsFamily || f.IsFamilyOrAssembly then "protected " else "")
                let value = if f.IsLiteral then " = " + literal (f.GetRawConstantValue()) else ""
                add (sprintf "%sfield %s : %s%s" prefix f.Name (typeName f.FieldType) value)
        for c in t.GetConstructors declared do
            if visible c then add (sprintf "%snew(%s)" (modifiers c) (parameters (c.GetParameters())))
        for m in t.GetMethods declared do
            if visible m && not (accessors.Contains m) then
                let generic =
                    if m.IsGenericMethodDefinition then
                        "<" + String.Join(", ", m.GetGenericArguments() |> Array.map (fun a -> a.Name)) + ">"
                    else ""
                let where = if m.IsGenericMethodDefinition then constraints (m.GetGenericArguments()) else ""
                add (sprintf "%s%s%s(%s) : %s%s" (modifiers m) m.Name generic (parameters (m.GetParameters())) (typeName m.ReturnType) where)
        for n in t.GetNestedTypes(BindingFlags.Public ||| BindingFlags.NonPublic) do
            if n.IsNestedPublic || (subclassable && (n.IsNestedFamily || n.IsNestedFamORAssem)) then visit n
    for t in assembly.GetTypes() do
        if t.IsPublic then visit t
    lines |> Seq.sortWith (fun a b -> String.CompareOrdinal(a, b)) |> List.ofSeq

/// Lines of a baseline, without the comment header ('#' lines) and blank lines.
let parseBaseline (text: string) =
    text.Replace("\r\n", "\n").Split('\n')
    |> Array.filter (fun l -> l.Length > 0 && not (l.StartsWith "#"))
    |> List.ofArray

/// (lines only in actual, lines only in expected), each in order.
let diff (expected: string list) (actual: string list) =
    let e = Set.ofList expected
    let a = Set.ofList actual
    actual |> List.filter (fun l -> not (e.Contains l)), expected |> List.filter (fun l -> not (a.Contains l))

/// The baseline text for a surface.
let baselineText (assemblyName: string) (lines: string list) =
    let header =
        [ sprintf "# Public surface of %s: one line per visible type and member, sorted." assemblyName
          sprintf "# Generated by tests/Shared/SurfaceArea.fs; rewrite with %s=1 after an intended API change." updateVariable ]
    String.Join("\n", header @ lines) + "\n"

/// The report when the surface differs from the baseline.
let describe (baselinePath: string) (testProgram: string) (added: string list) (removed: string list) =
    let section (sign: string) (title: string) (ls: string list) =
        if ls.IsEmpty then []
        else sprintf "%s (%d):" title ls.Length :: (ls |> List.map (fun l -> "  " + sign + " " + l))
    String.Join(
        "\n",
        [ sprintf "The public surface differs from %s." baselinePath ]
        @ section "+" "Added (not in the baseline)" added
        @ section "-" "Removed or changed (in the baseline, gone now)" removed
        @ [ "If the change is intended, review it and update the baseline:"
            sprintf "  %s=1 dotnet %s --filter-test-case \"public surface\"" updateVariable testProgram
            "then commit the baseline with the change (an API change for every user of the library)." ])

/// The test: the assembly's surface must equal the baseline file (or, with ZKLORA_UPDATE_SURFACE=1,
/// the file is rewritten). `present` are lines the rendering must hold and `absent` substrings it
/// must not (internal members), spot checks that the renderer sees what it should.
let tests (assembly: Assembly) (baselinePath: string) (present: string list) (absent: string list) =
    let name = assembly.GetName().Name
    testList "surface area" [
        testCase (sprintf "public surface of %s matches %s" name (Path.GetFileName baselinePath)) <| fun () ->
            let actual = render assembly
            Expect.isGreaterThan actual.Length 50 "the rendered surface is implausibly small"
            if Environment.GetEnvironmentVariable updateVariable = "1" then
                File.WriteAllText(baselinePath, baselineText name actual)
                eprintfn "surface area: wrote %d lines to %s" actual.Length baselinePath
            else
                if not (File.Exists baselinePath) then
                    failtestf "The baseline %s does not exist; create it with %s=1." baselinePath updateVariable
                let expected = parseBaseline (File.ReadAllText baselinePath)
                let added, removed = diff expected actual
                if not added.IsEmpty || not removed.IsEmpty then
                    let program =
                        match Assembly.GetEntryAssembly() with
                        | null -> "<test program>.dll"
                        | entry -> Path.GetRelativePath(Environment.CurrentDirectory, entry.Location)
                    failtest (describe baselinePath program added removed)

        testCase "the rendering shows public members and hides internal ones" <| fun () ->
            let lines = render assembly
            for l in present do
                Expect.contains lines l "an expected public member is missing from the rendering"
            for a in absent do
                Expect.isFalse (lines |> List.exists (fun l -> l.Contains(a: string))) (sprintf "'%s' is not public but was rendered" a)

        testCase "a changed surface is reported line by line, with how to update" <| fun () ->
            let expected = [ "A : class"; "A :: new()"; "A :: property X : System.Int32 { get; }" ]
            let actual = [ "A : class"; "A :: new(x: System.Int32)"; "A :: property X : System.Int32 { get; }"; "B : class" ]
            let added, removed = diff expected actual
            Expect.equal added [ "A :: new(x: System.Int32)"; "B : class" ] "added lines"
            Expect.equal removed [ "A :: new()" ] "removed lines"
            let report = describe "SurfaceArea.txt" "t.dll" added removed
            Expect.stringContains report "  + B : class" "added line shown"
            Expect.stringContains report "  - A :: new()" "removed line shown"
            Expect.stringContains report (updateVariable + "=1") "tells how to update"
            Expect.equal (diff actual actual) ([], []) "no difference with itself"
            Expect.equal (parseBaseline (baselineText "X" actual)) actual "a baseline reads back as its lines"
    ]
