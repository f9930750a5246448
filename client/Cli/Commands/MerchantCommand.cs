using System.CommandLine;
using Campaigns.Proto;

namespace Campaigns.Cli;

/// <summary><c>campaigns merchant …</c>: profiles, enrolment and settlement.</summary>
internal static class MerchantCommand
{
    public static Command Create()
    {
        var command = new Command("merchant", "Merchant profiles, campaign enrolment and settlement");
        command.Add(Register());
        command.Add(Show());
        command.Add(List());
        command.Add(Join());
        command.Add(Enroll());
        command.Add(Settlement());
        return command;
    }

    private static Command List() => Listing.Create(
        "Registered merchants, by merchant id (organiser key)",
        async (session, size, token, ct) => await session.Client.Merchants.ListMerchantsAsync(
            new ListMerchantsRequest { PageSize = size, PageToken = token }, cancellationToken: ct),
        Views.MerchantList);

    private static Command Register()
    {
        var id = Flags.Text("--id", "Merchant id: letters, digits, - _ .", required: true);
        var name = Flags.Text("--name", "Display name", required: true);
        var district = Flags.Text("--district", "The district the shop is in", required: true);
        var category = Flags.Text("--category", "e.g. restaurant, grocery, electronics", required: true);
        var command = new Command("register", "Register a merchant (organiser key); an identical repeat is harmless")
        {
            id, name, district, category,
        };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var merchant = await session.Client.Merchants.RegisterMerchantAsync(
                new RegisterMerchantRequest
                {
                    MerchantId = parse.GetValue(id),
                    Name = parse.GetValue(name),
                    District = parse.GetValue(district),
                    Category = parse.GetValue(category),
                },
                cancellationToken: ct);
            session.Print(merchant, report => Views.Merchant(report, merchant));
            return ExitCode.Ok;
        });
        return command;
    }

    private static Command Show()
    {
        var id = new Argument<string>("merchant") { Description = "The merchant id" };
        var command = new Command("show", "A merchant's profile and campaigns (organiser or that merchant's key)") { id };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var merchant = await session.Client.Merchants.GetMerchantAsync(
                new GetMerchantRequest { MerchantId = parse.GetValue(id) }, cancellationToken: ct);
            session.Print(merchant, report => Views.Merchant(report, merchant));
            return ExitCode.Ok;
        });
        return command;
    }

    private static Command Join()
    {
        var campaign = new Argument<string>("campaign") { Description = "The campaign to join" };
        var merchant = Flags.Text("--merchant", "The merchant joining (must be the key's own merchant)", required: true);
        var command = new Command("join", "A merchant joins a campaign (that merchant's key)") { campaign, merchant };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var enrollment = await session.Client.Merchants.JoinCampaignAsync(
                new JoinCampaignRequest { CampaignId = parse.GetValue(campaign), MerchantId = parse.GetValue(merchant) },
                cancellationToken: ct);
            session.Print(enrollment, report => Views.Enrollment(report, enrollment));
            return ExitCode.Ok;
        });
        return command;
    }

    private static Command Enroll()
    {
        var campaign = new Argument<string>("campaign") { Description = "The campaign" };
        var merchant = Flags.Text("--merchant", "The merchant to enrol", required: true);
        var command = new Command("enroll", "Enrol a merchant in a campaign (organiser key)") { campaign, merchant };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var enrollment = await session.Client.Admin.EnrollMerchantAsync(
                new EnrollMerchantRequest { CampaignId = parse.GetValue(campaign), MerchantId = parse.GetValue(merchant) },
                cancellationToken: ct);
            session.Print(enrollment, report => Views.Enrollment(report, enrollment));
            return ExitCode.Ok;
        });
        return command;
    }

    private static Command Settlement()
    {
        var merchant = new Argument<string>("merchant") { Description = "The merchant id" };
        var campaign = Flags.Text("--campaign", "Only this campaign (default: every campaign)");
        var command = new Command("settlement", "The subsidy owed to a merchant (organiser or that merchant's key)") { merchant, campaign };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var settlement = await session.Client.Merchants.GetSettlementAsync(
                new GetSettlementRequest { MerchantId = parse.GetValue(merchant), CampaignId = parse.GetValue(campaign) ?? "" },
                cancellationToken: ct);
            session.Print(settlement, report => Views.Settlement(report, settlement));
            return ExitCode.Ok;
        });
        return command;
    }
}
