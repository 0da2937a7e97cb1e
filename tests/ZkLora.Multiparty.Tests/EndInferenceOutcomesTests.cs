using ZkLora.Api.Multiparty;
using Xunit;

namespace ZkLora.Multiparty.Tests;

public class EndInferenceOutcomesTests
{
    private static readonly ContributorEndpoint A = new("127.0.0.1", 30000);
    private static readonly ContributorEndpoint B = new("127.0.0.1", 30001);

    [Fact]
    public void All_succeeded_gives_the_responses_in_order()
    {
        var ra = new EndInferenceResponse("s", 2, 2);
        var rb = new EndInferenceResponse("s", 3, 3);
        var responses = new[] { new EndInferenceOutcome(A, ra, null), new EndInferenceOutcome(B, rb, null) }.EnsureAllSucceeded();
        Assert.Equal([ra, rb], responses);
        Assert.Same(ra, new EndInferenceOutcome(A, ra, null).EnsureSuccess());
    }

    [Fact]
    public void One_failed_contributor_throws_naming_it_and_the_reason()
    {
        var outcomes = new[] { new EndInferenceOutcome(A, new EndInferenceResponse("s", 2, 2), null), new EndInferenceOutcome(B, null, "end_inference: cannot prove") };
        var e = Assert.Throws<ContributorException>(() => outcomes.EnsureAllSucceeded());
        Assert.Equal("end_inference at 127.0.0.1:30001 failed: end_inference: cannot prove", e.Message);
        Assert.Throws<ContributorException>(() => outcomes[1].EnsureSuccess());
    }

    [Fact]
    public void Several_failures_are_all_named()
    {
        var outcomes = new[] { new EndInferenceOutcome(A, null, "timed out"), new EndInferenceOutcome(B, null, "refused") };
        var e = Assert.Throws<ContributorException>(() => outcomes.EnsureAllSucceeded());
        Assert.Equal("end_inference failed at 2 of 2 contributors: 127.0.0.1:30000: timed out; 127.0.0.1:30001: refused", e.Message);
    }
}
