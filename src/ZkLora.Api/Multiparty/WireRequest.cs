using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using ZkLora.Proofs;

namespace ZkLora.Api.Multiparty;

/// <summary>
/// A parsed request (see <see cref="WireMessages"/> for the JSON schema): one of
/// <see cref="InitRequest"/>, <see cref="LoraForwardRequest"/>, <see cref="EndInferenceRequest"/>.
/// </summary>
public abstract record WireRequest
{
    // The protocol has exactly these requests: no other assembly can add one.
    private protected WireRequest()
    {
    }
}
