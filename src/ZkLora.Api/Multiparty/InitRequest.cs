using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using ZkLora.Proofs;

namespace ZkLora.Api.Multiparty;

/// <summary><c>{"type":"init_request"}</c>: asks a contributor for its injection points.</summary>
public sealed record InitRequest : WireRequest;
