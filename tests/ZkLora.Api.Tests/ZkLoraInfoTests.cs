using ZkLora.Api;
using Xunit;

namespace ZkLora.Api.Tests;

public class ZkLoraInfoTests
{
    [Fact]
    public void VersionIsSemanticTriple()
    {
        var parts = ZkLoraInfo.Version.Split('.');
        Assert.Equal(3, parts.Length);
        Assert.All(parts, p => Assert.True(int.TryParse(p, out _), $"'{p}' is not a number"));
    }
}
