using System.Diagnostics;
using System.Reflection;
using Orleans.Clustering.Redis;
using StackExchange.Redis;

namespace Campaigns.Silo.Hosting;

/// <summary>
/// Production mode: puts this silo back into the membership table when Redis lost it (wiped, or
/// restarted without persistence). Orleans alone would not: a silo missing from a newer table
/// counts itself dead and stops, so a wipe followed by a few silo restarts would stop every silo
/// that was running before it, one after the other. A live silo is absent from the table only
/// after such a loss (a dead one stays in it, marked dead), so re-entering it as active is safe.
/// </summary>
public sealed class MembershipRestorer(
    IMembershipTable table,
    ILocalSiloDetails self,
    ISiloStatusOracle status,
    ILogger<MembershipRestorer> logger) : BackgroundService
{
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(2);

    private readonly DateTime _started = Process.GetCurrentProcess().StartTime.ToUniversalTime();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(CheckInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            // Only an active silo has an entry to lose; one joining or stopping is Orleans' own business.
            if (status.CurrentStatus != SiloStatus.Active)
            {
                continue;
            }

            try
            {
                await RestoreIfLostAsync();
            }
            catch (Exception ex) when (ex is RedisException or RedisClusteringException or TimeoutException)
            {
                // Redis is down: nothing to restore into yet; Orleans keeps the last view meanwhile.
            }
        }
    }

    /// <summary>Re-enters this silo when the table (or its version) is gone; true when it did.</summary>
    public async Task<bool> RestoreIfLostAsync()
    {
        if (await ReadAsync() is { } present && present.TryGet(self.SiloAddress) is not null)
        {
            return false;
        }

        // Re-creates the table's version if it went with the wipe; does nothing to a table that has one.
        await table.InitializeMembershipTableAsync(tryInitTableVersion: true);
        var current = await ReadAsync() ?? throw new RedisClusteringException("the membership table has no version after initializing it");
        if (current.TryGet(self.SiloAddress) is not null)
        {
            return false;
        }

        var now = DateTime.UtcNow;
        var entry = new MembershipEntry
        {
            SiloAddress = self.SiloAddress,
            HostName = self.DnsHostName,
            SiloName = self.Name,
            Status = SiloStatus.Active,
            ProxyPort = self.GatewayAddress?.Endpoint?.Port ?? 0,
            RoleName = Assembly.GetEntryAssembly()?.GetName().Name ?? "Campaigns.Silo",
            SuspectTimes = [],
            StartTime = _started,
            IAmAliveTime = now,
        };
        // A lost race with another silo's write is tried again at the next check.
        var inserted = await table.InsertRowAsync(entry, current.Version.Next());
        if (inserted)
        {
            logger.LogWarning("Membership table had lost silo {Silo} (Redis wiped or restarted empty): entered it again as active", self.SiloAddress);
        }

        return inserted;
    }

    private async Task<MembershipTableData?> ReadAsync()
    {
        try
        {
            return await table.ReadAllAsync();
        }
        catch (RedisClusteringException)
        {
            // "The Redis membership table version is missing": the table went with the wipe.
            return null;
        }
    }
}
