using System.Runtime.CompilerServices;
using Campaigns.Proto;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace Campaigns.Client;

/// <summary>
/// One connection to the Campaigns service and a typed client per gRPC service. Every call carries
/// the API key; every unary call gets a per-attempt deadline and is retried on transient failures
/// with the same request, hence the same idempotency key. Create one and share it: it is thread-safe.
/// </summary>
public sealed class CampaignsClient : IDisposable
{
    private readonly GrpcChannel channel;

    public CampaignsClient(CampaignsClientOptions options)
    {
        if (!options.Address.IsAbsoluteUri || options.Address.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"The address must be an absolute http:// or https:// URI, not '{options.Address}'.", nameof(options));
        }

        Options = options;
        channel = GrpcChannel.ForAddress(options.Address, new GrpcChannelOptions
        {
            HttpHandler = options.HttpHandler ?? new SocketsHttpHandler
            {
                // One HTTP/2 connection caps concurrent streams (100 by default); a flash drop needs more.
                EnableMultipleHttp2Connections = true,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                KeepAlivePingDelay = TimeSpan.FromSeconds(60),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
                SslOptions = ServerTrust.Options(options.TrustedCertificate, options.ClientCertificate),
            },
            DisposeHttpClient = options.HttpHandler is null,
        });

        // The first interceptor is the outermost: retry around a fresh deadline around the key.
        // Without retries there is nothing to wrap each call in.
        var invoker = channel.Intercept(new DeadlineInterceptor(options.Deadline), new ApiKeyInterceptor(options.ApiKey));
        if (options.MaxRetries > 0)
        {
            invoker = invoker.Intercept(new RetryInterceptor(options));
        }

        Admin = new CampaignAdmin.CampaignAdminClient(invoker);
        Vouchers = new Proto.Vouchers.VouchersClient(invoker);
        Redemptions = new Proto.Redemptions.RedemptionsClient(invoker);
        Merchants = new Proto.Merchants.MerchantsClient(invoker);
        Access = new Proto.Access.AccessClient(invoker);
        Reconciliation = new Proto.Reconciliation.ReconciliationClient(invoker);
        Events = new Proto.Events.EventsClient(invoker);
    }

    public CampaignsClientOptions Options { get; }

    /// <summary>Organiser: define, run and watch campaigns.</summary>
    public CampaignAdmin.CampaignAdminClient Admin { get; }

    /// <summary>Partner: issue vouchers on the key's channel.</summary>
    public Proto.Vouchers.VouchersClient Vouchers { get; }

    /// <summary>Merchant: reserve, confirm, redeem and refund at checkout.</summary>
    public Proto.Redemptions.RedemptionsClient Redemptions { get; }

    /// <summary>Merchant profiles, enrolment and settlement.</summary>
    public Proto.Merchants.MerchantsClient Merchants { get; }

    /// <summary>Organiser: API keys.</summary>
    public Proto.Access.AccessClient Access { get; }

    /// <summary>Organiser: the redemption event export.</summary>
    public Proto.Reconciliation.ReconciliationClient Reconciliation { get; }

    /// <summary>Organiser or partner: event callback subscriptions (verify deliveries with <see cref="Campaigns.Client.Events.CampaignsSignature"/>).</summary>
    public Proto.Events.EventsClient Events { get; }

    /// <summary>
    /// Issues one voucher. <paramref name="requestId"/> is the idempotency key and must come from the
    /// caller's own operation (e.g. its claim id), so that the caller's retries reuse it too.
    /// <paramref name="deviceId"/> names the user's device (or a hash of their phone number) for a
    /// campaign's limit per device.
    /// </summary>
    public Task<IssueVoucherResponse> IssueVoucherAsync(
        string campaignId, string userId, string requestId, string? district = null, string? deviceId = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(requestId);
        return Vouchers.IssueVoucherAsync(
            new IssueVoucherRequest { CampaignId = campaignId, UserId = userId, RequestId = requestId, District = district ?? "", DeviceId = deviceId ?? "" },
            cancellationToken: cancellationToken).ResponseAsync;
    }

    /// <summary>As <see cref="IssueVoucherAsync(string, string, string, string?, string?, CancellationToken)"/> without a device: the signature before device ids, kept for callers that pass the token by position.</summary>
    public Task<IssueVoucherResponse> IssueVoucherAsync(
        string campaignId, string userId, string requestId, string? district, CancellationToken cancellationToken) =>
        IssueVoucherAsync(campaignId, userId, requestId, district, deviceId: null, cancellationToken);

    /// <summary>
    /// Issues any number of vouchers in calls of at most <see cref="VoucherBatch.MaxItems"/> items, in
    /// order; each item succeeds or fails on its own. <paramref name="onBatch"/> sees each call's results.
    /// </summary>
    public async Task<IssueVouchersResponse> IssueVouchersAsync(
        string campaignId, IEnumerable<IssueVouchersItem> items,
        Action<IssueVouchersResponse>? onBatch = null, CancellationToken cancellationToken = default)
    {
        var all = new IssueVouchersResponse();
        foreach (var chunk in items.Chunk(VoucherBatch.MaxItems))
        {
            if (Array.Find(chunk, item => string.IsNullOrWhiteSpace(item.RequestId)) is { } missing)
            {
                throw new ArgumentException($"The item for user '{missing.UserId}' has no request_id.", nameof(items));
            }

            var request = new IssueVouchersRequest { CampaignId = campaignId, Items = { chunk } };
            var response = await Vouchers.IssueVouchersAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false);
            onBatch?.Invoke(response);
            all.Results.Add(response.Results);
        }

        return all;
    }

    /// <summary>Holds a voucher for an order and quotes its discount; idempotent on (code, order id).</summary>
    public Task<Reservation> ReserveVoucherAsync(
        string code, string merchantId, string orderId, long orderAmountCents, int holdSeconds = 0, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(orderId);
        return Redemptions.ReserveVoucherAsync(
            new ReserveVoucherRequest { Code = code, MerchantId = merchantId, OrderId = orderId, OrderAmountCents = orderAmountCents, HoldSeconds = holdSeconds },
            cancellationToken: cancellationToken).ResponseAsync;
    }

    /// <summary>Turns the order's reservation into a redemption; idempotent on (code, order id).</summary>
    public Task<Redemption> ConfirmRedemptionAsync(
        string code, string merchantId, string orderId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(orderId);
        return Redemptions.ConfirmRedemptionAsync(
            new ConfirmRedemptionRequest { Code = code, MerchantId = merchantId, OrderId = orderId },
            cancellationToken: cancellationToken).ResponseAsync;
    }

    /// <summary>Releases the order's reservation.</summary>
    public Task<Voucher> CancelReservationAsync(
        string code, string merchantId, string orderId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(orderId);
        return Redemptions.CancelReservationAsync(
            new CancelReservationRequest { Code = code, MerchantId = merchantId, OrderId = orderId },
            cancellationToken: cancellationToken).ResponseAsync;
    }

    /// <summary>Reserves and confirms in one call, for tills; idempotent on (code, order id).</summary>
    public Task<Redemption> RedeemVoucherAsync(
        string code, string merchantId, string orderId, long orderAmountCents, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(orderId);
        return Redemptions.RedeemVoucherAsync(
            new RedeemVoucherRequest { Code = code, MerchantId = merchantId, OrderId = orderId, OrderAmountCents = orderAmountCents },
            cancellationToken: cancellationToken).ResponseAsync;
    }

    /// <summary>Refunds a redeemed order, making the voucher usable again; idempotent on (code, refund id).</summary>
    public Task<Voucher> RefundRedemptionAsync(
        string code, string merchantId, string orderId, string refundId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(refundId);
        return Redemptions.RefundRedemptionAsync(
            new RefundRedemptionRequest { Code = code, MerchantId = merchantId, OrderId = orderId, RefundId = refundId },
            cancellationToken: cancellationToken).ResponseAsync;
    }

    /// <summary>A stats snapshot now and one on every change, until <paramref name="cancellationToken"/> fires.</summary>
    public async IAsyncEnumerable<CampaignStats> WatchCampaignStatsAsync(
        string campaignId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var call = Admin.WatchCampaignStats(new GetCampaignRequest { CampaignId = campaignId }, cancellationToken: cancellationToken);
        await foreach (var stats in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return stats;
        }
    }

    /// <summary>
    /// The campaign's redemption and refund events in ledger order, then the closing summary. With
    /// <paramref name="afterSequence"/>, only the events after it: resume a cut-off export from the
    /// last sequence received, or fetch what happened since an earlier export's summary.last_sequence.
    /// </summary>
    public IAsyncEnumerable<ExportRecord> ExportRedemptionEventsAsync(string campaignId, CancellationToken cancellationToken = default) =>
        ExportRedemptionEventsAsync(campaignId, afterSequence: 0, cancellationToken);

    /// <inheritdoc cref="ExportRedemptionEventsAsync(string, CancellationToken)"/>
    public async IAsyncEnumerable<ExportRecord> ExportRedemptionEventsAsync(
        string campaignId, long afterSequence, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var call = Reconciliation.ExportRedemptionEvents(
            new ExportRedemptionEventsRequest { CampaignId = campaignId, AfterSequence = afterSequence }, cancellationToken: cancellationToken);
        await foreach (var record in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return record;
        }
    }

    /// <summary>
    /// A user's whole wallet on the key's channel, newest first, following the page tokens: a page
    /// (<paramref name="pageSize"/>, 0 = the server's default) is fetched as the previous one is used up.
    /// </summary>
    public async IAsyncEnumerable<Voucher> ListUserVouchersAsync(
        string userId, string? campaignId = null, int pageSize = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = new ListUserVouchersRequest { UserId = userId, CampaignId = campaignId ?? "", PageSize = pageSize };
        do
        {
            var page = await Vouchers.ListUserVouchersAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false);
            foreach (var voucher in page.Vouchers)
            {
                yield return voucher;
            }

            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);
    }

    public void Dispose() => channel.Dispose();
}
