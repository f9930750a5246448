using Campaigns.Client;
using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;
using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Silo.Api;

/// <summary>Streams a campaign's redemption and refund events with a closing checksum.</summary>
public sealed class ReconciliationService(IGrainFactory grains, IReportingLedger ledger) : Reconciliation.ReconciliationBase
{
    public override async Task ExportRedemptionEvents(ExportRedemptionEventsRequest request, IServerStreamWriter<ExportRecord> responseStream, ServerCallContext context)
    {
        Identifiers.RequireName("campaign_id", request.CampaignId);
        await grains.GetGrain<ICampaignGrain>(request.CampaignId).GetAsync();
        // The checksum is computed by the same code clients use to verify it.
        using var tally = new RedemptionExportTally();
        await foreach (var record in ledger.ExportRedemptionEventsAsync(request.CampaignId, context.CancellationToken))
        {
            var e = record.ToProto();
            tally.Add(e);
            await responseStream.WriteAsync(new ExportRecord { Event = e }, context.CancellationToken);
        }

        await responseStream.WriteAsync(new ExportRecord { Summary = tally.ToSummary() }, context.CancellationToken);
    }
}
