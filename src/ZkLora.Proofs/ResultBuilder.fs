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
