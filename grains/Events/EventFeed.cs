using Campaigns.Grains.Ledger;
using Campaigns.Grains.Redemption;

namespace Campaigns.Grains.Events;

/// <summary>The next events of a subscription, in delivery order, and the cursor once they are delivered.</summary>
public sealed record FeedBatch(IReadOnlyList<CallbackEvent> Events, FeedCursor Next, bool CaughtUp);

/// <summary>
/// Reads a subscription's next events from the ledger's own orders (<see cref="IEventSource"/>):
/// each shard's new rows (issued), the redemption events after the cursor, the expiries now due,
/// and the campaign events. Rows the subscription does not want still move its cursor. Keeps the
/// per-voucher order of <see cref="CallbackOrder"/>.
/// </summary>
public sealed class EventFeed(ILedger ledger)
{
    /// <summary>The cursor of a subscription starting now: every order at its current end.</summary>
    public async Task<FeedCursor> HeadAsync()
    {
        var shards = await ledger.ListShardsAsync();
        return new FeedCursor
        {
            // Expiries are walked from each shard's start: a voucher issued before the subscription may expire after it.
            Shards = shards.ToDictionary(s => FeedCursor.ShardId(s.CampaignNumber, s.Shard), s => new ShardCursor(s.LastSeq, 0)),
            Redemptions = await ledger.RedemptionsHeadAsync(),
            CampaignEvents = await ledger.CampaignEventsHeadAsync(),
        };
    }

    public async Task<FeedBatch> NextAsync(SubscriptionRecord subscription, FeedCursor cursor, DateTimeOffset now, int limit)
    {
        var events = new List<CallbackEvent>();
        var shards = new Dictionary<long, ShardCursor>(cursor.Shards);
        var caughtUp = true;
        var readsRows = subscription.Wants(CallbackEventType.VoucherIssued) || subscription.Wants(CallbackEventType.VoucherExpired);

        var activated = (await ledger.ListShardsAsync()).Where(s => subscription.WantsCampaign(s.CampaignId)).ToList();
        foreach (var shard in activated)
        {
            var id = FeedCursor.ShardId(shard.CampaignNumber, shard.Shard);
            var at = shards.GetValueOrDefault(id);
            if (shard.LastSeq <= at.Issued)
            {
                continue;
            }

            if (!readsRows)
            {
                // Only the order matters to this subscription: the rows are durable up to LastSeq.
                shards[id] = new ShardCursor(shard.LastSeq, shard.LastSeq);
                continue;
            }

            var rows = await ledger.ReadShardVouchersAfterAsync(shard.CampaignNumber, shard.Shard, at.Issued, limit);
            foreach (var row in rows)
            {
                Add(events, subscription, Issued(row));
            }

            if (rows.Count > 0)
            {
                shards[id] = at with { Issued = rows[^1].Seq };
            }

            caughtUp &= rows.Count < limit;
        }

        var redemptions = await ledger.ReadRedemptionsAfterAsync(cursor.Redemptions, limit);
        var redemptionsAt = cursor.Redemptions;
        var redemptionsRead = redemptions.Count < limit;
        var waiting = new List<FeedRedemption>();
        foreach (var redemption in redemptions)
        {
            var key = redemption.Voucher;
            if (!subscription.WantsCampaign(redemption.Event.CampaignId))
            {
                redemptionsAt = redemption.Position;
                continue;
            }

            if (!CallbackOrder.RedemptionMayGo(shards.GetValueOrDefault(FeedCursor.ShardId(key.CampaignNumber, key.Shard)), key.Seq))
            {
                redemptionsRead = false;
                break;
            }

            waiting.Add(redemption);
            redemptionsAt = redemption.Position;
        }

        caughtUp &= redemptionsRead;
        var vouchers = (await ledger.GetVouchersAsync([.. waiting.Select(r => r.Voucher).Distinct()])).ToDictionary(v => v.Key);
        foreach (var redemption in waiting)
        {
            if (vouchers.TryGetValue(redemption.Voucher, out var voucher))
            {
                Add(events, subscription, Redeemed(voucher, redemption));
            }
        }

        if (subscription.Wants(CallbackEventType.VoucherExpired))
        {
            foreach (var shard in activated)
            {
                var id = FeedCursor.ShardId(shard.CampaignNumber, shard.Shard);
                var at = shards.GetValueOrDefault(id);
                if (at.Expired >= at.Issued)
                {
                    continue;
                }

                var rows = await ledger.ReadShardVouchersAfterAsync(shard.CampaignNumber, shard.Shard, at.Expired, limit);
                var expiredTo = at.Expired;
                foreach (var row in rows)
                {
                    // A shard's validity follows its issue order, so the first voucher still valid ends the read.
                    if (!CallbackOrder.ExpiryMayGo(at, row.Seq, row.ValidUntil, now, redemptionsRead))
                    {
                        break;
                    }

                    // Expiries from before the subscription was created are not its events.
                    if (row.Status != StoredVoucherStatus.Redeemed && row.ValidUntil >= subscription.CreatedAt)
                    {
                        Add(events, subscription, Expired(row));
                    }

                    expiredTo = row.Seq;
                }

                shards[id] = at with { Expired = expiredTo };
            }
        }

        var campaignEvents = await ledger.ReadCampaignEventsAfterAsync(cursor.CampaignEvents, limit);
        foreach (var campaignEvent in campaignEvents)
        {
            Add(events, subscription, Campaign(campaignEvent));
        }

        caughtUp &= campaignEvents.Count < limit;
        var next = new FeedCursor
        {
            Shards = shards,
            Redemptions = redemptionsAt,
            CampaignEvents = campaignEvents.Count > 0 ? campaignEvents[^1].Position : cursor.CampaignEvents,
        };
        return new FeedBatch(events, next, caughtUp);
    }

    private static void Add(List<CallbackEvent> events, SubscriptionRecord subscription, CallbackEvent e)
    {
        if (subscription.Wants(e))
        {
            events.Add(e);
        }
    }

    // The row as it is now may have moved on since: each event carries the voucher as that event left it.
    private static VoucherRecord AsIssued(VoucherRecord row) => row with
    {
        Status = StoredVoucherStatus.Issued, MerchantId = null, OrderId = null, OrderAmountCents = 0, DiscountCents = 0,
        ReservedUntil = null, RedeemedAt = null,
    };

    private static CallbackEvent Issued(VoucherRecord row) =>
        OfVoucher(CallbackEventIds.Issued(row.Key), CallbackEventType.VoucherIssued, row.IssuedAt, AsIssued(row), VoucherStatus.Issued);

    private static CallbackEvent OfVoucher(string id, CallbackEventType type, DateTimeOffset at, VoucherRecord voucher, VoucherStatus status) => new()
    {
        Id = id,
        Type = type,
        CreatedAt = at,
        CampaignId = voucher.CampaignId,
        Voucher = voucher,
        VoucherStatus = status,
    };

    private static CallbackEvent Redeemed(VoucherRecord row, FeedRedemption redemption)
    {
        var e = redemption.Event;
        var id = CallbackEventIds.Redemption(e.Sequence);
        return e.Type == RedemptionEventType.Redeemed
            ? OfVoucher(id, CallbackEventType.VoucherRedeemed, e.OccurredAt, AsIssued(row) with
            {
                Status = StoredVoucherStatus.Redeemed, MerchantId = e.MerchantId, OrderId = e.OrderId,
                OrderAmountCents = e.OrderAmountCents, DiscountCents = e.DiscountCents, RedeemedAt = e.OccurredAt,
            }, VoucherStatus.Redeemed)
            : OfVoucher(id, CallbackEventType.VoucherRefunded, e.OccurredAt, AsIssued(row), VoucherStatus.Issued);
    }

    private static CallbackEvent Expired(VoucherRecord row) =>
        OfVoucher(CallbackEventIds.Expired(row.Key), CallbackEventType.VoucherExpired, row.ValidUntil, AsIssued(row), VoucherStatus.Expired);

    private static CallbackEvent Campaign(FeedCampaignEvent campaignEvent) => new()
    {
        Id = CallbackEventIds.Campaign(campaignEvent.Event.Sequence),
        Type = campaignEvent.Event.Type == CampaignEventType.SoldOut ? CallbackEventType.CampaignSoldOut : CallbackEventType.CampaignEnded,
        CreatedAt = campaignEvent.Event.OccurredAt,
        CampaignId = campaignEvent.Event.CampaignId,
    };
}
