using Campaigns.Grains.Access;
using Campaigns.Grains.Events;
using Campaigns.Grains.Ledger;
using Campaigns.Storage.Sqlite;

namespace Campaigns.Tests.Ledger;

/// <summary>A subscription's feed over a real ledger (SQLite): what it reads, in what order, and where its cursor goes.</summary>
public sealed class EventFeedTests : LedgerScenario
{
    private readonly TemporaryDatabase _database = new();

    protected override Task<ILedger> OpenFreshAsync() => Task.FromResult<ILedger>(new SqliteLedger(_database.ConnectionString));

    protected override ILedger OpenAnother() => new SqliteLedger(_database.ConnectionString);

    protected override Task DropStoreAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }

    private static SubscriptionRecord Subscription(string channel = "", string campaign = "", params CallbackEventType[] types) => new()
    {
        SubscriptionId = "sub_test",
        OwnerRole = Role.Organiser,
        OwnerId = "bureau",
        Url = "https://receiver.example/",
        EventTypes = types.Length > 0 ? types : Enum.GetValues<CallbackEventType>(),
        CampaignId = campaign,
        Channel = channel,
        Secret = "whsec_x",
        CreatedAt = Now,
        Generation = 1,
    };

    [Fact]
    public async Task A_new_feed_starts_at_the_ledger_s_end_and_reads_only_what_comes_after()
    {
        await Issued("u-before", "r-before");
        var feed = new EventFeed(Ledger);
        var cursor = await feed.HeadAsync();

        var after = await Issued("u-after", "r-after");
        var batch = await feed.NextAsync(Subscription(), cursor, Now, limit: 10);

        Assert.Equal([CallbackEventIds.Issued(after.Key)], batch.Events.Select(e => e.Id));
        Assert.True(batch.CaughtUp);
        Assert.Empty((await feed.NextAsync(Subscription(), batch.Next, Now, limit: 10)).Events);
    }

    [Fact]
    public async Task A_voucher_s_redemption_waits_until_its_issue_is_delivered_and_keeps_its_id()
    {
        var feed = new EventFeed(Ledger);
        var cursor = await feed.HeadAsync();
        var first = await Issued("u1", "r1");
        var second = await Issued("u2", "r2");
        await Redeem(second, "m1", "o1", 30_000, 5_000);

        // One row a read: the redemption of the second voucher must not pass its issue.
        var one = await feed.NextAsync(Subscription(), cursor, Now, limit: 1);
        Assert.Equal([CallbackEventIds.Issued(first.Key)], one.Events.Select(e => e.Id));
        Assert.False(one.CaughtUp);

        var two = await feed.NextAsync(Subscription(), one.Next, Now, limit: 1);
        Assert.Equal([CallbackEventType.VoucherIssued, CallbackEventType.VoucherRedeemed], two.Events.Select(e => e.Type));
        Assert.All(two.Events, e => Assert.Equal(second.Code, e.Voucher!.Code));
        Assert.Equal("o1", two.Events[1].Voucher!.OrderId);

        // Read again from the same cursor (a crash before it was written), the same events have the same ids.
        Assert.Equal(two.Events.Select(e => e.Id), (await feed.NextAsync(Subscription(), one.Next, Now, limit: 1)).Events.Select(e => e.Id));
    }

    [Fact]
    public async Task Other_channels_campaigns_and_types_move_the_cursor_without_events()
    {
        var feed = new EventFeed(Ledger);
        var cursor = await feed.HeadAsync();
        var other = await Issued("u1", "r1", channel: "partner-b");
        await Redeem(other, "m1", "o1", 30_000, 5_000);
        var own = await Issued("u2", "r2");

        var partner = await feed.NextAsync(Subscription(channel: Channel), cursor, Now, limit: 10);
        var elsewhere = await feed.NextAsync(Subscription(campaign: "another-campaign"), cursor, Now, limit: 10);
        var redemptionsOnly = await feed.NextAsync(Subscription(types: CallbackEventType.VoucherRedeemed), cursor, Now, limit: 10);

        Assert.Equal([CallbackEventIds.Issued(own.Key)], partner.Events.Select(e => e.Id));
        Assert.Empty(elsewhere.Events);
        Assert.Equal([other.Code], redemptionsOnly.Events.Select(e => e.Voucher!.Code));
        Assert.Empty((await feed.NextAsync(Subscription(channel: Channel), partner.Next, Now, limit: 10)).Events);
        Assert.Empty((await feed.NextAsync(Subscription(types: CallbackEventType.VoucherRedeemed), redemptionsOnly.Next, Now, limit: 10)).Events);
    }

    [Fact]
    public async Task A_voucher_expires_once_past_its_validity_unless_it_was_redeemed()
    {
        var feed = new EventFeed(Ledger);
        var cursor = await feed.HeadAsync();
        var spent = await Issued("u1", "r1");
        var unspent = await Issued("u2", "r2");
        await Redeem(spent, "m1", "o1", 30_000, 5_000);
        var subscription = Subscription(types: CallbackEventType.VoucherExpired);

        var before = await feed.NextAsync(subscription, cursor, unspent.ValidUntil.AddTicks(-1), limit: 10);
        var after = await feed.NextAsync(subscription, before.Next, unspent.ValidUntil, limit: 10);

        Assert.Empty(before.Events);
        var expired = Assert.Single(after.Events);
        Assert.Equal((CallbackEventIds.Expired(unspent.Key), unspent.ValidUntil), (expired.Id, expired.CreatedAt));
        Assert.Empty((await feed.NextAsync(subscription, after.Next, unspent.ValidUntil.AddDays(1), limit: 10)).Events);
    }
}
