/// Names that end up in file names, and the proof-artifact file names built from them.
///
/// Allowed alphabets (so a name can never escape the proof directory, hide a file, or make
/// two different (session, module, index) triples share a file name):
/// - session id: 1–64 characters from [A-Za-z0-9_-], not starting with '-'. No '.', so the
///   first '.' of a file name always ends the session id;
/// - module name: 1–128 characters from [A-Za-z0-9_.-], not starting with '.' or '-', not
///   ending with '.', no "..": PyTorch module paths such as
///   `base_model.model.transformer.h.0.attn.c_attn` fit;
/// - invocation index: a non-negative integer, written in plain decimal.
/// With these rules `<session>.<module>.<index>` is injective (session = text before the
/// first '.', index = digits after the last '.', module = the rest) and the longest file
/// name, 64 + 1 + 128 + 1 + 19 + 22 = 235 bytes, stays under the usual 255-byte limit.
/// Path separators, "..", control characters, spaces and non-ASCII are all rejected.
[<RequireQualifiedAccess>]
module ZkLora.Proofs.ArtifactNames

open System

let maxSessionIdLength = 64
let maxModuleNameLength = 128

let private isWordChar (c: char) = Char.IsAsciiLetterOrDigit c || c = '_' || c = '-'

let private describe (s: string) = if isNull s then "null" else sprintf "'%s'" (s.Replace("\u0000", "\\0"))

/// Checks a session id against the documented alphabet.
let validateSessionId (s: string) : Result<string, string> =
    if String.IsNullOrEmpty s then Error "session id must not be empty"
    elif s.Length > maxSessionIdLength then Error(sprintf "session id is longer than %d characters" maxSessionIdLength)
    elif not (s |> Seq.forall isWordChar) then
        Error(sprintf "session id %s may only contain A-Z a-z 0-9 _ - (no dots, separators, spaces or control characters)" (describe s))
    elif s[0] = '-' then Error(sprintf "session id %s must not start with '-'" (describe s))
    else Ok s

/// Checks a module name against the documented alphabet.
let validateModuleName (s: string) : Result<string, string> =
    if String.IsNullOrEmpty s then Error "module name must not be empty"
    elif s.Length > maxModuleNameLength then Error(sprintf "module name is longer than %d characters" maxModuleNameLength)
    elif not (s |> Seq.forall (fun c -> isWordChar c || c = '.')) then
        Error(sprintf "module name %s may only contain A-Z a-z 0-9 _ - . (no separators, spaces or control characters)" (describe s))
    elif s[0] = '.' || s[0] = '-' then Error(sprintf "module name %s must not start with '.' or '-'" (describe s))
    elif s[s.Length - 1] = '.' then Error(sprintf "module name %s must not end with '.'" (describe s))
    elif s.Contains ".." then Error(sprintf "module name %s must not contain '..'" (describe s))
    else Ok s

/// Checks an invocation index (≥ 0).
let validateInvocationIndex (i: int64) : Result<int64, string> =
    if i < 0L then Error(sprintf "invocation index %d must be ≥ 0" i) else Ok i

/// Which transcript entry (module call) a proof covers.
type ProofKey =
    { SessionId: string
      ModuleName: string
      InvocationIndex: int64 }

let validateKey (k: ProofKey) : Result<ProofKey, string> =
    validateSessionId k.SessionId
    |> Result.bind (fun _ -> validateModuleName k.ModuleName)
    |> Result.bind (fun _ -> validateInvocationIndex k.InvocationIndex)
    |> Result.map (fun _ -> k)

let statementSuffix = ".zklora.statement.json"
let proofSuffix = ".zklora.proof"
let metaSuffix = ".zklora.meta.json"

let private baseName (k: ProofKey) =
    validateKey k |> Result.map (fun k -> sprintf "%s.%s.%d" k.SessionId k.ModuleName k.InvocationIndex)

/// `<session>.<module>.<index>.zklora.statement.json`
let statementFileName (k: ProofKey) = baseName k |> Result.map (fun b -> b + statementSuffix)
/// `<session>.<module>.<index>.zklora.proof`
let proofFileName (k: ProofKey) = baseName k |> Result.map (fun b -> b + proofSuffix)
/// `<session>.<module>.<index>.zklora.meta.json`
let metaFileName (k: ProofKey) = baseName k |> Result.map (fun b -> b + metaSuffix)

/// The key encoded in an artifact file name (inverse of the builders above), so a verifier
/// can enumerate a proof directory.
let tryParseFileName (fileName: string) : Result<ProofKey * string, string> =
    if isNull fileName then Error "file name is null"
    else
        match [ statementSuffix; proofSuffix; metaSuffix ] |> List.tryFind (fun s -> fileName.EndsWith(s, StringComparison.Ordinal)) with
        | None -> Error(sprintf "'%s' is not a zkLoRA proof artifact name" fileName)
        | Some suffix ->
            let stem = fileName.Substring(0, fileName.Length - suffix.Length)
            let first = stem.IndexOf '.'
            let last = stem.LastIndexOf '.'
            if first < 0 || last <= first then Error(sprintf "'%s' does not have the form <session>.<module>.<index>%s" fileName suffix)
            else
                let session = stem.Substring(0, first)
                let moduleName = stem.Substring(first + 1, last - first - 1)
                let indexText = stem.Substring(last + 1)
                let isCanonicalIndex = indexText.Length > 0 && indexText.Length <= 19 && indexText |> Seq.forall Char.IsAsciiDigit && (indexText = "0" || indexText[0] <> '0')
                match Int64.TryParse(indexText, Globalization.NumberStyles.None, Globalization.CultureInfo.InvariantCulture) with
                | true, index when isCanonicalIndex ->
                    validateKey { SessionId = session; ModuleName = moduleName; InvocationIndex = index }
                    |> Result.map (fun k -> k, suffix)
                | _ -> Error(sprintf "'%s': invocation index '%s' is not a canonical non-negative integer" fileName indexText)
