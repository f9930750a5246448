using System.Diagnostics;
using System.Text.Json;
using Campaigns.Client;
using Campaigns.Proto;
using Campaigns.Silo.Hosting;
using Grpc.Core;
using Xunit.Abstractions;

namespace Campaigns.Tests.Production;

/// <summary>
/// Production mode when its servers fail under load: PostgreSQL stopped for a while (calls fail
/// fast, nothing half-written, service resumes by itself), Redis stopped and wiped (vouchers never
/// depend on it), and a membership split that activates the same shards on two sides (the
/// ledger's fences let one side commit at a time).
/// </summary>
[Collection(ProductionCollection.Name)]
public sealed class ServerFaultTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PostgreSQL_stopped_for_ten_seconds_fails_calls_fast_and_service_resumes_by_itself()
    {
        await using var cluster = await ProductionCluster.StartAsync(silos: 2);
        var workload = await FestivalWorkload.PrepareAsync(cluster);
        workload.Start(workersPerSilo: 2);
        // A partner without retries, as a till with a short deadline: told UNAVAILABLE, not left hanging.
        var impatient = cluster.Client(0, await PartnerKeyAsync(cluster), maxRetries: 0);
        await Task.Delay(TimeSpan.FromSeconds(3));

        await cluster.Postgres.StopAsync();
        var down = Stopwatch.StartNew();
        var answers = new List<(StatusCode Code, TimeSpan Took)>();
        while (down.Elapsed < TimeSpan.FromSeconds(10))
        {
            var call = Stopwatch.StartNew();
            try
            {
                await impatient.IssueVoucherAsync(workload.Roomy, $"down-{answers.Count}", $"down-{answers.Count}");
                answers.Add((StatusCode.OK, call.Elapsed));
            }
            catch (RpcException error)
            {
                answers.Add((error.StatusCode, call.Elapsed));
            }

            await Task.Delay(500);
        }

        var acknowledgedWhileDown = workload.Acknowledged;
        await cluster.Postgres.StartAgainAsync();
        await Task.Delay(TimeSpan.FromSeconds(8));
        await workload.StopAsync();

        output.WriteLine(string.Join(", ", answers.Select(a => $"{a.Code} in {a.Took.TotalMilliseconds:0} ms")));
        output.WriteLine(cluster.LogExcerpt("unexpected failure"));
        output.WriteLine($"{workload.Acknowledged} claims acknowledged ({acknowledgedWhileDown} by the end of the outage), {workload.Redeemed} redemptions, {workload.Uncertain} calls without an answer");
        Assert.All(answers.Skip(1), answer => Assert.Equal(StatusCode.Unavailable, answer.Code));
        Assert.All(answers, answer => Assert.True(answer.Took < impatient.Options.Deadline, $"a call took {answer.Took} while PostgreSQL was down"));
        Assert.True(workload.Acknowledged > acknowledgedWhileDown, "issuing did not resume after PostgreSQL came back");
        await workload.VerifyAsync(throughSilo: 1);
    }

    [Fact]
    public async Task Redis_stopped_then_wiped_under_load_stops_no_claim_no_redemption_and_no_silo()
    {
        await using var cluster = await ProductionCluster.StartAsync(silos: 2);
        var workload = await FestivalWorkload.PrepareAsync(cluster);
        workload.Start(workersPerSilo: 2);
        await Task.Delay(TimeSpan.FromSeconds(3));

        await cluster.Redis.StopAsync();
        var beforeOutage = workload.Acknowledged;
        await Task.Delay(TimeSpan.FromSeconds(6));
        var duringOutage = workload.Acknowledged - beforeOutage;
        var health = await HealthAsync(cluster, silo: 0);

        // Back, empty (it keeps nothing on disk): membership, limits and stats start over.
        await cluster.Redis.StartAgainAsync();
        await Task.Delay(TimeSpan.FromSeconds(3));
        await cluster.Redis.WipeAsync();
        var beforeWipe = workload.Acknowledged;
        await Task.Delay(TimeSpan.FromSeconds(2 * MembershipRestorer.CheckInterval.TotalSeconds + 1));

        // Silos joining the new table move its version past the old one. A silo missing from a
        // newer table takes itself for dead: silo 0 must have entered it again by then.
        await cluster.Silos[1].RestartAsync();
        await cluster.Silos[1].RestartAsync();
        await Task.Delay(TimeSpan.FromSeconds(4));
        await workload.StopAsync();

        output.WriteLine($"health while Redis was down: {health}");
        output.WriteLine($"{workload.Acknowledged} claims acknowledged ({duringOutage} while Redis was down, {workload.Acknowledged - beforeWipe} after the wipe), {workload.Redeemed} redemptions, {workload.Uncertain} calls without an answer");
        Assert.True(duringOutage > 0, "no claim was acknowledged while Redis was down");
        Assert.True(workload.Acknowledged > beforeWipe, "no claim was acknowledged after Redis was wiped");
        using (var document = JsonDocument.Parse(health))
        {
            Assert.Equal("Degraded", document.RootElement.GetProperty("status").GetString());
            Assert.Equal("Degraded", document.RootElement.GetProperty("checks").GetProperty("redis").GetProperty("status").GetString());
        }

        Assert.True(cluster.Silos[0].IsRunning, "silo 0 stopped after the wipe:\n" + cluster.LogExcerpt("I should be Dead"));
        Assert.Contains("entered it again as active", cluster.LogExcerpt("Membership table had lost"), StringComparison.Ordinal);
        await workload.VerifyAsync(throughSilo: 0);
    }

    [Fact]
    public async Task A_membership_split_that_activates_one_shard_on_two_silos_issues_no_request_twice()
    {
        await using var cluster = await ProductionCluster.StartAsync(silos: 2, splitBrain: true);
        var workload = await FestivalWorkload.PrepareAsync(cluster);
        var partnerKey = await PartnerKeyAsync(cluster);
        var sides = new[] { cluster.Client(0, partnerKey), cluster.Client(1, partnerKey) };

        // The same claims reach both sides at once: each side's shard activation fences the other's
        // in turn, and every answer for one request id is one voucher.
        var codes = await Task.WhenAll(Enumerable.Range(0, 200).Select(async n =>
        {
            var answers = await Task.WhenAll(sides.Select(side => TryClaimAsync(side, workload.Roomy, $"split-{n}")));
            return answers.OfType<string>().Distinct().ToList();
        }));

        Assert.All(codes, distinct => Assert.True(distinct.Count <= 1, $"one request id got vouchers {string.Join(", ", distinct)}"));
        foreach (var (distinct, n) in codes.Select((c, n) => (c, n)).Where(x => x.c.Count == 0))
        {
            // A side that was fenced told the partner to retry: a retry gets the one voucher.
            distinct.Add((await sides[n % 2].IssueVoucherAsync(workload.Roomy, $"split-{n}", $"split-{n}")).Voucher.Code);
        }

        await using var ledger = new Npgsql.NpgsqlConnection(cluster.LedgerConnectionString);
        await ledger.OpenAsync();
        await using var count = new Npgsql.NpgsqlCommand(
            $"SELECT count(*), count(DISTINCT request_id) FROM vouchers WHERE campaign_id = '{workload.Roomy}';", ledger);
        await using var row = await count.ExecuteReaderAsync();
        await row.ReadAsync();
        Assert.Equal(200, row.GetInt64(0));
        Assert.Equal(200, row.GetInt64(1));
    }

    private static async Task<string?> TryClaimAsync(CampaignsClient side, string campaignId, string id)
    {
        try
        {
            return (await side.IssueVoucherAsync(campaignId, id, id)).Voucher.Code;
        }
        catch (RpcException error) when (error.StatusCode == StatusCode.Unavailable)
        {
            return null;
        }
    }

    private static async Task<string> HealthAsync(ProductionCluster cluster, int silo)
    {
        using var http = new HttpClient { BaseAddress = cluster.Silos[silo].HttpAddress, Timeout = TimeSpan.FromSeconds(10) };
        using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
        return await response.Content.ReadAsStringAsync();
    }

    private static Task<string> PartnerKeyAsync(ProductionCluster cluster) => cluster.CreateKeyAsync(Role.Partner, "festival-partner");
}
