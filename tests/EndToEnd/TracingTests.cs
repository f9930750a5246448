using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Campaigns.Tests.EndToEnd;

/// <summary>
/// Traces leave over OTLP only when an endpoint is configured: a silo pointed at a stand-in
/// collector sends the spans of a claim, from the gRPC call through the grain call to the
/// shard's ledger commit.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class TracingTests
{
    [Fact]
    public async Task A_claim_is_traced_from_the_call_through_the_grains_to_the_ledger_commit()
    {
        using var collector = new OtlpCollector();
        var silo = await SiloHost.StartAsync(
            $"--OTEL_EXPORTER_OTLP_ENDPOINT={collector.Address}", "--OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", "--OTEL_BSP_SCHEDULE_DELAY=100");
        try
        {
            var organiser = silo.Client(SiloHost.BootstrapOrganiserKey);
            var campaign = await organiser.Admin.CreateCampaignAsync(Scenario.Campaign(silo.Clock.GetUtcNow()));
            await organiser.Admin.StartCampaignAsync(new Proto.CampaignActionRequest { CampaignId = campaign.CampaignId });
            var key = await organiser.Access.CreateApiKeyAsync(new Proto.CreateApiKeyRequest { Role = Proto.Role.Partner, PrincipalId = "traced-partner" });
            await silo.Client(key.Secret).IssueVoucherAsync(campaign.CampaignId, "traced-user", "traced-req");

            // OTLP's protobuf carries span names and attribute values as plain UTF-8. The spans
            // end (and are sent) innermost first, possibly in separate exports.
            await collector.WaitForAsync("/v1/traces", TimeSpan.FromSeconds(20),
                "ledger commit issue batch", campaign.CampaignId, "IVoucherPoolGrain", "/campaigns.v1.Vouchers/IssueVoucher");
        }
        finally
        {
            await silo.DisposeAsync();
        }
    }

    /// <summary>Takes OTLP/HTTP posts on a free loopback port and keeps their bodies by path.</summary>
    private sealed class OtlpCollector : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly List<(string Path, string Body)> _received = [];
        private readonly Task _serving;

        public OtlpCollector()
        {
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                Address = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}";
            }

            _listener.Prefixes.Add(Address + "/");
            _listener.Start();
            _serving = Task.Run(ServeAsync);
        }

        public string Address { get; }

        /// <summary>Waits until every one of <paramref name="texts"/> has reached <paramref name="path"/>.</summary>
        public async Task WaitForAsync(string path, TimeSpan timeout, params string[] texts)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                string all;
                lock (_received)
                {
                    all = string.Concat(_received.Where(r => r.Path == path).Select(r => r.Body));
                }

                var missing = texts.Where(text => !all.Contains(text, StringComparison.Ordinal)).ToList();
                if (missing.Count == 0)
                {
                    return;
                }

                Assert.True(DateTime.UtcNow < deadline, $"'{string.Join("', '", missing)}' did not reach {path} within {timeout}; {all.Length} characters did");
                await Task.Delay(100);
            }
        }

        public void Dispose()
        {
            _listener.Close();
            try
            {
                _serving.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
                // The listener was closed under a pending accept.
            }
        }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                lock (_received)
                {
                    _received.Add((context.Request.Url!.AbsolutePath, Encoding.UTF8.GetString(body.ToArray())));
                }

                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        }
    }
}
