using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using ZkLora.Proofs;

namespace ZkLora.Api.Multiparty;

/// <summary>A contributor's answer to <c>init_request</c>.</summary>
/// <param name="Protocol">Wire protocol id (<see cref="WireMessages.ProtocolId"/>).</param>
/// <param name="ManifestDigest">SHA-256 hex of the contributor's adapter manifest (compare with the pinned one).</param>
/// <param name="FixedPoint">The fixed-point configuration the contributor quantizes with.</param>
/// <param name="InjectionPoints">The modules it serves.</param>
public sealed record InitResponse(string Protocol, string ManifestDigest, FixedPointSettings FixedPoint, IReadOnlyList<InjectionPoint> InjectionPoints);
