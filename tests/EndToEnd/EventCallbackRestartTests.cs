using Campaigns.Proto;

namespace Campaigns.Tests.EndToEnd;

/// <summary>Events come from the ledger: a silo stopped after a commit and before its delivery delivers it after the restart. A silo of its own.</summary>
public sealed class EventCallbackRestartTests : IAsyncLifetime
{
    private SiloHost _host = null!;

    // A retry window far longer than the restart: nothing may be parked while the silo is down.
    public async Task InitializeAsync() => _host = await SiloHost.StartAsync(
        [.. EventsSiloFixture.Settings.Where(s => !s.Contains("RetryWindow", StringComparison.Ordinal)), "--Campaigns:Events:RetryWindow=01:00:00"]);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task An_event_committed_but_not_yet_acknowledged_when_the_silo_stops_is_delivered_after_the_restart()
    {
        var journey = await Journey.StartAsync(_host);
        await using var receiver = await CallbackReceiver.StartAsync();
        receiver.Answer = (_, _) => 503;
        await receiver.SubscribeAsync(journey.Partner, journey.CampaignId, "voucher.issued", "voucher.redeemed");
        var voucher = (await journey.Partner.IssueVoucherAsync(journey.CampaignId, "user-restart", "claim-restart")).Voucher;
        await receiver.WaitUntilAsync(r => r.Received.Count > 0, "a first, refused, attempt");
        var id = receiver.Received[0].Id;

        await _host.RestartAsync();
        receiver.Answer = (_, _) => 200;
        await journey.Merchant.RedeemVoucherAsync(voucher.Code, journey.MerchantId, "order-after-restart", 15_000);

        await receiver.WaitUntilAsync(r => r.Acknowledged.Count >= 2, "the issue and the redemption after the restart");
        Assert.Equal([(id, "voucher.issued"), (receiver.Acknowledged[1].Id, "voucher.redeemed")], receiver.Acknowledged.Select(e => (e.Id, e.Type)));
        Assert.Equal(voucher.Code, receiver.Acknowledged[0].Data.GetProperty("code").GetString());
        Assert.All(receiver.Received, r => Assert.True(r.SignatureValid));
    }
}
