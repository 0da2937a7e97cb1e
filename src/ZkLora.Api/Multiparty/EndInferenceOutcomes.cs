namespace ZkLora.Api.Multiparty;

/// <summary>
/// Checks of what <see cref="BaseModelClient.EndInferenceAsync"/> returned. That method never throws
/// for a contributor that failed to prove (it asks every contributor and reports each outcome), so
/// a caller that ignores its result would miss a failed proving; these turn any failure into an exception.
/// </summary>
public static class EndInferenceOutcomes
{
    /// <summary>The contributor's answer, when it proved its calls.</summary>
    /// <param name="outcome">One contributor's outcome.</param>
    /// <returns>Its <see cref="EndInferenceOutcome.Response"/>.</returns>
    /// <exception cref="ContributorException">The contributor failed (unreachable, refused, could not prove, timed out); the message names it and says why.</exception>
    public static EndInferenceResponse EnsureSuccess(this EndInferenceOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return outcome.Response ?? throw new ContributorException($"end_inference at {outcome.Contributor} failed: {outcome.Error}");
    }

    /// <summary>Every contributor's answer, when all of them proved their calls.</summary>
    /// <param name="outcomes">The outcomes of one <see cref="BaseModelClient.EndInferenceAsync"/>.</param>
    /// <returns>The answers, in the same order.</returns>
    /// <exception cref="ContributorException">At least one contributor failed; the message names every failed one and why.</exception>
    public static IReadOnlyList<EndInferenceResponse> EnsureAllSucceeded(this IEnumerable<EndInferenceOutcome> outcomes)
    {
        ArgumentNullException.ThrowIfNull(outcomes);
        var all = outcomes.ToList();
        var failed = all.Where(o => o.Response is null).ToList();
        if (failed.Count > 0)
            throw new ContributorException(failed.Count == 1
                ? $"end_inference at {failed[0].Contributor} failed: {failed[0].Error}"
                : $"end_inference failed at {failed.Count} of {all.Count} contributors: " +
                  string.Join("; ", failed.Select(o => $"{o.Contributor}: {o.Error}")));
        return all.Select(o => o.Response!).ToList().AsReadOnly();
    }
}
