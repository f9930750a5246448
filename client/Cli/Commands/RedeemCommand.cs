using System.CommandLine;
using Campaigns.Proto;

namespace Campaigns.Cli;

/// <summary><c>campaigns redeem …</c>: checkout at a merchant (merchant key).</summary>
internal static class RedeemCommand
{
    public static Command Create()
    {
        var command = new Command("redeem", "Use vouchers at checkout (the merchant's own key)");
        command.Add(Reserve());
        command.Add(Confirm());
        command.Add(Cancel());
        command.Add(Now());
        command.Add(Refund());
        return command;
    }

    private static Command Reserve()
    {
        var (code, merchant, order) = Common();
        var amount = Flags.Money("--amount", "The order amount", required: true);
        var hold = Flags.Whole("--hold-seconds", "How long the voucher is held for the order (server default 300, at most 3600)", 0);
        var command = new Command("reserve", "Hold a voucher for an order and quote its discount") { code, merchant, order, amount, hold };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var reservation = await session.Client.ReserveVoucherAsync(
                parse.GetValue(code)!, parse.GetValue(merchant)!, parse.GetValue(order)!, parse.GetValue(amount), parse.GetValue(hold), ct);
            session.Print(reservation, report => Views.Reservation(report, reservation));
            return ExitCode.Ok;
        });
        return command;
    }

    private static Command Confirm()
    {
        var (code, merchant, order) = Common();
        var command = new Command("confirm", "Turn the order's reservation into a redemption") { code, merchant, order };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var redemption = await session.Client.ConfirmRedemptionAsync(parse.GetValue(code)!, parse.GetValue(merchant)!, parse.GetValue(order)!, ct);
            session.Print(redemption, report => Views.Redemption(report, redemption));
            return ExitCode.Ok;
        });
        return command;
    }

    private static Command Cancel()
    {
        var (code, merchant, order) = Common();
        var command = new Command("cancel", "Release the order's reservation") { code, merchant, order };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var voucher = await session.Client.CancelReservationAsync(parse.GetValue(code)!, parse.GetValue(merchant)!, parse.GetValue(order)!, ct);
            session.Print(voucher, report => Views.Voucher(report, voucher));
            return ExitCode.Ok;
        });
        return command;
    }

    private static Command Now()
    {
        var (code, merchant, order) = Common();
        var amount = Flags.Money("--amount", "The order amount", required: true);
        var command = new Command("now", "Reserve and confirm in one step (a till)") { code, merchant, order, amount };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var redemption = await session.Client.RedeemVoucherAsync(
                parse.GetValue(code)!, parse.GetValue(merchant)!, parse.GetValue(order)!, parse.GetValue(amount), ct);
            session.Print(redemption, report => Views.Redemption(report, redemption));
            return ExitCode.Ok;
        });
        return command;
    }

    private static Command Refund()
    {
        var (code, merchant, order) = Common();
        var refundId = Flags.Text("--refund-id", "Idempotency key of the refund", required: true);
        var command = new Command("refund", "Refund a redeemed order: the voucher is usable again, the subsidy reversed") { code, merchant, order, refundId };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var voucher = await session.Client.RefundRedemptionAsync(
                parse.GetValue(code)!, parse.GetValue(merchant)!, parse.GetValue(order)!, parse.GetValue(refundId)!, ct);
            session.Print(voucher, report => Views.Voucher(report, voucher));
            return ExitCode.Ok;
        });
        return command;
    }

    private static (Argument<string> Code, Option<string> Merchant, Option<string> Order) Common() =>
    (
        new Argument<string>("code") { Description = "The voucher code" },
        Flags.Text("--merchant", "The redeeming merchant (the key's own)", required: true),
        Flags.Text("--order", "The order id: the idempotency key of the redemption", required: true)
    );
}
