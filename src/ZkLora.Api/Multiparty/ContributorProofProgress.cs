namespace ZkLora.Api.Multiparty;

/// <summary>
/// A contributor's proving progress, as <see cref="BaseModelClient.EndInferenceAsync"/> reports it to
/// <see cref="BaseModelClient.ProofProgress"/> while it waits for the <c>end_inference</c> answer
/// (the <c>proof_progress</c> request).
/// </summary>
/// <param name="Contributor">The contributor.</param>
/// <param name="State"><c>queued</c> (another session is being proved first) or <c>proving</c>.</param>
/// <param name="Done">Proofs finished.</param>
/// <param name="Total">Proofs to write (0 while queued).</param>
public sealed record ContributorProofProgress(ContributorEndpoint Contributor, string State, int Done, int Total);
