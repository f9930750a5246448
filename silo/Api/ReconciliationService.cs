using Campaigns.Client;
using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;
using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Silo.Api;

/// <summary>Streams a campaign's redemption and refund events (all, or those after a sequence) with a closing checksum.</summary>
public sealed class ReconciliationService(IReportingLedger ledger, CampaignTenancy tenancy) : Reconciliation.ReconciliationBase
{
    public override async Task ExportRedemptionEvents(ExportRedemptionEventsRequest request, IServerStreamWriter<ExportRecord> responseStream, ServerCallContext context)
    {
        await tenancy.RequireAsync(context, request.CampaignId);
        if (request.AfterSequence < 0)
        {
            throw CampaignsException.Invalid("after_sequence", "must be 0 or a sequence of an event already received");
        }

        // The checksum is computed by the same code clients use to verify it.
        using var tally = new RedemptionExportTally(request.AfterSequence);
        await foreach (var record in ledger.ExportRedemptionEventsAsync(request.CampaignId, request.AfterSequence, context.CancellationToken))
        {
            var e = record.ToProto();
            tally.Add(e);
            await responseStream.WriteAsync(new ExportRecord { Event = e }, context.CancellationToken);
        }

        await responseStream.WriteAsync(new ExportRecord { Summary = tally.ToSummary() }, context.CancellationToken);
    }
}
