using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace HealthAgent.Sources.Redfish;

/// <summary>One answer from the BMC: a JSON object, or an error that says what went wrong and where (never with credentials).</summary>
public sealed record RedfishResponse(string Path, JsonElement? Json, string? Error, int? Status = null, bool TooLarge = false, bool TimedOut = false)
{
    public bool Ok => Json is not null;
}

/// <summary>
/// HTTP to one BMC: Basic auth or a Redfish session, TLS validated normally or pinned (SHA-256 fingerprint / CA file),
/// a per-request timeout and a limit on requests in flight. Errors are returned as text, never thrown, and never
/// contain the password, the session token or URL user info.
/// </summary>
public sealed partial class RedfishClient : IAsyncDisposable
{
    private const int MaxBodyBytes = 8 * 1024 * 1024;
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _slots;
    private readonly SemaphoreSlim _sessionLock = new(1, 1);
    private readonly TimeSpan _timeout;
    private readonly bool _sessionAuth;
    private readonly string? _username;
    private readonly string? _password;
    private readonly string? _pin;
    private readonly X509Certificate2Collection? _trustedCas;
    private string? _token;
    private string? _sessionLocation;
    private string? _tlsFailure;

    public RedfishClient(RedfishEndpointOptions o, HttpMessageHandler? handler = null)
    {
        var uri = new Uri(o.Url.TrimEnd('/') + "/");
        _username = o.Username;
        _password = o.Password ?? (o.PasswordFile is { } f ? File.ReadLines(f).FirstOrDefault()?.TrimEnd('\r') : null);
        if (uri.UserInfo.Length > 0)
        {
            // Credentials in the URL are taken once and then dropped from every URL we print or request.
            var parts = uri.UserInfo.Split(':', 2);
            _username ??= Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2) _password ??= Uri.UnescapeDataString(parts[1]);
            uri = new UriBuilder(uri) { UserName = "", Password = "" }.Uri;
        }
        BaseUri = uri;
        _timeout = TimeSpan.FromSeconds(o.TimeoutSeconds);
        _sessionAuth = o.SessionAuth;
        _slots = new SemaphoreSlim(Math.Max(1, o.MaxConcurrency));
        _pin = o.CertificateFingerprint is { } fp ? RedfishEndpointOptions.NormalizeFingerprint(fp) : null;
        if (o.CaFile is { } ca)
        {
            _trustedCas = [];
            _trustedCas.ImportFromPemFile(ca);
        }
        if (handler is null)
        {
            var sockets = new SocketsHttpHandler
            {
                PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
                ConnectTimeout = _timeout,
                AutomaticDecompression = DecompressionMethods.All,
                UseCookies = false,
                AllowAutoRedirect = false, // a redirect could carry our Authorization header elsewhere
                ConnectCallback = ConnectWithKeepAliveAsync,
            };
            sockets.SslOptions.RemoteCertificateValidationCallback = ValidateCertificate;
            handler = sockets;
        }
        _http = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        _http.DefaultRequestHeaders.Add("OData-Version", "4.0");
    }

    /// <summary>
    /// TCP keep-alive (30 s idle, then 3 probes 10 s apart): a BMC that reboots without closing the SSE connection
    /// is noticed within about a minute instead of never, and the stream reconnects.
    /// </summary>
    private static async ValueTask<Stream> ConnectWithKeepAliveAsync(SocketsHttpConnectionContext ctx, CancellationToken ct)
    {
        var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Socket, System.Net.Sockets.SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Tcp, System.Net.Sockets.SocketOptionName.TcpKeepAliveTime, 30);
            socket.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Tcp, System.Net.Sockets.SocketOptionName.TcpKeepAliveInterval, 10);
            socket.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Tcp, System.Net.Sockets.SocketOptionName.TcpKeepAliveRetryCount, 3);
            await socket.ConnectAsync(ctx.DnsEndPoint, ct).ConfigureAwait(false);
            return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The service base without user info, safe to print.</summary>
    public Uri BaseUri { get; }

    /// <summary>The session token in use, if any (tests check it never leaks).</summary>
    internal string? SessionToken => _token;

    /// <summary>GETs a resource (an @odata.id path) and parses it as a JSON object.</summary>
    public async Task<RedfishResponse> GetAsync(string path, CancellationToken ct)
    {
        if (ResolvePath(path) is not { } uri) return new RedfishResponse(path, null, $"link '{Trim(path)}' leaves the Redfish service; not followed");
        return await SendAsync(path, () => new HttpRequestMessage(HttpMethod.Get, uri), ct).ConfigureAwait(false);
    }

    /// <summary>PATCHes a resource with a JSON object; Ok when the BMC answered 2xx.</summary>
    public async Task<RedfishResponse> PatchAsync(string path, object body, CancellationToken ct)
    {
        if (ResolvePath(path) is not { } uri) return new RedfishResponse(path, null, $"link '{Trim(path)}' leaves the Redfish service");
        var json = JsonSerializer.Serialize(body, body.GetType(), RedfishJsonContext.Default);
        var r = await SendAsync(path, () => new HttpRequestMessage(HttpMethod.Patch, uri) { Content = new StringContent(json, Encoding.UTF8, "application/json") }, ct, allowEmpty: true).ConfigureAwait(false);
        return r;
    }

    /// <summary>Opens an SSE stream (text/event-stream). The response is the caller's to dispose; no per-request timeout applies after the headers.</summary>
    public async Task<(HttpResponseMessage? Response, string? Error)> OpenEventStreamAsync(string path, CancellationToken ct)
    {
        if (ResolvePath(path) is not { } uri) return (null, $"event stream '{Trim(path)}' leaves the Redfish service");
        for (var attempt = 0; attempt < 2; attempt++)
        {
            if (await AuthorizeAsync(ct).ConfigureAwait(false) is { } authError) return (null, authError);
            var req = new HttpRequestMessage(HttpMethod.Get, uri);
            req.Headers.Accept.Clear();
            req.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            AddAuth(req);
            using var headerTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            headerTimeout.CancelAfter(_timeout);
            HttpResponseMessage resp;
            try { resp = await _http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, headerTimeout.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                return (null, Describe(path, e));
            }
            if (resp.StatusCode == HttpStatusCode.Unauthorized && _sessionAuth && attempt == 0) { resp.Dispose(); _token = null; continue; }
            if (!resp.IsSuccessStatusCode)
            {
                var status = (int)resp.StatusCode;
                resp.Dispose();
                return (null, $"{Trim(path)}: HTTP {status} {ReasonOf(status)}");
            }
            return (resp, null);
        }
        return (null, $"{Trim(path)}: HTTP 401 Unauthorized");
    }

    private async Task<RedfishResponse> SendAsync(string path, Func<HttpRequestMessage> build, CancellationToken ct, bool allowEmpty = false)
    {
        for (var attempt = 0; attempt < 2; attempt++)
        {
            if (await AuthorizeAsync(ct).ConfigureAwait(false) is { } authError) return new RedfishResponse(path, null, authError, 401);
            await _slots.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(_timeout);
                using var req = build();
                AddAuth(req);
                try
                {
                    using var resp = await _http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                    var status = (int)resp.StatusCode;
                    // A session can expire on the BMC: make a new one once, then report.
                    if (status == 401 && _sessionAuth && attempt == 0) { _token = null; continue; }
                    if (!resp.IsSuccessStatusCode) return new RedfishResponse(path, null, $"{Trim(path)}: HTTP {status} {ReasonOf(status)}", status);
                    var body = await ReadLimitedAsync(resp.Content, timeout.Token).ConfigureAwait(false);
                    if (body is null) return new RedfishResponse(path, null, $"{Trim(path)}: answer larger than {MaxBodyBytes / 1024 / 1024} MiB; not read", status, TooLarge: true);
                    if (allowEmpty && body.Length == 0) return new RedfishResponse(path, JsonDocument.Parse("{}").RootElement.Clone(), null, status);
                    return Parse(path, resp.Content.Headers.ContentType?.MediaType, body, status);
                }
                catch (Exception e) when (e is HttpRequestException or IOException || (e is OperationCanceledException && !ct.IsCancellationRequested))
                {
                    return new RedfishResponse(path, null, Describe(path, e), TimedOut: e is OperationCanceledException);
                }
            }
            finally { _slots.Release(); }
        }
        return new RedfishResponse(path, null, $"{Trim(path)}: HTTP 401 Unauthorized", 401);
    }

    /// <summary>Turns a body into a JSON object or a precise complaint (HTML login page, truncated JSON, not an object).</summary>
    internal static RedfishResponse Parse(string path, string? mediaType, byte[] body, int status)
    {
        var start = body.AsSpan().TrimStart(" \t\r\n\uFEFF"u8);
        if (mediaType?.Contains("html", StringComparison.OrdinalIgnoreCase) == true || (start.Length > 0 && start[0] == (byte)'<'))
            return new RedfishResponse(path, null, $"{Trim(path)}: answered HTML ({mediaType ?? "no content type"}) instead of JSON", status);
        try
        {
            using var doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                return new RedfishResponse(path, null, $"{Trim(path)}: expected a JSON object, got {doc.RootElement.ValueKind}", status);
            return new RedfishResponse(path, doc.RootElement.Clone(), null, status);
        }
        catch (JsonException e) when (e.Message.Contains("maximum configured depth", StringComparison.OrdinalIgnoreCase))
        {
            // System.Text.Json stops at MaxDepth: the answer is well-formed as far as read, just nested too deep to trust.
            return new RedfishResponse(path, null, $"{Trim(path)}: JSON nested deeper than 64 levels; not read", status);
        }
        catch (JsonException e)
        {
            return new RedfishResponse(path, null, $"{Trim(path)}: malformed or truncated JSON ({body.Length} bytes): {e.Message}", status);
        }
    }

    private static async Task<byte[]?> ReadLimitedAsync(HttpContent content, CancellationToken ct)
    {
        if (content.Headers.ContentLength > MaxBodyBytes) return null;
        await using var s = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var ms = new MemoryStream();
        var buf = new byte[16384];
        int n;
        while ((n = await s.ReadAsync(buf, ct).ConfigureAwait(false)) > 0)
        {
            if (ms.Length + n > MaxBodyBytes) return null;
            ms.Write(buf, 0, n);
        }
        return ms.ToArray();
    }

    private Uri? ResolvePath(string path)
    {
        if (!Uri.TryCreate(BaseUri, path, out var uri)) return null;
        // Only follow links on the same service: a link elsewhere would receive our credentials.
        if (uri.Scheme != BaseUri.Scheme || uri.Authority != BaseUri.Authority) return null;
        return uri;
    }

    private void AddAuth(HttpRequestMessage req)
    {
        if (_sessionAuth && _token is not null) req.Headers.Add("X-Auth-Token", _token);
        else if (!_sessionAuth && _username is not null)
            req.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_username}:{_password}")));
    }

    /// <summary>Creates a session when session auth is on and none is held (Redfish spec: POST SessionService/Sessions, X-Auth-Token + Location).</summary>
    private async Task<string?> AuthorizeAsync(CancellationToken ct)
    {
        if (!_sessionAuth || _token is not null) return null;
        await _sessionLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_token is not null) return null;
            const string sessions = "/redfish/v1/SessionService/Sessions";
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(_timeout);
            using var req = new HttpRequestMessage(HttpMethod.Post, new Uri(BaseUri, sessions))
            {
                Content = new StringContent(new System.Text.Json.Nodes.JsonObject { ["UserName"] = _username ?? "", ["Password"] = _password ?? "" }.ToJsonString(), Encoding.UTF8, "application/json"),
            };
            try
            {
                using var resp = await _http.SendAsync(req, timeout.Token).ConfigureAwait(false);
                if (!resp.IsSuccessStatusCode) return $"creating a session: HTTP {(int)resp.StatusCode} {ReasonOf((int)resp.StatusCode)}";
                if (!resp.Headers.TryGetValues("X-Auth-Token", out var tokens) || tokens.FirstOrDefault() is not { Length: > 0 } token)
                    return "creating a session: the answer has no X-Auth-Token header";
                _token = token;
                _sessionLocation = resp.Headers.Location?.ToString();
                return null;
            }
            catch (Exception e) when (e is HttpRequestException or IOException || (e is OperationCanceledException && !ct.IsCancellationRequested))
            {
                return Describe(sessions, e);
            }
        }
        finally { _sessionLock.Release(); }
    }

    private bool ValidateCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None) { _tlsFailure = null; return true; }
        if (certificate is null) { _tlsFailure = "the BMC sent no certificate"; return false; }
        using var cert = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        var fingerprint = Convert.ToHexString(cert.GetCertHash(HashAlgorithmName.SHA256));
        if (_pin is not null)
        {
            // A pinned certificate is trusted by identity; chain and host name do not matter (self-signed BMC certs).
            if (CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(fingerprint), Encoding.ASCII.GetBytes(_pin))) { _tlsFailure = null; return true; }
            _tlsFailure = $"certificate SHA-256 {Colons(fingerprint)} does not match the pinned certificateFingerprint";
            return false;
        }
        if (_trustedCas is not null && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None)
        {
            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(_trustedCas);
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (custom.Build(cert)) { _tlsFailure = null; return true; }
            _tlsFailure = $"certificate SHA-256 {Colons(fingerprint)} does not chain to caFile: {string.Join(", ", custom.ChainStatus.Select(s => s.Status))}";
            return false;
        }
        _tlsFailure = $"certificate not trusted ({errors}); SHA-256 {Colons(fingerprint)} — pin it with certificateFingerprint or give caFile";
        return false;
    }

    private string Describe(string path, Exception e)
    {
        if (e is OperationCanceledException) return $"{Trim(path)}: no answer within {_timeout.TotalSeconds:0.#} s";
        if (_tlsFailure is { } tls && e.InnerException is System.Security.Authentication.AuthenticationException) return $"{Trim(path)}: TLS: {tls}";
        var inner = e.InnerException?.Message ?? e.Message;
        return Scrub($"{Trim(path)}: {inner}");
    }

    /// <summary>Removes the password and session token from a message (belt and braces: messages are built without them).</summary>
    public string Scrub(string message)
    {
        var m = Redact(message);
        if (_password is { Length: > 0 }) m = m.Replace(_password, "***", StringComparison.Ordinal);
        if (_token is { Length: > 0 }) m = m.Replace(_token, "***", StringComparison.Ordinal);
        return m;
    }

    [GeneratedRegex(@"(?<=://)[^/@\s]+@")]
    private static partial Regex UserInfo();

    /// <summary>Replaces URL user info (<c>https://user:pw@host</c>) with <c>***@</c>.</summary>
    public static string Redact(string? text) => text is null ? "" : UserInfo().Replace(text, "***@");

    private static string Trim(string path) => Redact(path.Length > 200 ? path[..200] + "…" : path);
    private static string Colons(string hex) => string.Join(':', Enumerable.Range(0, hex.Length / 2).Select(i => hex.Substring(i * 2, 2)));

    private static string ReasonOf(int status) => status switch
    {
        400 => "Bad Request", 401 => "Unauthorized", 403 => "Forbidden", 404 => "Not Found", 405 => "Method Not Allowed",
        409 => "Conflict", 412 => "Precondition Failed", 500 => "Internal Server Error", 501 => "Not Implemented",
        502 => "Bad Gateway", 503 => "Service Unavailable", 504 => "Gateway Timeout", _ => "",
    };

    /// <summary>Deletes the session, if one was made (best effort, bounded by the request timeout).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_token is not null && _sessionLocation is not null && ResolvePath(_sessionLocation) is { } loc)
        {
            try
            {
                using var timeout = new CancellationTokenSource(_timeout);
                using var req = new HttpRequestMessage(HttpMethod.Delete, loc);
                req.Headers.Add("X-Auth-Token", _token);
                using var _ = await _http.SendAsync(req, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException) { }
            _token = null;
        }
        _http.Dispose();
    }
}
