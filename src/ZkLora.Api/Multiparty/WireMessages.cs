using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using ZkLora.Proofs;

namespace ZkLora.Api.Multiparty;

/// <summary>
/// The JSON messages of the zkLoRA wire protocol (docs/wire-protocol.md), one per frame
/// (<see cref="WireFraming"/>). Every message is an object with a <c>type</c> member; readers are
/// strict (exact member sets, exact types), so a typo is an error rather than a silent default.
/// <list type="bullet">
/// <item><c>{"type":"init_request"}</c> → <c>{"type":"init_response","protocol":"zklora.wire.v3",
/// "manifest_digest":"64 hex","fixed_point":{"scale_bits","value_bits","intermediate_bits"},
/// "injection_points":[{"module_name","in_dim","out_dim","rank"}]}</c></item>
/// <item><c>{"type":"open_session","session_id"}</c> → <c>{"type":"open_session_response","session_id","session_token"}</c></item>
/// <item><c>{"type":"lora_forward","session_id","session_token","submodule_name","input"}</c>, input a nested array
/// [rows][in_dim] or [batch][seq][in_dim] of finite numbers → <c>{"type":"lora_forward_response",
/// "session_id","submodule_name","invocation_index","input_shape","output_shape","output","q_delta",
/// "scaling_num","scaling_den","fixed_point"}</c>; <c>output</c> is nested like output_shape (floats,
/// q_delta / 2^scale_bits), <c>q_delta</c> is rows × out_dim integers (rows = product of the leading
/// dimensions).</item>
/// <item><c>{"type":"end_inference","session_id","session_token"}</c> → <c>{"type":"end_inference_response",
/// "session_id","recorded_calls","proofs_written"}</c></item>
/// <item><c>{"type":"proof_progress","session_id","session_token"}</c> → <c>{"type":"proof_progress_response",
/// "session_id","state","done","total"}</c> (state <c>queued</c> or <c>proving</c>)</item>
/// <item>any failure → <c>{"type":"error","code":"snake_case code","error":"message"}</c> (<see cref="WireErrorCode"/>; no <c>code</c> from a <c>zklora.wire.v2</c> contributor)</item>
/// </list>
/// </summary>
public static class WireMessages
{
    /// <summary>The protocol id sent in <c>init_response</c>: v3 is v2 with a <c>code</c> in every error frame.</summary>
    public const string ProtocolId = "zklora.wire.v3";

    /// <summary>
    /// The protocol ids a client accepts in <c>init_response</c>: <see cref="ProtocolId"/>, and
    /// <c>zklora.wire.v2</c>, whose requests and responses are the same and whose error frames carry
    /// no code (read as <see cref="WireErrorCode.Unspecified"/>).
    /// </summary>
    public static IReadOnlyList<string> AcceptedProtocolIds { get; } = [ProtocolId, "zklora.wire.v2"];

    /// <summary>Most values one <c>lora_forward</c> input may hold.</summary>
    public const long MaxInputValues = 1L << 24;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 16 };

    // ------------------------------------------------------------------ requests (contributor side)

    /// <summary>Parses a request frame strictly (default limits: at most <see cref="MaxInputValues"/> input values).</summary>
    /// <exception cref="WireProtocolException">The frame is not a valid request; the message says why, and <see cref="WireProtocolException.Code"/> is the code its error frame is sent with (<see cref="WireErrorCode.InvalidRequest"/>, <see cref="WireErrorCode.UnknownRequestType"/>, <see cref="WireErrorCode.InvalidInput"/> or <see cref="WireErrorCode.BudgetExceeded"/>).</exception>
    public static WireRequest ParseRequest(ReadOnlyMemory<byte> utf8) => ParseRequest(utf8, MaxInputValues, long.MaxValue);

    /// <summary>
    /// Parses a request frame strictly in one streaming pass (no JSON DOM is built): the input of a
    /// <c>lora_forward</c> is refused as soon as it holds more than <paramref name="maxValues"/> values
    /// or more than <paramref name="maxRows"/> rows, before the rest is read or allocated.
    /// </summary>
    internal static WireRequest ParseRequest(ReadOnlyMemory<byte> utf8, long maxValues, long maxRows)
    {
        if (!System.Text.Unicode.Utf8.IsValid(utf8.Span))
            throw Invalid("The request frame is not valid UTF-8.");
        try
        {
            return ReadRequest(utf8.Span, maxValues, maxRows);
        }
        catch (JsonException e)
        {
            throw Invalid($"The request frame is not valid JSON: {e.Message}");
        }
    }

    private const int MaxTokenLength = 128;

    private static WireProtocolException Invalid(string message) => new(message, WireErrorCode.InvalidRequest);

    private static WireProtocolException BadInput(string message) => new(message, WireErrorCode.InvalidInput);

    private static readonly string[] RequestTypes = ["init_request", "open_session", "lora_forward", "end_inference", "proof_progress"];

    private static string[] MembersOf(string type) => type switch
    {
        "init_request" => ["type"],
        "open_session" => ["type", "session_id"],
        "lora_forward" => ["type", "session_id", "session_token", "submodule_name", "input"],
        "end_inference" => ["type", "session_id", "session_token"],
        "proof_progress" => ["type", "session_id", "session_token"],
        _ => [],
    };

    private static WireRequest ReadRequest(ReadOnlySpan<byte> utf8, long maxValues, long maxRows)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 16 });
        if (!reader.Read()) throw Invalid("The request frame is not valid JSON: it is empty.");
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            string kind = Kind(reader.TokenType);
            reader.Skip();
            while (reader.Read()) { } // reports trailing garbage as invalid JSON
            throw Invalid($"The request must be a JSON object with a 'type' member, got {kind}.");
        }
        // Members in any order: strings are kept, the input is parsed as it streams by, anything
        // else is skipped (its kind kept for the message).
        var kinds = new Dictionary<string, string>(StringComparer.Ordinal);
        var strings = new Dictionary<string, string>(StringComparer.Ordinal);
        string? duplicate = null;
        (long[] Shape, double[][] Rows)? input = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string name = reader.GetString()!;
            if (!reader.Read()) break;
            if (!kinds.TryAdd(name, Kind(reader.TokenType)))
            {
                duplicate ??= name;
                reader.Skip();
                continue;
            }
            bool inputWanted = name == "input" && !(strings.TryGetValue("type", out var t) && t != "lora_forward");
            if (reader.TokenType == JsonTokenType.String)
            {
                // Short strings only: every string member of a request is an id or a name.
                if (reader.HasValueSequence ? reader.ValueSequence.Length > 4096 : reader.ValueSpan.Length > 4096)
                    throw Invalid($"request: member '{Printable(name)}' is longer than 4096 bytes.");
                strings[name] = reader.GetString()!;
            }
            else if (inputWanted && reader.TokenType == JsonTokenType.StartArray) input = ReadInput(ref reader, maxValues, maxRows);
            else reader.Skip();
        }
        while (reader.Read()) { } // the end of the root object, then trailing content is invalid JSON

        if (!kinds.TryGetValue("type", out var typeKind)) throw Invalid("The request has no 'type' member.");
        if (!strings.TryGetValue("type", out var type)) throw Invalid($"The request's 'type' must be a string, got {typeKind}.");
        if (!RequestTypes.Contains(type))
            throw new WireProtocolException($"Unknown request type '{Printable(type)}'; expected init_request, open_session, lora_forward, end_inference or proof_progress.", WireErrorCode.UnknownRequestType);
        var allowed = MembersOf(type);
        foreach (var n in kinds.Keys)
            if (!allowed.Contains(n, StringComparer.Ordinal))
                throw Invalid($"{type}: unknown member '{Printable(n)}' (allowed: {string.Join(", ", allowed)}).");
        if (duplicate is not null) throw Invalid($"{type}: member '{Printable(duplicate)}' appears twice.");
        foreach (var n in allowed)
            if (!kinds.ContainsKey(n)) throw Invalid($"{type}: missing member '{n}'.");
        string Text(string n) => strings.TryGetValue(n, out var v) ? v : throw Invalid($"{type}: '{n}' must be a string, got {kinds[n]}.");
        string Session()
        {
            string sid = Text("session_id");
            var ok = ArtifactNames.validateSessionId(sid);
            if (ok.IsError) throw Invalid($"{type}: {Printable(ok.ErrorValue)}");
            return sid;
        }
        string Token()
        {
            string tok = Text("session_token");
            if (tok.Length is 0 or > MaxTokenLength) throw Invalid($"{type}: 'session_token' must be 1–{MaxTokenLength} characters (the token open_session returned).");
            return tok;
        }
        switch (type)
        {
            case "init_request":
                return new InitRequest();
            case "open_session":
                return new OpenSessionRequest(Session());
            case "end_inference":
                return new EndInferenceRequest(Session(), Token());
            case "proof_progress":
                return new ProofProgressRequest(Session(), Token());
            default:
            {
                string session = Session();
                string token = Token();
                string module = Text("submodule_name");
                if (input is null)
                    throw BadInput($"lora_forward: 'input' must be a nested array [rows][in_dim] or [batch][seq][in_dim] of numbers; it has depth 0 ({kinds["input"]}).");
                return new LoraForwardRequest(session, token, module, input.Value.Shape, input.Value.Rows);
            }
        }
    }

    /// <summary>Reads the input array (the reader is on its StartArray) with the limits applied while reading.</summary>
    private static (long[] Shape, double[][] Rows) ReadInput(ref Utf8JsonReader reader, long maxValues, long maxRows)
    {
        // Depth: follow the first element down.
        int depth = 1;
        while (true)
        {
            if (!reader.Read()) throw new JsonException("unexpected end of data");
            if (reader.TokenType == JsonTokenType.EndArray)
                throw BadInput($"lora_forward: 'input' has an empty array at depth {depth - 1}; every dimension must be at least 1.");
            if (reader.TokenType != JsonTokenType.StartArray) break;
            depth++;
            if (depth > 3)
                throw BadInput($"lora_forward: 'input' must be a nested array [rows][in_dim] or [batch][seq][in_dim] of numbers; it has depth {depth} or more.");
        }
        if (depth is not (2 or 3))
            throw BadInput($"lora_forward: 'input' must be a nested array [rows][in_dim] or [batch][seq][in_dim] of numbers; it has depth {depth}.");
        // The reader is on the first value of the first row. Dimensions are fixed by the first
        // array at each depth; every later array must match.
        var rows = new List<double[]>();
        long width = -1, seq = -1, batch = 0, values = 0;
        var first = new List<double>();
        string Shape() => depth == 2 ? $"[{rows.Count}+, {width}]" : $"[{batch}+, {seq}, {width}]";
        WireProtocolException NotRectangular(string path) =>
            BadInput($"lora_forward: 'input{path}' does not match the first array at its depth (the input must be rectangular, shape {Shape()}).");
        double Value(ref Utf8JsonReader r, string path)
        {
            if (r.TokenType != JsonTokenType.Number)
            {
                if (r.TokenType is JsonTokenType.StartArray or JsonTokenType.StartObject) throw NotRectangular(path);
                throw BadInput($"lora_forward: 'input{path}' must be a number, got {Kind(r.TokenType)}.");
            }
            if (!r.TryGetDouble(out double x) || !double.IsFinite(x))
            {
                string raw = Encoding.UTF8.GetString(r.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(r.ValueSequence) : r.ValueSpan.ToArray());
                throw BadInput($"lora_forward: 'input{path}' = {Printable(raw)} is not a finite double (NaN and infinities are rejected).");
            }
            if (++values > maxValues)
                throw new WireProtocolException($"lora_forward: 'input' holds more than {maxValues} values, more than the limit {maxValues}.", WireErrorCode.BudgetExceeded);
            return x;
        }
        // Reads one row; the reader is on the row's first value, and ends on its EndArray.
        double[] Row(ref Utf8JsonReader r, string path)
        {
            if (rows.Count >= maxRows)
                throw new WireProtocolException($"lora_forward: 'input' holds more than {maxRows} rows, above the limit of {maxRows} rows per call.", WireErrorCode.BudgetExceeded);
            if (width < 0)
            {
                int i = 0;
                while (r.TokenType != JsonTokenType.EndArray)
                {
                    first.Add(Value(ref r, $"{path}[{i++}]"));
                    if (!r.Read()) throw new JsonException("unexpected end of data");
                }
                width = first.Count;
                return first.ToArray();
            }
            var row = new double[width];
            int k = 0;
            while (r.TokenType != JsonTokenType.EndArray)
            {
                if (k == width) throw NotRectangular(path);
                row[k] = Value(ref r, $"{path}[{k}]");
                k++;
                if (!r.Read()) throw new JsonException("unexpected end of data");
            }
            if (k != width) throw NotRectangular(path);
            return row;
        }
        // Reads the elements of an array of rows whose first token has been read (the reader is on
        // the StartArray of its first row); ends on the EndArray of the list. Returns the count.
        long Rows(ref Utf8JsonReader r, string path)
        {
            long n = 0;
            while (r.TokenType != JsonTokenType.EndArray)
            {
                if (r.TokenType != JsonTokenType.StartArray) throw NotRectangular($"{path}[{n}]");
                if (!r.Read()) throw new JsonException("unexpected end of data");
                rows.Add(Row(ref r, $"{path}[{n}]"));
                n++;
                if (!r.Read()) throw new JsonException("unexpected end of data");
            }
            return n;
        }
        if (depth == 2)
        {
            rows.Add(Row(ref reader, "[0]"));
            if (!reader.Read()) throw new JsonException("unexpected end of data");
            Rows(ref reader, "");
            return ([rows.Count, width], rows.ToArray());
        }
        // depth 3: the first row of the first batch element is being read.
        rows.Add(Row(ref reader, "[0][0]"));
        if (!reader.Read()) throw new JsonException("unexpected end of data");
        seq = 1 + Rows(ref reader, "[0]");
        batch = 1;
        if (!reader.Read()) throw new JsonException("unexpected end of data");
        while (reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartArray) throw NotRectangular($"[{batch}]");
            if (!reader.Read()) throw new JsonException("unexpected end of data");
            long n = Rows(ref reader, $"[{batch}]");
            if (n != seq) throw NotRectangular($"[{batch}]");
            batch++;
            if (!reader.Read()) throw new JsonException("unexpected end of data");
        }
        return ([batch, seq, width], rows.ToArray());
    }

    private static string Kind(JsonTokenType t) => t switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => "nothing",
    };

    /// <summary><c>{"type":"init_request"}</c>.</summary>
    public static byte[] InitRequestBytes() => Write(w => { w.WriteStartObject(); w.WriteString("type", "init_request"); w.WriteEndObject(); });

    /// <summary>A <c>lora_forward</c> request; <paramref name="rows"/> is the input as rows × in_dim, written nested as <paramref name="inputShape"/>.</summary>
    /// <exception cref="ArgumentException">The shape is not [rows, in] or [batch, seq, in], or the rows do not fill it.</exception>
    public static byte[] LoraForwardRequestBytes(string sessionId, string sessionToken, string submoduleName, long[] inputShape, IReadOnlyList<double[]> rows)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        ArgumentNullException.ThrowIfNull(rows);
        if (inputShape.Length is not (2 or 3) || inputShape.Any(d => d < 1))
            throw new ArgumentException($"The input shape must be [rows, in_dim] or [batch, seq, in_dim] with positive dimensions, got [{string.Join(", ", inputShape)}].", nameof(inputShape));
        return Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("type", "lora_forward");
            w.WriteString("session_id", sessionId);
            w.WriteString("session_token", sessionToken);
            w.WriteString("submodule_name", submoduleName);
            w.WritePropertyName("input");
            WriteNested(w, inputShape, rows, (writer, v) => writer.WriteNumberValue(v));
            w.WriteEndObject();
        });
    }

    /// <summary>An <c>end_inference</c> request.</summary>
    public static byte[] EndInferenceRequestBytes(string sessionId, string sessionToken) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("type", "end_inference");
        w.WriteString("session_id", sessionId);
        w.WriteString("session_token", sessionToken);
        w.WriteEndObject();
    });

    /// <summary>A <c>proof_progress</c> request.</summary>
    public static byte[] ProofProgressRequestBytes(string sessionId, string sessionToken) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("type", "proof_progress");
        w.WriteString("session_id", sessionId);
        w.WriteString("session_token", sessionToken);
        w.WriteEndObject();
    });

    /// <summary>An <c>open_session</c> request.</summary>
    public static byte[] OpenSessionRequestBytes(string sessionId) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("type", "open_session");
        w.WriteString("session_id", sessionId);
        w.WriteEndObject();
    });

    /// <summary>The <c>open_session_response</c>.</summary>
    public static byte[] OpenSessionResponseBytes(OpenSessionResponse r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("type", "open_session_response");
            w.WriteString("session_id", r.SessionId);
            w.WriteString("session_token", r.SessionToken);
            w.WriteEndObject();
        });
    }

    /// <summary>Reads an <c>open_session_response</c>.</summary>
    /// <exception cref="WireProtocolException">An error response (its message and <see cref="WireProtocolException.Code"/>, <see cref="WireProtocolException.IsErrorResponse"/> set), or a malformed response.</exception>
    public static OpenSessionResponse ParseOpenSessionResponse(ReadOnlyMemory<byte> utf8)
    {
        const string what = "open_session_response";
        using var doc = ParseResponse(utf8, what);
        var root = doc.RootElement;
        ExactMembers(root, what, "type", "session_id", "session_token");
        string token = Str(root, "session_token", what);
        if (token.Length is 0 or > MaxTokenLength || token.Any(char.IsControl))
            throw new WireProtocolException($"{what}: 'session_token' must be 1–{MaxTokenLength} printable characters.");
        return new OpenSessionResponse(Str(root, "session_id", what), token);
    }

    // ------------------------------------------------------------------ responses (contributor side)

    /// <summary>
    /// <c>{"type":"error","error":message}</c>: an error frame without a code, as a <c>zklora.wire.v2</c>
    /// contributor sends (clients read its code as <see cref="WireErrorCode.Unspecified"/>). A
    /// <c>zklora.wire.v3</c> contributor sends every error with a code: <see cref="ErrorBytes(WireErrorCode, string)"/>.
    /// </summary>
    /// <remarks>Control characters in the message are escaped (<c>\u001b</c>), so an echoed id cannot inject terminal or log sequences.</remarks>
    public static byte[] ErrorBytes(string message) => ErrorBytes(WireErrorCode.Unspecified, message);

    /// <summary>
    /// <c>{"type":"error","code":code,"error":message}</c>, the code written as its wire name
    /// (<see cref="WireErrorCodes.ToWireName"/>); <see cref="WireErrorCode.Unspecified"/> writes the
    /// frame without <c>code</c>.
    /// </summary>
    /// <param name="code">Why, for machines.</param>
    /// <param name="message">Why, for people (at most 4096 characters are sent).</param>
    /// <returns>The frame's payload.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="code"/> is not a defined code.</exception>
    /// <remarks>Control characters in the message are escaped (<c>\u001b</c>), so an echoed id cannot inject terminal or log sequences.</remarks>
    public static byte[] ErrorBytes(WireErrorCode code, string message)
    {
        string? name = code == WireErrorCode.Unspecified ? null : code.ToWireName();
        return Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("type", "error");
            if (name is not null) w.WriteString("code", name);
            w.WriteString("error", Escape(message ?? "", 4096));
            w.WriteEndObject();
        });
    }

    /// <summary>The <c>init_response</c> for a contributor.</summary>
    public static byte[] InitResponseBytes(InitResponse r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("type", "init_response");
            w.WriteString("protocol", r.Protocol);
            w.WriteString("manifest_digest", r.ManifestDigest);
            WriteFixedPoint(w, r.FixedPoint);
            w.WriteStartArray("injection_points");
            foreach (var p in r.InjectionPoints)
            {
                w.WriteStartObject();
                w.WriteString("module_name", p.ModuleName);
                w.WriteNumber("in_dim", p.InDim);
                w.WriteNumber("out_dim", p.OutDim);
                w.WriteNumber("rank", p.Rank);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>The <c>lora_forward_response</c> for a recorded call.</summary>
    public static byte[] LoraForwardResponseBytes(LoraForwardResponse r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("type", "lora_forward_response");
            w.WriteString("session_id", r.SessionId);
            w.WriteString("submodule_name", r.SubmoduleName);
            w.WriteNumber("invocation_index", r.InvocationIndex);
            WriteShape(w, "input_shape", r.InputShape);
            WriteShape(w, "output_shape", r.OutputShape);
            w.WritePropertyName("output");
            WriteNested(w, r.OutputShape, r.Output, (writer, v) => writer.WriteNumberValue(v));
            w.WriteStartArray("q_delta");
            foreach (var row in r.QDelta)
            {
                w.WriteStartArray();
                foreach (var v in row) w.WriteRawValue(v.ToString(CultureInfo.InvariantCulture), skipInputValidation: true);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WritePropertyName("scaling_num");
            w.WriteRawValue(r.ScalingNum.ToString(CultureInfo.InvariantCulture), skipInputValidation: true);
            w.WritePropertyName("scaling_den");
            w.WriteRawValue(r.ScalingDen.ToString(CultureInfo.InvariantCulture), skipInputValidation: true);
            WriteFixedPoint(w, r.FixedPoint);
            w.WriteEndObject();
        });
    }

    /// <summary>The <c>end_inference_response</c>.</summary>
    public static byte[] EndInferenceResponseBytes(EndInferenceResponse r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("type", "end_inference_response");
            w.WriteString("session_id", r.SessionId);
            w.WriteNumber("recorded_calls", r.RecordedCalls);
            w.WriteNumber("proofs_written", r.ProofsWritten);
            w.WriteEndObject();
        });
    }

    /// <summary>The <c>proof_progress_response</c>.</summary>
    public static byte[] ProofProgressResponseBytes(ProofProgressResponse r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("type", "proof_progress_response");
            w.WriteString("session_id", r.SessionId);
            w.WriteString("state", r.State);
            w.WriteNumber("done", r.Done);
            w.WriteNumber("total", r.Total);
            w.WriteEndObject();
        });
    }

    // ------------------------------------------------------------------ responses (client side)

    /// <summary>Reads an <c>init_response</c>.</summary>
    /// <exception cref="WireProtocolException">An error response (its message and <see cref="WireProtocolException.Code"/>, <see cref="WireProtocolException.IsErrorResponse"/> set), or a malformed response.</exception>
    public static InitResponse ParseInitResponse(ReadOnlyMemory<byte> utf8)
    {
        using var doc = ParseResponse(utf8, "init_response");
        var root = doc.RootElement;
        ExactMembers(root, "init_response", "type", "protocol", "manifest_digest", "fixed_point", "injection_points");
        string protocol = Str(root, "protocol", "init_response");
        if (!AcceptedProtocolIds.Contains(protocol, StringComparer.Ordinal))
            throw new WireProtocolException($"The contributor speaks protocol '{Printable(protocol)}'; this client speaks {string.Join(" or ", AcceptedProtocolIds)}.");
        string digest = Str(root, "manifest_digest", "init_response");
        var cfg = ReadFixedPoint(root.GetProperty("fixed_point"), "init_response");
        var pointsEl = root.GetProperty("injection_points");
        if (pointsEl.ValueKind != JsonValueKind.Array) throw new WireProtocolException("init_response: 'injection_points' must be an array.");
        var points = new List<InjectionPoint>();
        foreach (var p in pointsEl.EnumerateArray())
        {
            ExactMembers(p, "init_response injection point", "module_name", "in_dim", "out_dim", "rank");
            points.Add(new InjectionPoint(Str(p, "module_name", "injection point"), PositiveInt(p, "in_dim"), PositiveInt(p, "out_dim"), PositiveInt(p, "rank")));
        }
        return new InitResponse(protocol, digest, cfg, points);
    }

    /// <summary>Reads a <c>lora_forward_response</c>, checking every array against the shapes it states.</summary>
    /// <exception cref="WireProtocolException">An error response (its message and <see cref="WireProtocolException.Code"/>, <see cref="WireProtocolException.IsErrorResponse"/> set), or a malformed response.</exception>
    public static LoraForwardResponse ParseLoraForwardResponse(ReadOnlyMemory<byte> utf8)
    {
        const string what = "lora_forward_response";
        using var doc = ParseResponse(utf8, what);
        var root = doc.RootElement;
        ExactMembers(root, what, "type", "session_id", "submodule_name", "invocation_index", "input_shape", "output_shape",
            "output", "q_delta", "scaling_num", "scaling_den", "fixed_point");
        string session = Str(root, "session_id", what);
        string module = Str(root, "submodule_name", what);
        var idxEl = root.GetProperty("invocation_index");
        if (idxEl.ValueKind != JsonValueKind.Number || !idxEl.TryGetInt64(out long index) || index < 0)
            throw new WireProtocolException($"{what}: 'invocation_index' must be a non-negative integer.");
        long[] inShape = ReadShape(root.GetProperty("input_shape"), what + ".input_shape");
        long[] outShape = ReadShape(root.GetProperty("output_shape"), what + ".output_shape");
        if (inShape.Length != outShape.Length || !inShape[..^1].SequenceEqual(outShape[..^1]))
            throw new WireProtocolException($"{what}: output_shape [{string.Join(", ", outShape)}] must have the leading dimensions of input_shape [{string.Join(", ", inShape)}].");
        long rows = outShape[..^1].Aggregate(1L, (a, b) => checked(a * b));
        long outDim = outShape[^1];
        if (checked(rows * outDim) > MaxInputValues) throw new WireProtocolException($"{what}: output_shape holds more than {MaxInputValues} values.");
        var output = new double[rows][];
        int r = 0;
        void Walk(JsonElement a, int depth, string path)
        {
            if (a.ValueKind != JsonValueKind.Array || a.GetArrayLength() != outShape[depth])
                throw new WireProtocolException($"{what}: 'output{path}' must be an array of {outShape[depth]} elements (output_shape [{string.Join(", ", outShape)}]).");
            if (depth == outShape.Length - 1)
            {
                var row = new double[outDim];
                int i = 0;
                foreach (var v in a.EnumerateArray())
                {
                    if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double x) || !double.IsFinite(x))
                        throw new WireProtocolException($"{what}: 'output{path}[{i}]' must be a finite number.");
                    row[i++] = x;
                }
                output[r++] = row;
                return;
            }
            int j = 0;
            foreach (var c in a.EnumerateArray()) { Walk(c, depth + 1, $"{path}[{j}]"); j++; }
        }
        Walk(root.GetProperty("output"), 0, "");
        var qEl = root.GetProperty("q_delta");
        if (qEl.ValueKind != JsonValueKind.Array || qEl.GetArrayLength() != rows)
            throw new WireProtocolException($"{what}: 'q_delta' must be an array of {rows} rows.");
        var q = new BigInteger[rows][];
        int k = 0;
        foreach (var rowEl in qEl.EnumerateArray())
        {
            if (rowEl.ValueKind != JsonValueKind.Array || rowEl.GetArrayLength() != outDim)
                throw new WireProtocolException($"{what}: 'q_delta[{k}]' must be an array of {outDim} integers.");
            q[k] = rowEl.EnumerateArray().Select((v, i) => Integer(v, $"{what}: 'q_delta[{k}][{i}]'")).ToArray();
            k++;
        }
        var num = Integer(root.GetProperty("scaling_num"), what + ": 'scaling_num'");
        var den = Integer(root.GetProperty("scaling_den"), what + ": 'scaling_den'");
        var cfg = ReadFixedPoint(root.GetProperty("fixed_point"), what);
        return new LoraForwardResponse(session, module, index, inShape, outShape, output, q, num, den, cfg);
    }

    /// <summary>Reads an <c>end_inference_response</c>.</summary>
    /// <exception cref="WireProtocolException">An error response (its message and <see cref="WireProtocolException.Code"/>, <see cref="WireProtocolException.IsErrorResponse"/> set), or a malformed response.</exception>
    public static EndInferenceResponse ParseEndInferenceResponse(ReadOnlyMemory<byte> utf8)
    {
        const string what = "end_inference_response";
        using var doc = ParseResponse(utf8, what);
        var root = doc.RootElement;
        ExactMembers(root, what, "type", "session_id", "recorded_calls", "proofs_written");
        return new EndInferenceResponse(Str(root, "session_id", what), NonNegativeInt(root, "recorded_calls"), NonNegativeInt(root, "proofs_written"));
    }

    /// <summary>Reads a <c>proof_progress_response</c>.</summary>
    /// <exception cref="WireProtocolException">An error response (its message and <see cref="WireProtocolException.Code"/>, <see cref="WireProtocolException.IsErrorResponse"/> set), or a malformed response.</exception>
    public static ProofProgressResponse ParseProofProgressResponse(ReadOnlyMemory<byte> utf8)
    {
        const string what = "proof_progress_response";
        using var doc = ParseResponse(utf8, what);
        var root = doc.RootElement;
        ExactMembers(root, what, "type", "session_id", "state", "done", "total");
        string state = Str(root, "state", what);
        if (state is not ("queued" or "proving")) throw new WireProtocolException($"{what}: 'state' must be \"queued\" or \"proving\", got '{Printable(state)}'.");
        int done = NonNegativeInt(root, "done"), total = NonNegativeInt(root, "total");
        if (done > total) throw new WireProtocolException($"{what}: 'done' ({done}) is above 'total' ({total}).");
        return new ProofProgressResponse(Str(root, "session_id", what), state, done, total);
    }

    /// <summary>If the frame is an error response, its message; otherwise null.</summary>
    public static string? TryGetError(ReadOnlyMemory<byte> utf8)
    {
        try
        {
            using var doc = JsonDocument.Parse(utf8, DocumentOptions);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String &&
                t.GetString() == "error" && root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String)
                return Escape(e.GetString()!, 4096);
        }
        catch (JsonException) { }
        return null;
    }

    // ------------------------------------------------------------------ helpers

    private static JsonDocument Parse(ReadOnlyMemory<byte> utf8, string what)
    {
        if (!System.Text.Unicode.Utf8.IsValid(utf8.Span))
            throw new WireProtocolException($"The {what} frame is not valid UTF-8.");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(utf8, DocumentOptions);
        }
        catch (JsonException e)
        {
            throw new WireProtocolException($"The {what} frame is not valid JSON: {e.Message}");
        }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            var kind = Kind(doc.RootElement);
            doc.Dispose();
            throw new WireProtocolException($"The {what} must be a JSON object with a 'type' member, got {kind}.");
        }
        return doc;
    }

    private static JsonDocument ParseResponse(ReadOnlyMemory<byte> utf8, string expectedType)
    {
        var doc = Parse(utf8, "response");
        try
        {
            string type = TypeOf(doc.RootElement, "response");
            if (type == "error") throw ReadError(doc.RootElement);
            if (type != expectedType) throw new WireProtocolException($"Expected a {expectedType}, got a '{Printable(type)}' message.");
            return doc;
        }
        catch
        {
            doc.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The exception for an error frame: <c>type</c>, <c>error</c> (a string) and, from a
    /// <c>zklora.wire.v3</c> contributor, <c>code</c> (one of <see cref="WireErrorCode"/>'s wire names);
    /// without <c>code</c> (a <c>zklora.wire.v2</c> contributor) the code is <see cref="WireErrorCode.Unspecified"/>.
    /// A frame with any other member, a repeated member, or a code that is not a string of the set is
    /// a malformed response.
    /// </summary>
    private static WireProtocolException ReadError(JsonElement root)
    {
        const string what = "error response";
        string? said = root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? Escape(e.GetString()!, 4096) : null;
        string Malformed(string why) => $"The contributor's {what} is malformed: {why}" + (said is null ? "" : $" (it said: {said})");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in root.EnumerateObject())
        {
            if (p.Name is not ("type" or "code" or "error"))
                return new WireProtocolException(Malformed($"unknown member '{Printable(p.Name)}' (allowed: type, code, error)."));
            if (!seen.Add(p.Name)) return new WireProtocolException(Malformed($"member '{p.Name}' appears twice."));
        }
        if (said is null)
            return new WireProtocolException(Malformed(seen.Contains("error") ? $"'error' must be a string, got {Kind(e)}." : "missing member 'error'."));
        var code = WireErrorCode.Unspecified;
        if (root.TryGetProperty("code", out var c))
        {
            if (c.ValueKind != JsonValueKind.String) return new WireProtocolException(Malformed($"'code' must be a string, got {Kind(c)}."));
            if (!WireErrorCodes.TryParse(c.GetString(), out code))
                return new WireProtocolException(Malformed($"unknown error code '{Printable(c.GetString()!)}'."));
        }
        return new WireProtocolException($"The contributor answered with an error: {said}", code, isErrorResponse: true);
    }

    private static string TypeOf(JsonElement root, string what)
    {
        if (!root.TryGetProperty("type", out var t)) throw new WireProtocolException($"The {what} has no 'type' member.");
        if (t.ValueKind != JsonValueKind.String) throw new WireProtocolException($"The {what}'s 'type' must be a string, got {Kind(t)}.");
        return t.GetString()!;
    }

    private static void ExactMembers(JsonElement o, string what, params string[] names)
    {
        if (o.ValueKind != JsonValueKind.Object) throw new WireProtocolException($"{what}: expected an object, got {Kind(o)}.");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in o.EnumerateObject())
        {
            if (!names.Contains(p.Name, StringComparer.Ordinal))
                throw new WireProtocolException($"{what}: unknown member '{Printable(p.Name)}' (allowed: {string.Join(", ", names)}).");
            if (!seen.Add(p.Name)) throw new WireProtocolException($"{what}: member '{Printable(p.Name)}' appears twice.");
        }
        foreach (var n in names)
            if (!seen.Contains(n)) throw new WireProtocolException($"{what}: missing member '{n}'.");
    }

    private static string Str(JsonElement o, string name, string what)
    {
        var v = o.GetProperty(name);
        if (v.ValueKind != JsonValueKind.String) throw new WireProtocolException($"{what}: '{name}' must be a string, got {Kind(v)}.");
        return v.GetString()!;
    }

    private static string SessionId(JsonElement o, string what)
    {
        string s = Str(o, "session_id", what);
        var ok = ArtifactNames.validateSessionId(s);
        if (ok.IsError) throw new WireProtocolException($"{what}: {ok.ErrorValue}");
        return s;
    }

    private static int PositiveInt(JsonElement o, string name)
    {
        var v = o.GetProperty(name);
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i) || i < 1)
            throw new WireProtocolException($"'{name}' must be a positive integer, got {Printable(v.GetRawText())}.");
        return i;
    }

    private static int NonNegativeInt(JsonElement o, string name)
    {
        var v = o.GetProperty(name);
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i) || i < 0)
            throw new WireProtocolException($"'{name}' must be a non-negative integer, got {Printable(v.GetRawText())}.");
        return i;
    }

    private static BigInteger Integer(JsonElement v, string what)
    {
        if (v.ValueKind != JsonValueKind.Number) throw new WireProtocolException($"{what} must be an integer, got {Kind(v)}.");
        string raw = v.GetRawText();
        // JSON integers only: optional '-', digits; no fraction or exponent; at most 80 digits.
        bool ok = raw.Length is > 0 and <= 81 && raw.Select((c, i) => char.IsAsciiDigit(c) || (i == 0 && c == '-')).All(b => b) && raw != "-";
        if (!ok) throw new WireProtocolException($"{what} must be a plain integer, got {Printable(raw)}.");
        return BigInteger.Parse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
    }

    private static long[] ReadShape(JsonElement v, string what)
    {
        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() is not (2 or 3))
            throw new WireProtocolException($"{what} must be an array of 2 or 3 positive integers.");
        return v.EnumerateArray().Select(d => d.ValueKind == JsonValueKind.Number && d.TryGetInt64(out long x) && x >= 1 && x <= MaxInputValues ? x
            : throw new WireProtocolException($"{what} must hold positive integers up to {MaxInputValues}.")).ToArray();
    }

    private static void WriteShape(Utf8JsonWriter w, string name, long[] shape)
    {
        w.WriteStartArray(name);
        foreach (var d in shape) w.WriteNumberValue(d);
        w.WriteEndArray();
    }

    private static void WriteFixedPoint(Utf8JsonWriter w, FixedPointSettings c)
    {
        w.WriteStartObject("fixed_point");
        w.WriteNumber("scale_bits", c.ScaleBits);
        w.WriteNumber("value_bits", c.ValueBits);
        w.WriteNumber("intermediate_bits", c.IntermediateBits);
        w.WriteEndObject();
    }

    private static FixedPointSettings ReadFixedPoint(JsonElement v, string what)
    {
        ExactMembers(v, what + " fixed_point", "scale_bits", "value_bits", "intermediate_bits");
        var cfg = new FixedPoint.FixedPointConfig(NonNegativeInt(v, "scale_bits"), NonNegativeInt(v, "value_bits"), NonNegativeInt(v, "intermediate_bits"));
        // The contract's own message, as the peer has always received it.
        var ok = FixedPoint.validateConfig(cfg);
        if (ok.IsError) throw new WireProtocolException($"{what}: {ok.ErrorValue}");
        return FixedPointSettings.FromFSharp(cfg);
    }

    private static void WriteNested<T>(Utf8JsonWriter w, long[] shape, IReadOnlyList<T[]> rows, Action<Utf8JsonWriter, T> value)
    {
        long expectedRows = shape[..^1].Aggregate(1L, (a, b) => checked(a * b));
        if (rows.Count != expectedRows) throw new ArgumentException($"{rows.Count} rows do not fill shape [{string.Join(", ", shape)}].", nameof(rows));
        int r = 0;
        void Level(int depth)
        {
            w.WriteStartArray();
            if (depth == shape.Length - 1)
            {
                var row = rows[r++];
                if (row.Length != shape[^1]) throw new ArgumentException($"Row {r - 1} has {row.Length} values; the shape needs {shape[^1]}.", nameof(rows));
                foreach (var v in row) value(w, v);
            }
            else
            {
                for (long i = 0; i < shape[depth]; i++) Level(depth + 1);
            }
            w.WriteEndArray();
        }
        Level(0);
    }

    private static byte[] Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = false }))
        {
            write(w);
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    /// <summary>At most 80 characters of untrusted text, control characters escaped, for error messages.</summary>
    internal static string Printable(string s) => Escape(s, 80);

    /// <summary>
    /// At most <paramref name="max"/> characters of untrusted text for a log line, a terminal or an
    /// error message: control characters (C0, DEL, C1, including CR, LF and ESC) and the Unicode
    /// line/paragraph separators and bidirectional overrides are written as <c>\uXXXX</c>.
    /// </summary>
    internal static string Escape(string s, int max)
    {
        ArgumentNullException.ThrowIfNull(s);
        var sb = new StringBuilder(System.Math.Min(s.Length, max) + 8);
        foreach (char c in s.Length > max ? s[..max] : s)
            sb.Append(char.IsControl(c) || c is '\u2028' or '\u2029' || (c >= '\u202a' && c <= '\u202e') || (c >= '\u2066' && c <= '\u2069')
                ? $"\\u{(int)c:x4}" : c.ToString());
        if (s.Length > max) sb.Append('…');
        return sb.ToString();
    }
}
