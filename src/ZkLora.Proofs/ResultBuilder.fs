namespace ZkLora.Proofs

/// The library's one Result computation expression (`result { ... }`), over any error type: the
/// artifact readers use string errors, the verifier its typed `VerifyFailure`.
type internal ResultBuilder() =
    member _.Return(v) : Result<'a, 'e> = Ok v
    member _.ReturnFrom(r: Result<'a, 'e>) = r
    member _.Bind(r: Result<'a, 'e>, f: 'a -> Result<'b, 'e>) = Result.bind f r
    member _.Zero() : Result<unit, 'e> = Ok()

[<AutoOpen>]
module internal ResultBuilderInstance =
    let result = ResultBuilder()

    /// Maps f (given each item's index) over a list, stopping at the first error.
    let traverse (f: int -> 'a -> Result<'b, 'e>) (xs: 'a list) : Result<'b list, 'e> =
        let rec go i acc xs =
            match xs with
            | [] -> Ok(List.rev acc)
            | x :: rest ->
                match f i x with
                | Ok y -> go (i + 1) (y :: acc) rest
                | Error e -> Error e
        go 0 [] xs

    /// Batch verification that still names the bad item: `batch ()` decides every item at once
    /// (one shared final check, cheaper); only when it fails is each item verified alone with
    /// `single`, and the first item's own error is returned. If every item passes alone, the
    /// batch's error stands (its shared check failed — possible only for a batch of mixed
    /// origins, never silently accepted).
    let batchThenCulprit (batch: unit -> Result<unit, 'e>) (single: 'a -> Result<unit, 'e>) (items: 'a seq) : Result<unit, 'e> =
        match batch () with
        | Ok() -> Ok()
        | Error batchError ->
            items
            |> Seq.tryPick (fun item -> match single item with Error e -> Some e | Ok() -> None)
            |> Option.defaultValue batchError
            |> Error
