using Campaigns.Proto;

namespace Campaigns.Tests.EndToEnd;

/// <summary>What the <c>campaigns</c> tool prints and exits with, against the real silo.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class CliTests(SiloFixture silo)
{
    [Fact]
    public async Task At_the_till_a_repeated_redeem_says_replayed_and_one_of_a_refunded_order_is_refused_with_exit_2()
    {
        var (_, voucher, merchantId, _) = await silo.RedeemableVoucherAsync();
        var key = (await silo.CreateKeyAsync(Role.Merchant, merchantId)).Secret;
        string[] redeem = ["redeem", "now", voucher.Code, "--merchant", merchantId, "--order", "order-1", "--amount", "20000"];

        var first = await silo.RunAsync(key, redeem);
        Assert.Equal((0, ""), (first.ExitCode, first.Error));
        Assert.DoesNotContain("replayed", first.Out, StringComparison.Ordinal);
        var repeat = await silo.RunAsync(key, redeem);
        Assert.Equal(0, repeat.ExitCode);
        Assert.Contains("replayed:", repeat.Out, StringComparison.Ordinal);

        var refund = await silo.RunAsync(key, "redeem", "refund", voucher.Code, "--merchant", merchantId, "--order", "order-1", "--refund-id", "refund-1");
        Assert.Equal(0, refund.ExitCode);

        var afterRefund = await silo.RunAsync(key, redeem);
        Assert.Equal((2, ""), (afterRefund.ExitCode, afterRefund.Out));
        Assert.StartsWith("error: ORDER_REFUNDED: order 'order-1' was already refunded (refund 'refund-1'", afterRefund.Error, StringComparison.Ordinal);
        var secondRefund = await silo.RunAsync(key, "redeem", "refund", voucher.Code, "--merchant", merchantId, "--order", "order-1", "--refund-id", "refund-2");
        Assert.Equal(2, secondRefund.ExitCode);
        Assert.StartsWith("error: ORDER_REFUNDED:", secondRefund.Error, StringComparison.Ordinal);
    }
}
