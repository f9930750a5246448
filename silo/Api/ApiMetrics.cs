using Campaigns.Grains.Access;
using Campaigns.Grains.Common;
using Campaigns.Proto;
using Campaigns.Silo.Dashboard;
using Grpc.Core;

namespace Campaigns.Silo.Api;

/// <summary>
/// Counts claims and redemptions from the answers the API gives (<see cref="CampaignsTelemetry"/>):
/// what partners and tills were told, refusals by reason, whether they came from a service, the
/// key check or the rate limiter. The dashboard's recent activity (<see cref="CampaignActivity"/>) and the campaigns'
/// refused claims (<see cref="RefusedClaimsTally"/>) are fed from the same answers.
/// </summary>
public sealed class ApiMetrics(CampaignActivity activity, RefusedClaimsTally refusedClaims, TimeProvider clock)
{
    private const string Issue = "/campaigns.v1.Vouchers/IssueVoucher";
    private const string IssueBatch = "/campaigns.v1.Vouchers/IssueVouchers";
    private const string Redemptions = "/campaigns.v1.Redemptions/";

    /// <summary>Whether the answers to <paramref name="method"/> are counted.</summary>
    public static bool Counts(string method) =>
        method.Equals(Issue, StringComparison.OrdinalIgnoreCase) || method.Equals(IssueBatch, StringComparison.OrdinalIgnoreCase)
        || method.StartsWith(Redemptions, StringComparison.OrdinalIgnoreCase);

    /// <summary>Marks the call as refused for <paramref name="refusal"/>, so its count can name the reason.</summary>
    public static void NoteRefusal(ServerCallContext context, Refusal refusal) => context.UserState[typeof(Refusal)] = refusal;

    public void Record(ServerCallContext context, object request, object response)
    {
        var channel = context.UserState.TryGetValue(typeof(Principal), out var p) && p is Principal principal ? principal.PrincipalId : "";
        var refused = context.Status.StatusCode != StatusCode.OK;
        switch (request, response)
        {
            case (IssueVoucherRequest claim, _) when refused:
                Refused(claim.CampaignId, channel, ReasonOf(context));
                break;
            case (IssueVoucherRequest claim, IssueVoucherResponse issued):
                CampaignsTelemetry.ClaimIssued(claim.CampaignId, channel, issued.Replayed);
                break;
            case (IssueVouchersRequest batch, _) when refused:
                for (var i = 0; i < batch.Items.Count; i++)
                {
                    Refused(batch.CampaignId, channel, ReasonOf(context));
                }

                break;
            case (IssueVouchersRequest batch, IssueVouchersResponse results):
                foreach (var result in results.Results)
                {
                    if (result.Voucher is null)
                    {
                        Refused(batch.CampaignId, channel, result.ErrorReason);
                    }
                    else
                    {
                        CampaignsTelemetry.ClaimIssued(batch.CampaignId, channel, result.Replayed);
                    }
                }

                break;
            case (_, Reservation held) when !refused:
                CampaignsTelemetry.Redeemed(held.CampaignId, "reserve");
                break;
            case (ConfirmRedemptionRequest, Redemption done) when !refused:
                CampaignsTelemetry.Redeemed(done.CampaignId, "confirm");
                activity.Redeemed(done.CampaignId, done.MerchantId, +1);
                break;
            case (RedeemVoucherRequest, Redemption done) when !refused:
                CampaignsTelemetry.Redeemed(done.CampaignId, "redeem");
                activity.Redeemed(done.CampaignId, done.MerchantId, +1);
                break;
            case (CancelReservationRequest, Voucher voucher) when !refused:
                CampaignsTelemetry.Redeemed(voucher.CampaignId, "cancel");
                break;
            case (RefundRedemptionRequest refund, Voucher voucher) when !refused:
                CampaignsTelemetry.Redeemed(voucher.CampaignId, "refund");
                activity.Redeemed(voucher.CampaignId, refund.MerchantId, -1);
                break;
        }
    }

    private void Refused(string campaignId, string channel, string reason)
    {
        CampaignsTelemetry.ClaimRefused(campaignId, channel, reason);
        refusedClaims.Refused(campaignId, reason);
        // Only what an organiser's campaign met: not calls without a valid key, nor unknown campaign ids.
        if (channel.Length > 0 && reason != Refusal.CampaignNotFound.Reason())
        {
            activity.Refused(campaignId, channel, reason, clock.GetUtcNow());
        }
    }

    private static string ReasonOf(ServerCallContext context) =>
        context.UserState.TryGetValue(typeof(Refusal), out var r) && r is Refusal refusal
            ? refusal.Reason()
            : context.Status.StatusCode.ToString().ToUpperInvariant();
}
