using Campaigns.Grains.Campaigns;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Campaigns.Silo.Api;

/// <summary>
/// Adds the claims this silo refused (<see cref="RefusedClaimsTally"/>) to each campaign about
/// once a second, so a drop's refusals reach its stats without a write per refusal. Counts that
/// could not be added are kept for the next round.
/// </summary>
public sealed class RefusedClaimsReporter(RefusedClaimsTally tally, IGrainFactory grains, ILogger<RefusedClaimsReporter> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>Adds what was counted so far to the campaigns; what fails stays counted.</summary>
    public async Task ReportAsync()
    {
        foreach (var (campaignId, byReason) in tally.Take())
        {
            try
            {
                await grains.GetGrain<ICampaignGrain>(campaignId).CountRefusedClaimsAsync(byReason);
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Campaign {CampaignId}: refused claims not counted yet; retrying", campaignId);
                foreach (var (reason, count) in byReason)
                {
                    tally.Refused(campaignId, reason, count);
                }
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await ReportAsync();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            // A clean stop hands over its last second.
            await ReportAsync().WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
