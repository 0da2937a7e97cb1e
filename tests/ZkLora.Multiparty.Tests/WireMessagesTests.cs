using System.Numerics;
using System.Text;
using ZkLora.Api;
using ZkLora.Api.Multiparty;
using ZkLora.Proofs;
using Xunit;

namespace ZkLora.Multiparty.Tests;

public class WireMessagesTests
{
    private static WireRequest Parse(string json) => WireMessages.ParseRequest(Encoding.UTF8.GetBytes(json));

    private static string Rejected(string json) => Assert.Throws<WireProtocolException>(() => Parse(json)).Message;

    [Fact]
    public void Parses_the_three_requests()
    {
        Assert.IsType<InitRequest>(Parse("{\"type\":\"init_request\"}"));
        var e = Assert.IsType<EndInferenceRequest>(Parse("{\"type\":\"end_inference\",\"session_id\":\"abc_1-2\",\"session_token\":\"t\"}"));
        Assert.Equal("abc_1-2", e.SessionId);

        var f2 = Assert.IsType<LoraForwardRequest>(Parse("{\"type\":\"lora_forward\",\"session_id\":\"s\",\"session_token\":\"t\",\"submodule_name\":\"m.x\",\"input\":[[1,2.5,-3e-2],[0,0,1E3]]}"));
        Assert.Equal(new long[] { 2, 3 }, f2.InputShape);
        Assert.Equal(new[] { 1, 2.5, -0.03 }, f2.Rows[0]);
        Assert.Equal(new[] { 0, 0, 1000.0 }, f2.Rows[1]);

        var f3 = Assert.IsType<LoraForwardRequest>(Parse("{\"input\":[[[1,2]],[[3,4]]],\"submodule_name\":\"m\",\"session_token\":\"t\",\"session_id\":\"s\",\"type\":\"lora_forward\"}"));
        Assert.Equal(new long[] { 2, 1, 2 }, f3.InputShape);
        Assert.Equal(new[] { 3.0, 4.0 }, f3.Rows[1]);
    }

    [Fact]
    public void Request_writer_and_reader_agree_bit_for_bit()
    {
        var rng = new Random(7);
        var rows = Enumerable.Range(0, 6).Select(_ => Enumerable.Range(0, 5).Select(_ => (double)(float)(rng.NextDouble() * 2 - 1) * System.Math.Pow(10, rng.Next(-8, 4))).ToArray()).ToArray();
        var bytes = WireMessages.LoraForwardRequestBytes("sess", "tok", "transformer.h.0.attn.c_attn", new long[] { 2, 3, 5 }, rows);
        var r = Assert.IsType<LoraForwardRequest>(WireMessages.ParseRequest(bytes));
        Assert.Equal(new long[] { 2, 3, 5 }, r.InputShape);
        for (int i = 0; i < rows.Length; i++)
            Assert.Equal(rows[i].Select(BitConverter.DoubleToInt64Bits), r.Rows[i].Select(BitConverter.DoubleToInt64Bits));
    }

    [Theory]
    [InlineData("{", "not valid JSON")]
    [InlineData("[1,2]", "must be a JSON object")]
    [InlineData("{\"typ\":\"init_request\"}", "no 'type' member")]
    [InlineData("{\"type\":3}", "'type' must be a string")]
    [InlineData("{\"type\":\"launch_missiles\"}", "Unknown request type 'launch_missiles'")]
    [InlineData("{\"type\":\"init_request\",\"x\":1}", "unknown member 'x'")]
    [InlineData("{\"type\":\"init_request\",\"type\":\"init_request\"}", "appears twice")]
    [InlineData("{\"type\":\"end_inference\"}", "missing member 'session_id'")]
    [InlineData("{\"type\":\"end_inference\",\"session_id\":\"a/b\",\"session_token\":\"t\"}", "session id")]
    [InlineData("{\"type\":\"end_inference\",\"session_id\":\"\",\"session_token\":\"t\"}", "must not be empty")]
    [InlineData("{\"type\":\"lora_forward\",\"session_id\":\"s\",\"session_token\":\"t\",\"submodule_name\":7,\"input\":[[1]]}", "'submodule_name' must be a string")]
    [InlineData("{\"type\":\"lora_forward\",\"session_id\":\"s\",\"session_token\":\"t\",\"submodule_name\":\"m\",\"input\":[1,2]}", "depth 1")]
    [InlineData("{\"type\":\"lora_forward\",\"session_id\":\"s\",\"session_token\":\"t\",\"submodule_name\":\"m\",\"input\":[[[[1]]]]}", "depth 4")]
    [InlineData("{\"type\":\"lora_forward\",\"session_id\":\"s\",\"session_token\":\"t\",\"submodule_name\":\"m\",\"input\":[]}", "empty array")]
    [InlineData("{\"type\":\"lora_forward\",\"session_id\":\"s\",\"session_token\":\"t\",\"submodule_name\":\"m\",\"input\":[[1,2],[3]]}", "rectangular")]
    [InlineData("{\"type\":\"lora_forward\",\"session_id\":\"s\",\"session_token\":\"t\",\"submodule_name\":\"m\",\"input\":[[1,2],3]}", "rectangular")]
    [InlineData("{\"type\":\"lora_forward\",\"session_id\":\"s\",\"session_token\":\"t\",\"submodule_name\":\"m\",\"input\":[[1,\"2\"]]}", "must be a number, got a string")]
    [InlineData("{\"type\":\"lora_forward\",\"session_id\":\"s\",\"session_token\":\"t\",\"submodule_name\":\"m\",\"input\":[[1,null]]}", "must be a number, got null")]
    [InlineData("{\"type\":\"lora_forward\",\"session_id\":\"s\",\"session_token\":\"t\",\"submodule_name\":\"m\",\"input\":[[1,NaN]]}", "not valid JSON")]
    [InlineData("{\"type\":\"lora_forward\",\"session_id\":\"s\",\"session_token\":\"t\",\"submodule_name\":\"m\",\"input\":[[1,Infinity]]}", "not valid JSON")]
    [InlineData("{\"type\":\"lora_forward\",\"session_id\":\"s\",\"session_token\":\"t\",\"submodule_name\":\"m\",\"input\":[[1,1e400]]}", "not a finite double")]
    [InlineData("{\"type\":\"lora_forward\",\"session_id\":\"s\",\"session_token\":\"t\",\"submodule_name\":\"m\",\"input\":[[-1e309]]}", "not a finite double")]
    public void Bad_requests_get_clear_messages(string json, string expected)
    {
        Assert.Contains(expected, Rejected(json));
    }

    [Fact]
    public void Invalid_utf8_is_rejected()
    {
        var bytes = new byte[] { (byte)'{', (byte)'"', 0xff, 0xfe, (byte)'"', (byte)':', (byte)'1', (byte)'}' };
        Assert.Contains("not valid UTF-8", Assert.Throws<WireProtocolException>(() => WireMessages.ParseRequest(bytes)).Message);
        // An overlong encoding of '/' (0xC0 0xAF) and a lone surrogate (ED A0 80) are invalid too.
        Assert.Throws<WireProtocolException>(() => WireMessages.ParseRequest(new byte[] { 0x22, 0xC0, 0xAF, 0x22 }));
        Assert.Throws<WireProtocolException>(() => WireMessages.ParseRequest(new byte[] { 0x22, 0xED, 0xA0, 0x80, 0x22 }));
    }

    [Fact]
    public void Input_over_the_value_limit_is_rejected()
    {
        // 2^24 + 1 values would be over the limit; the shape check happens before the values are read.
        var sb = new StringBuilder("{\"type\":\"lora_forward\",\"session_id\":\"s\",\"session_token\":\"t\",\"submodule_name\":\"m\",\"input\":[");
        sb.Append(string.Join(",", Enumerable.Repeat("[0]", 1)));
        sb.Append("]}");
        Assert.IsType<LoraForwardRequest>(Parse(sb.ToString()));
        var row = "[" + string.Join(",", Enumerable.Repeat("0", 4097)) + "]";
        var big = "{\"type\":\"lora_forward\",\"session_id\":\"s\",\"session_token\":\"t\",\"submodule_name\":\"m\",\"input\":[" + string.Join(",", Enumerable.Repeat(row, 4096)) + "]}";
        Assert.Contains("more than the limit", Rejected(big));
    }

    [Fact]
    public void Responses_round_trip()
    {
        var cfg = FixedPointSettings.Default;
        var q = new[] { new BigInteger[] { 1, -2, BigInteger.Parse("4611686018427387903") }, new BigInteger[] { 0, 5, -6 } };
        var output = q.Select(r => r.Select(v => FixedPoint.dequantize(cfg.ToFSharp(), v)).ToArray()).ToArray();
        var resp = new LoraForwardResponse("s1", "m.a", 3, new long[] { 1, 2, 4 }, new long[] { 1, 2, 3 }, output, q, 2, 3, cfg);
        var back = WireMessages.ParseLoraForwardResponse(WireMessages.LoraForwardResponseBytes(resp));
        Assert.Equal(("s1", "m.a", 3L), (back.SessionId, back.SubmoduleName, back.InvocationIndex));
        Assert.Equal(resp.InputShape, back.InputShape);
        Assert.Equal(resp.OutputShape, back.OutputShape);
        Assert.Equal(q, back.QDelta);
        Assert.Equal(output, back.Output);
        Assert.Equal((BigInteger)2, back.ScalingNum);
        Assert.Equal((BigInteger)3, back.ScalingDen);
        Assert.Equal(cfg, back.FixedPoint);

        var init = new InitResponse(WireMessages.ProtocolId, new string('a', 64), cfg, new[] { new InjectionPoint("m.a", 4, 3, 2) });
        var initBack = WireMessages.ParseInitResponse(WireMessages.InitResponseBytes(init));
        Assert.Equal(init.InjectionPoints, initBack.InjectionPoints);
        Assert.Equal(init.ManifestDigest, initBack.ManifestDigest);
        Assert.Equal(cfg, initBack.FixedPoint);

        var end = WireMessages.ParseEndInferenceResponse(WireMessages.EndInferenceResponseBytes(new EndInferenceResponse("s1", 4, 4)));
        Assert.Equal(new EndInferenceResponse("s1", 4, 4), end);
    }

    [Fact]
    public void Client_side_readers_reject_errors_and_malformed_responses()
    {
        var err = WireMessages.ErrorBytes("boom \"quoted\"");
        Assert.Equal("boom \"quoted\"", WireMessages.TryGetError(err));
        Assert.Contains("boom", Assert.Throws<WireProtocolException>(() => WireMessages.ParseInitResponse(err)).Message);
        Assert.Null(WireMessages.TryGetError(WireMessages.InitRequestBytes()));

        var cfg = FixedPointSettings.Default;
        var resp = new LoraForwardResponse("s1", "m", 0, new long[] { 1, 2 }, new long[] { 1, 2 }, new[] { new[] { 0.0, 0.0 } }, new[] { new BigInteger[] { 0, 0 } }, 1, 1, cfg);
        string good = Encoding.UTF8.GetString(WireMessages.LoraForwardResponseBytes(resp));
        void Bad(string json, string expected) =>
            Assert.Contains(expected, Assert.Throws<WireProtocolException>(() => WireMessages.ParseLoraForwardResponse(Encoding.UTF8.GetBytes(json))).Message);
        Bad(good.Replace("\"q_delta\":[[0,0]]", "\"q_delta\":[[0,0.5]]"), "plain integer");
        Bad(good.Replace("\"q_delta\":[[0,0]]", "\"q_delta\":[[0]]"), "array of 2 integers");
        Bad(good.Replace("\"output\":[[0,0]]", "\"output\":[[0]]"), "array of 2 elements");
        Bad(good.Replace("\"output_shape\":[1,2]", "\"output_shape\":[2,2]"), "leading dimensions");
        Bad(good.Replace("\"invocation_index\":0", "\"invocation_index\":-1"), "non-negative");
        Bad(good.Replace("\"type\":\"lora_forward_response\"", "\"type\":\"init_response\""), "Expected a lora_forward_response");
        Bad(good.Replace("}", ",\"extra\":1}"), "unknown member 'extra'");
    }
}
