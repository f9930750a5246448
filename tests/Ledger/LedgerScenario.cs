using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Ledger;

namespace Campaigns.Tests.Ledger;

/// <summary>
/// A ledger of its own for each test, with one campaign registered and activated, and the steps
/// of the scenarios the ledger tests tell: grants, batches, redemptions, refunds. Each backend
/// says how to open a fresh ledger, and a second one on the same store (another silo).
/// </summary>
public abstract class LedgerScenario : IAsyncLifetime
{
    protected const string Campaign = "festival-2026";
    protected const string Channel = "partner-a";

    // Whole milliseconds: the SQLite ledger stores Unix milliseconds, so round trips compare equal.
    protected static readonly DateTimeOffset Now = new(2026, 11, 11, 2, 0, 0, TimeSpan.Zero);

    private static readonly VoucherTerms FiftyOffTwoHundred = new(DiscountKind.AmountOff, 5_000, 20_000, 0, 0, 0);

    private readonly long[] _seqs = new long[VoucherKey.MaxShard + 1];
    private readonly Dictionary<int, long> _epochs = [];
    private readonly List<ILedger> _opened = [];

    protected ILedger Ledger { get; private set; } = null!;

    /// <summary>The test campaign's number in the directory.</summary>
    protected int Number { get; private set; }

    /// <summary>The epoch of the test campaign's activation: its grants are made under it.</summary>
    protected long CampaignEpoch { get; private set; }

    /// <summary>A ledger on a fresh, empty store of this test's own (its schema not yet created).</summary>
    protected abstract Task<ILedger> OpenFreshAsync();

    /// <summary>Another ledger on the test's store, as a second silo would open it.</summary>
    protected abstract ILedger OpenAnother();

    /// <summary>Removes the test's store, once every ledger on it is disposed.</summary>
    protected virtual Task DropStoreAsync() => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        Ledger = await OpenFreshAsync();
        await Ledger.EnsureSchemaAsync();
        Number = await Ledger.RegisterCampaignAsync(Campaign, Now);
        CampaignEpoch = await Ledger.ActivateCampaignAsync(Campaign);
    }

    public virtual async Task DisposeAsync()
    {
        foreach (var ledger in _opened.Prepend(Ledger))
        {
            await Dispose(ledger);
        }

        await DropStoreAsync();
    }

    /// <summary><see cref="OpenAnother"/>, disposed with the test.</summary>
    protected ILedger Another()
    {
        var ledger = OpenAnother();
        lock (_opened)
        {
            _opened.Add(ledger);
        }

        return ledger;
    }

    private static async Task Dispose(ILedger ledger)
    {
        switch (ledger)
        {
            case IAsyncDisposable asynchronous:
                await asynchronous.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }

    protected long Epoch(int shard)
    {
        lock (_epochs)
        {
            if (!_epochs.TryGetValue(shard, out var epoch))
            {
                _epochs[shard] = epoch = Ledger.ActivateShardAsync(Campaign, shard).GetAwaiter().GetResult().Epoch;
            }

            return epoch;
        }
    }

    protected Task<bool> Grant(int shard, long amount, string pool = "") =>
        Ledger.GrantLeaseAsync(Campaign, CampaignEpoch, shard, pool, amount, poolCapacity: 1_000_000);

    protected IssueBatch Batch(int shard, long epoch, params VoucherRecord[] vouchers) => new(Campaign, Number, shard, epoch, vouchers);

    protected Task Commit(int shard, params VoucherRecord[] vouchers) => Ledger.CommitIssueBatchAsync(Batch(shard, Epoch(shard), vouchers));

    protected async Task<VoucherRecord> Issued(string user, string requestId, string district = "", string channel = Channel)
    {
        if ((await Ledger.LoadLeasesAsync(Campaign)).Count == 0)
        {
            await Grant(shard: 0, amount: 100);
        }

        var voucher = Voucher(user, requestId) with { District = district, Channel = channel };
        await Commit(0, voucher);
        return voucher;
    }

    protected VoucherRecord Voucher(string user, string requestId, int shard = 0)
    {
        var seq = Interlocked.Increment(ref _seqs[shard]);
        return new()
        {
            Code = $"V{shard}-{seq:D6}",
            CampaignId = Campaign,
            CampaignNumber = Number,
            Shard = shard,
            Seq = seq,
            UserId = user,
            Channel = Channel,
            RequestId = requestId,
            District = "",
            Status = StoredVoucherStatus.Issued,
            Version = 1,
            Terms = FiftyOffTwoHundred,
            ValidFrom = Now,
            ValidUntil = Now.AddDays(7),
            IssuedAt = Now,
            Pool = "",
            IssuedDay = new DateOnly(2026, 11, 11),
        };
    }

    protected async Task<VoucherRecord> Reserve(VoucherRecord v, DateTimeOffset until)
    {
        var next = v with { Status = StoredVoucherStatus.Reserved, Version = v.Version + 1, MerchantId = "m1", OrderId = "hold-" + v.Code, OrderAmountCents = 30_000, DiscountCents = 5_000, ReservedUntil = until };
        Assert.True(await Ledger.TryTransitionAsync(next, v.Version, Event(next, RedemptionEventType.Reserved, "xuhui")));
        return next;
    }

    protected async Task<VoucherRecord> Redeem(VoucherRecord v, string merchant, string order, long amount, long discount, string merchantDistrict = "xuhui")
    {
        var step = RedeemStep(v, merchant, order, amount, discount, merchantDistrict);
        Assert.True(await Ledger.TryTransitionAsync(step.Next, v.Version, step.Event));
        return step.Next;
    }

    protected async Task<VoucherRecord> Refund(VoucherRecord redeemed, string refundId)
    {
        var step = RefundStep(redeemed, refundId);
        Assert.True(await Ledger.TryTransitionAsync(step.Next, redeemed.Version, step.Event));
        return step.Next;
    }

    protected static (VoucherRecord Next, RedemptionEventRecord Event) RedeemStep(
        VoucherRecord v, string merchant, string order, long amount, long discount, string merchantDistrict = "xuhui")
    {
        var next = v with
        {
            Status = StoredVoucherStatus.Redeemed, Version = v.Version + 1, MerchantId = merchant, OrderId = order,
            OrderAmountCents = amount, DiscountCents = discount, ReservedUntil = null, RedeemedAt = Now,
        };
        return (next, Event(next, RedemptionEventType.Redeemed, merchantDistrict));
    }

    protected static (VoucherRecord Next, RedemptionEventRecord Event) RefundStep(VoucherRecord redeemed, string refundId)
    {
        var next = redeemed with
        {
            Status = StoredVoucherStatus.Issued, Version = redeemed.Version + 1, MerchantId = null, OrderId = null,
            OrderAmountCents = 0, DiscountCents = 0, RedeemedAt = null,
        };
        var refund = Event(redeemed, RedemptionEventType.Refunded, "xuhui") with { RefundId = refundId, DiscountCents = -redeemed.DiscountCents };
        return (next, refund);
    }

    protected static RedemptionEventRecord Event(VoucherRecord v, RedemptionEventType type, string merchantDistrict) => new()
    {
        Type = type,
        Code = v.Code,
        CampaignId = v.CampaignId,
        MerchantId = v.MerchantId!,
        OrderId = v.OrderId!,
        OrderAmountCents = v.OrderAmountCents,
        DiscountCents = v.DiscountCents,
        OccurredAt = Now,
        MerchantDistrict = merchantDistrict,
    };
}
