using System.Collections;
using Campaigns.Grains.Access;
using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Silo.Api;

/// <summary>
/// The log scope of one API call: its campaign, its caller (e.g. "Partner:meituan") and its
/// idempotency key, so every line logged while serving it, down through the grains, can be
/// found by any of them. The caller is read when a line is written, since it is known only
/// once the key has been checked.
/// </summary>
public sealed class CallScope(ServerCallContext context, object request) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => 3;

    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new("CampaignId", CampaignOf(request)),
        1 => new("Caller", context.UserState.TryGetValue(typeof(Principal), out var p) && p is Principal principal
            ? $"{principal.Role}:{principal.PrincipalId}"
            : null),
        2 => new("IdempotencyKey", IdempotencyKeyOf(request)),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => string.Join(", ", this.Where(kv => kv.Value is not null).Select(kv => $"{kv.Key}:{kv.Value}"));

    private static string? CampaignOf(object request) => request switch
    {
        IssueVoucherRequest r => r.CampaignId,
        IssueVouchersRequest r => r.CampaignId,
        CreateCampaignRequest r => r.CampaignId,
        GetCampaignRequest r => r.CampaignId,
        CampaignActionRequest r => r.CampaignId,
        AddStockRequest r => r.CampaignId,
        EnrollMerchantRequest r => r.CampaignId,
        JoinCampaignRequest r => r.CampaignId,
        GetSettlementRequest r => r.CampaignId,
        ListUserVouchersRequest r => r.CampaignId,
        _ => null,
    };

    private static string? IdempotencyKeyOf(object request) => request switch
    {
        IssueVoucherRequest r => r.RequestId,
        CreateCampaignRequest r => r.RequestId,
        AddStockRequest r => r.RequestId,
        ReserveVoucherRequest r => r.OrderId,
        ConfirmRedemptionRequest r => r.OrderId,
        CancelReservationRequest r => r.OrderId,
        RedeemVoucherRequest r => r.OrderId,
        RefundRedemptionRequest r => r.RefundId,
        _ => null,
    };
}
