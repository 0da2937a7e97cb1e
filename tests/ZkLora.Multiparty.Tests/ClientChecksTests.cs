using System.Net;
using System.Net.Sockets;
using System.Numerics;
using ZkLora.Api;
using ZkLora.Api.Multiparty;
using ZkLora.Model;
using Xunit;

namespace ZkLora.Multiparty.Tests;

/// <summary>The base-model user rejects a contributor whose answers are inconsistent.</summary>
public class ClientChecksTests(DemoFixture fx) : IClassFixture<DemoFixture>
{
    /// <summary>
    /// A contributor that answers with a real LoRAServer's responses, altered by <c>tamper</c>.
    /// </summary>
    private sealed class TamperingContributor : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public TamperingContributor(LoRAServer server, Func<LoraForwardResponse, LoraForwardResponse> tamper, Func<InitResponse, InitResponse>? tamperInit = null)
        {
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                try
                {
                    using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    var stream = client.GetStream();
                    while (await WireFraming.ReadFrameAsync(stream, cancellationToken: _stop.Token) is { } frame)
                    {
                        byte[] reply = WireMessages.ParseRequest(frame) switch
                        {
                            InitRequest => WireMessages.InitResponseBytes((tamperInit ?? (i => i))(server.Describe())),
                            OpenSessionRequest o => WireMessages.OpenSessionResponseBytes(new OpenSessionResponse(o.SessionId, server.OpenSession(o.SessionId))),
                            LoraForwardRequest f => Forward(server, f, tamper),
                            _ => WireMessages.ErrorBytes("unsupported"),
                        };
                        await WireFraming.WriteFrameAsync(stream, reply, _stop.Token);
                    }
                }
                catch (OperationCanceledException) { }
                catch (IOException) { }
            });
        }

        private static byte[] Forward(LoRAServer server, LoraForwardRequest f, Func<LoraForwardResponse, LoraForwardResponse> tamper)
        {
            var r = server.LoraForward(f.SessionId, f.SubmoduleName, f.InputShape, f.Rows);
            var c = r.Call;
            var resp = new LoraForwardResponse(c.SessionId, c.ModuleName, c.InvocationIndex, c.InputShape.ToArray(), c.OutputShape.ToArray(), r.Output,
                c.Delta.Select(row => row.ToArray()).ToArray(), c.Scaling.Numerator, c.Scaling.Denominator, c.FixedPoint);
            return WireMessages.LoraForwardResponseBytes(tamper(resp));
        }

        public ContributorEndpoint Endpoint => new("127.0.0.1", ((IPEndPoint)_listener.LocalEndpoint).Port);

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            try { await _loop; } catch (Exception) { }
        }
    }

    private static double[][] Copy(double[][] m) => m.Select(r => r.ToArray()).ToArray();
    private static BigInteger[][] Copy(BigInteger[][] m) => m.Select(r => r.ToArray()).ToArray();

    public static TheoryData<string> Cases => new()
    {
        "output_not_q_delta", "q_delta_changed", "index", "output_shape", "input_shape", "session", "module", "fixed_point", "scaling_unreduced", "q_delta_out_of_bound", "scaling_outside_policy",
    };

    private static LoraForwardResponse Tamper(string kind, LoraForwardResponse r) => kind switch
    {
        "output_not_q_delta" => r with { Output = Copy(r.Output).Select((row, i) => i == 0 ? row.Select((v, k) => k == 3 ? v + 1e-3 : v).ToArray() : row).ToArray() },
        // q_delta changed but output left as is: the output no longer follows from q_delta.
        "q_delta_changed" => r with { QDelta = Copy(r.QDelta).Select((row, i) => i == 0 ? row.Select((v, k) => k == 0 ? v + 1 : v).ToArray() : row).ToArray() },
        "index" => r with { InvocationIndex = r.InvocationIndex + 1 },
        "output_shape" => r with { OutputShape = [r.OutputShape[0] * r.OutputShape[1], r.OutputShape[2]], InputShape = [r.InputShape[0] * r.InputShape[1], r.InputShape[2]] },
        "input_shape" => r with { InputShape = [r.InputShape[0], r.InputShape[1], r.InputShape[2] + 1] },
        "session" => r with { SessionId = "someone-else" },
        "module" => r with { SubmoduleName = DemoModel.AdapterModules[1] == r.SubmoduleName ? DemoModel.AdapterModules[0] : DemoModel.AdapterModules[1] },
        "fixed_point" => r with { FixedPoint = new FixedPointSettings(16, 63, 127) },
        "scaling_unreduced" => r with { ScalingNum = r.ScalingNum * 2, ScalingDen = r.ScalingDen * 2 },
        // reduced and valid for the circuit, but one past the standard policy's den ≤ 2^64
        "scaling_outside_policy" => r with { ScalingNum = 1, ScalingDen = (BigInteger.One << 64) + 1 },
        "q_delta_out_of_bound" => r with
        {
            QDelta = Copy(r.QDelta).Select((row, i) => i == 0 ? row.Select((v, k) => k == 0 ? (BigInteger.One << 62) : v).ToArray() : row).ToArray(),
            Output = Copy(r.Output).Select((row, i) => i == 0 ? row.Select((v, k) => k == 0 ? System.Math.ScaleB(1.0, 42) : v).ToArray() : row).ToArray(),
        },
        _ => throw new ArgumentException(kind),
    };

    private static readonly Dictionary<string, string> Expected = new()
    {
        ["output_not_q_delta"] = "is not q_delta / 2^20",
        ["q_delta_changed"] = "is not q_delta / 2^20",
        ["index"] = "invocation_index 1, expected 0",
        ["output_shape"] = "is not the shape sent",
        ["input_shape"] = "is not the shape sent",
        ["session"] = "session or module name differs",
        ["module"] = "session or module name differs",
        ["fixed_point"] = "fixed_point differs",
        ["scaling_unreduced"] = "not reduced",
        ["q_delta_out_of_bound"] = "outside the value bound",
        ["scaling_outside_policy"] = "outside the parameter policy: scaling 1/18446744073709551617: den is above the verifier's limit",
    };

    [Theory(Timeout = 60000)]
    [MemberData(nameof(Cases))]
    public async Task Inconsistent_answers_are_rejected_and_not_recorded(string kind)
    {
        using var cts = Timeouts.Test();
        using var dir = new TempDir();
        var server = LoRAServer.Create(fx.Adapter, dir.Combine("out"));
        await using var liar = new TamperingContributor(server, r => Tamper(kind, r));
        using var model = Gpt2Model.Load(fx.Paths.ModelDirectory);
        await using var client = new BaseModelClient(model, [liar.Endpoint]);
        await client.InitAndPatchAsync(cts.Token);
        var e = await Assert.ThrowsAsync<ContributorException>(() => client.ForwardLossAsync(DemoModel.SampleText, cts.Token));
        Assert.Contains(Expected[kind], e.Message);
        Assert.Empty(client.GetTranscript().Entries);
    }

    [Fact(Timeout = 60000)]
    public async Task A_fixed_point_config_outside_the_policy_is_refused_before_any_activation_is_sent()
    {
        using var cts = Timeouts.Test();
        using var dir = new TempDir();
        var server = LoRAServer.Create(fx.Adapter, dir.Combine("out"));
        int forwards = 0;
        // Announces intermediate_bits 200 (valid for the contract, outside the standard policy).
        await using var wide = new TamperingContributor(server, r => { Interlocked.Increment(ref forwards); return r; },
            i => i with { FixedPoint = new FixedPointSettings(20, 63, 200) });
        using var model = Gpt2Model.Load(fx.Paths.ModelDirectory);
        await using (var client = new BaseModelClient(model, [wide.Endpoint]))
        {
            var e = await Assert.ThrowsAsync<ContributorException>(() => client.InitAndPatchAsync(cts.Token));
            Assert.Contains("outside the parameter policy", e.Message);
            Assert.Contains("intermediate_bits = 200", e.Message);
            Assert.Empty(model.PatchedModuleNames);
        }
        Assert.Equal(0, forwards);

        // The honest server's default config, under a client policy narrower than it.
        await using var honest = new TamperingContributor(server, r => r);
        await using var strict = new BaseModelClient(model, [honest.Endpoint]) { ParameterPolicy = ParameterPolicy.Standard with { MaxScaleBits = 16 } };
        Assert.Contains("scale_bits = 20", (await Assert.ThrowsAsync<ContributorException>(() => strict.InitAndPatchAsync(cts.Token))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => strict.ParameterPolicy = ParameterPolicy.Standard with { MaxValueBits = 1 });
    }

    [Fact(Timeout = 60000)]
    public async Task An_announced_module_the_model_lacks_or_with_other_widths_is_rejected()
    {
        using var cts = Timeouts.Test();
        using var dir = new TempDir();
        var server = LoRAServer.Create(fx.Adapter, dir.Combine("out"));
        foreach (var (init, expected) in new (Func<InitResponse, InitResponse>, string)[]
                 {
                     (i => i with { InjectionPoints = [i.InjectionPoints[0] with { ModuleName = "transformer.h.5.attn.c_attn" }] }, "which the base model does not have"),
                     (i => i with { InjectionPoints = [i.InjectionPoints[0] with { OutDim = 32 }] }, "as 32→32, but the model's module is 32→96"),
                     (i => i with { InjectionPoints = [] }, "announced no injection points"),
                 })
        {
            await using var liar = new TamperingContributor(server, r => r, init);
            using var model = Gpt2Model.Load(fx.Paths.ModelDirectory);
            await using var client = new BaseModelClient(model, [liar.Endpoint]);
            Assert.Contains(expected, (await Assert.ThrowsAsync<ContributorException>(() => client.InitAndPatchAsync(cts.Token))).Message);
            Assert.Empty(model.PatchedModuleNames);
        }
    }
}
