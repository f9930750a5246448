using System.Security.Cryptography.X509Certificates;

namespace Campaigns.Client;

/// <summary>How a <see cref="CampaignsClient"/> reaches the service and how patiently it retries.</summary>
public sealed class CampaignsClientOptions
{
    /// <summary>The silo's gRPC endpoint; <c>http://</c> means HTTP/2 without TLS (h2c), <c>https://</c> HTTP/2 over TLS.</summary>
    public Uri Address { get; set; } = new("http://127.0.0.1:5000");

    /// <summary>
    /// With an <c>https://</c> address: a certificate to trust for the silo besides the machine's
    /// roots, e.g. a private CA's or a self-signed server certificate. The server's certificate must
    /// chain to it (or be it), and still name the address's host. Null trusts the machine's roots only.
    /// </summary>
    public X509Certificate2? TrustedCertificate { get; set; }

    /// <summary>For a silo that requires mutual TLS: the client certificate (with its private key) to present.</summary>
    public X509Certificate2? ClientCertificate { get; set; }

    /// <summary>The API key sent as <c>authorization: Bearer &lt;key&gt;</c> on every call; empty sends none.</summary>
    public string ApiKey { get; set; } = "";

    /// <summary>
    /// Deadline of each attempt of a unary call that carries no deadline of its own.
    /// <see cref="Timeout.InfiniteTimeSpan"/> sets none. Streaming calls never get one: they end when the caller cancels.
    /// </summary>
    public TimeSpan Deadline { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Retries of a unary call after a transient failure, in addition to the first attempt; 0 disables retrying.</summary>
    public int MaxRetries { get; set; } = 4;

    /// <summary>The median delay before the first retry; later retries back off exponentially, with jitter.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest back-off between two attempts (a server's RetryInfo delay is honoured as given).</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Called before each retry, e.g. to log it. Runs on the calling path: keep it quick.</summary>
    public Action<RetryAttempt>? OnRetry { get; set; }

    /// <summary>
    /// The HTTP handler under the channel, e.g. an in-memory test server's. Null uses a
    /// <see cref="SocketsHttpHandler"/> that opens extra HTTP/2 connections under load (and applies
    /// <see cref="TrustedCertificate"/> and <see cref="ClientCertificate"/>; a handler given here must do that itself).
    /// </summary>
    public HttpMessageHandler? HttpHandler { get; set; }
}

/// <summary>One retry about to happen: which call, which attempt comes next, after what delay, and why.</summary>
/// <param name="Method">The full gRPC method name, e.g. <c>/campaigns.v1.Vouchers/IssueVoucher</c>.</param>
/// <param name="NextAttempt">The attempt about to be made, counting the first call as 1.</param>
/// <param name="Delay">How long the client waits before it.</param>
/// <param name="Error">The failure that caused the retry.</param>
public sealed record RetryAttempt(string Method, int NextAttempt, TimeSpan Delay, Grpc.Core.RpcException Error);
