using Campaigns.Grains.Common;
using Campaigns.Proto;
using Campaigns.Silo.Api;
using Campaigns.Silo.Hosting;
using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Campaigns.Tests.Rules;

/// <summary>
/// The one interceptor every call passes: authorization first, then every failure answered as the
/// API's error model, on the call's status and trailers rather than thrown on.
/// </summary>
public sealed class ApiInterceptorTests
{
    private const string IssueVoucher = "/campaigns.v1.Vouchers/IssueVoucher";
    private const string ListCampaigns = "/campaigns.v1.CampaignAdmin/ListCampaigns";
    private const string OrganiserKey = "organiser-bootstrap-key";

    private static readonly IssueVoucherResponse Issued = new() { Replayed = true };

    private static readonly ApiMetrics Metrics = new(new Campaigns.Silo.Dashboard.CampaignActivity(), new RefusedClaimsTally(), TimeProvider.System);

    private readonly ApiInterceptor _interceptor;
    private readonly CallAuthorizer _authorizer;

    public ApiInterceptorTests()
    {
        var options = Options.Create(new CampaignsOptions { Auth = new AuthOptions { BootstrapOrganiserKey = OrganiserKey } });
        // Only the bootstrap key is used here, and it never reaches a grain.
        var authenticator = new ApiKeyAuthenticator(null!, new VerifiedKeyCache(options, new FakeTimeProvider()), options);
        _authorizer = new CallAuthorizer(authenticator, new PartnerRateLimits(options));
        _interceptor = new ApiInterceptor(_authorizer, Metrics, NullLogger<ApiInterceptor>.Instance);
    }

    [Fact]
    public async Task Lines_logged_while_serving_a_call_carry_its_campaign_caller_and_idempotency_key()
    {
        var logger = new ScopeRecordingLogger();
        var interceptor = new ApiInterceptor(_authorizer, Metrics, logger);
        var context = new FakeCallContext(ListCampaigns, OrganiserKey);

        await interceptor.UnaryServerHandler(new IssueVoucherRequest { CampaignId = "spring-2027", RequestId = "claim-7" }, context, (_, _) => Task.FromResult(Issued));

        var scope = Assert.IsAssignableFrom<IReadOnlyList<KeyValuePair<string, object?>>>(Assert.Single(logger.Scopes)).ToDictionary();
        Assert.Equal("spring-2027", scope["CampaignId"]);
        Assert.Equal("Admin:bootstrap", scope["Caller"]); // the bootstrap key is an admin key
        Assert.Equal("claim-7", scope["IdempotencyKey"]);
    }

    [Fact]
    public async Task An_answer_passes_through_unchanged_with_an_OK_status()
    {
        var context = new FakeCallContext(ListCampaigns, OrganiserKey);
        var response = await _interceptor.UnaryServerHandler(new IssueVoucherRequest(), context, (_, _) => Task.FromResult(Issued));

        Assert.Same(Issued, response);
        Assert.Equal(StatusCode.OK, context.Status.StatusCode);
        Assert.Empty(context.ResponseTrailers);
    }

    [Fact]
    public async Task A_refusal_thrown_later_is_answered_with_its_status_and_reason_and_an_empty_message()
    {
        var context = new FakeCallContext(ListCampaigns, OrganiserKey);
        var response = await _interceptor.UnaryServerHandler<IssueVoucherRequest, IssueVoucherResponse>(new IssueVoucherRequest(), context, async (_, _) =>
        {
            await Task.Yield();
            throw new CampaignsException(Refusal.SoldOut, "the campaign is sold out");
        });

        Assert.Equal(new IssueVoucherResponse(), response);
        Assert.Equal(StatusCode.ResourceExhausted, context.Status.StatusCode);
        Assert.Equal("the campaign is sold out", context.Status.Detail);
        Assert.Equal("SOLD_OUT", Reason(context));
    }

    [Fact]
    public async Task Refusals_answered_again_and_again_keep_each_its_own_status_message_and_reason()
    {
        // The answers are built once per refusal and message: each call must still get exactly its own.
        var refusals = new (Refusal Refusal, string Message)[]
        {
            (Refusal.SoldOut, "the campaign is sold out"),
            (Refusal.SoldOut, "another wording"),
            (Refusal.BudgetExhausted, "the campaign is sold out"),
        };
        foreach (var round in Enumerable.Range(0, 3))
        {
            foreach (var (refusal, message) in refusals)
            {
                var context = new FakeCallContext(ListCampaigns, OrganiserKey);
                await _interceptor.UnaryServerHandler<IssueVoucherRequest, IssueVoucherResponse>(new IssueVoucherRequest(), context,
                    (_, _) => throw new CampaignsException(refusal, message));

                Assert.Equal((StatusCode.ResourceExhausted, message, refusal.Reason()), (context.Status.StatusCode, context.Status.Detail, Reason(context)));
                Assert.Single(context.ResponseTrailers);
            }
        }
    }

    [Fact]
    public async Task A_refusal_thrown_at_once_is_answered_the_same_way()
    {
        var context = new FakeCallContext(ListCampaigns, OrganiserKey);
        await _interceptor.UnaryServerHandler<IssueVoucherRequest, IssueVoucherResponse>(new IssueVoucherRequest(), context,
            (_, _) => throw CampaignsException.Invalid("campaign_id", "must not be empty"));

        Assert.Equal(StatusCode.InvalidArgument, context.Status.StatusCode);
        Assert.Equal("INVALID_ARGUMENT", Reason(context));
    }

    public static TheoryData<Exception> StorageFaults =>
    [
        new SqliteException("database is locked", 5),
        new Campaigns.Grains.Ledger.LedgerUnavailableException("the ledger could not commit"),
        new Campaigns.Grains.Ledger.LedgerFencedException("a newer activation holds the shard"),
    ];

    [Theory]
    [MemberData(nameof(StorageFaults))]
    public async Task A_storage_fault_is_UNAVAILABLE_so_the_caller_retries_with_the_same_key(Exception fault)
    {
        var context = new FakeCallContext(ListCampaigns, OrganiserKey);
        await _interceptor.UnaryServerHandler<IssueVoucherRequest, IssueVoucherResponse>(new IssueVoucherRequest(), context, async (_, _) =>
        {
            await Task.Yield();
            throw fault;
        });

        Assert.Equal(StatusCode.Unavailable, context.Status.StatusCode);
        Assert.Equal("UNAVAILABLE", Reason(context));
    }

    [Fact]
    public async Task An_unexpected_failure_is_INTERNAL_and_does_not_leak_its_message()
    {
        var context = new FakeCallContext(ListCampaigns, OrganiserKey);
        await _interceptor.UnaryServerHandler<IssueVoucherRequest, IssueVoucherResponse>(new IssueVoucherRequest(), context,
            (_, _) => Task.FromException<IssueVoucherResponse>(new InvalidOperationException("secret internals")));

        Assert.Equal(StatusCode.Internal, context.Status.StatusCode);
        Assert.DoesNotContain("secret", context.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unauthorized_call_is_refused_before_the_service_runs()
    {
        var ran = false;
        Task<IssueVoucherResponse> Service(IssueVoucherRequest request, ServerCallContext context)
        {
            ran = true;
            return Task.FromResult(Issued);
        }

        var missing = new FakeCallContext(IssueVoucher, apiKey: null);
        await _interceptor.UnaryServerHandler(new IssueVoucherRequest(), missing, Service);
        Assert.Equal((StatusCode.Unauthenticated, "MISSING_API_KEY"), (missing.Status.StatusCode, Reason(missing)));

        var organiser = new FakeCallContext(IssueVoucher, OrganiserKey);
        await _interceptor.UnaryServerHandler(new IssueVoucherRequest(), organiser, Service);
        Assert.Equal((StatusCode.PermissionDenied, "WRONG_ROLE"), (organiser.Status.StatusCode, Reason(organiser)));

        Assert.False(ran);
    }

    private static string Reason(ServerCallContext context)
    {
        var details = context.ResponseTrailers.Single(entry => entry.Key == "grpc-status-details-bin");
        var status = Google.Rpc.Status.Parser.ParseFrom(details.ValueBytes);
        Assert.Equal((int)context.Status.StatusCode, status.Code);
        return status.Details.Single(any => any.Is(ErrorInfo.Descriptor)).Unpack<ErrorInfo>().Reason;
    }

    private sealed class FakeCallContext(string method, string? apiKey) : ServerCallContext
    {
        private readonly Metadata _requestHeaders = apiKey is null ? [] : [new Metadata.Entry("authorization", "Bearer " + apiKey)];
        private readonly Metadata _responseTrailers = [];
        private readonly Dictionary<object, object> _userState = [];

        protected override string MethodCore => method;

        protected override string HostCore => "localhost";

        protected override string PeerCore => "ipv4:127.0.0.1:50000";

        protected override DateTime DeadlineCore => DateTime.MaxValue;

        protected override Metadata RequestHeadersCore => _requestHeaders;

        protected override CancellationToken CancellationTokenCore => CancellationToken.None;

        protected override Metadata ResponseTrailersCore => _responseTrailers;

        protected override Grpc.Core.Status StatusCore { get; set; }

        protected override WriteOptions? WriteOptionsCore { get; set; }

        protected override AuthContext AuthContextCore => new(null, []);

        protected override IDictionary<object, object> UserStateCore => _userState;

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
            throw new NotSupportedException("not used by the interceptor");

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}

/// <summary>A logger that keeps the scopes it was asked to open.</summary>
internal sealed class ScopeRecordingLogger : Microsoft.Extensions.Logging.ILogger<ApiInterceptor>
{
    public List<object> Scopes { get; } = [];

    public IDisposable BeginScope<TState>(TState state)
        where TState : notnull
    {
        Scopes.Add(state);
        return new Closed();
    }

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
    }

    private sealed class Closed : IDisposable
    {
        public void Dispose()
        {
        }
    }
}
