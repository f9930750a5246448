using System.CommandLine;
using Campaigns.Proto;

namespace Campaigns.Cli;

/// <summary><c>campaigns subscription …</c>: event callback subscriptions (organiser or partner key).</summary>
internal static class SubscriptionCommand
{
    public static Command Create()
    {
        var command = new Command("subscription", "Event callbacks: subscribe an endpoint, list, rotate, delete; failed deliveries (organiser or partner key)");
        command.Add(CreateSubscription());
        command.Add(List());
        command.Add(OnOne("delete", "Stop deliveries at once and forget the parked events", (client, request, ct) => client.DeleteSubscriptionAsync(request, cancellationToken: ct)));
        command.Add(OnOne("rotate", "A new signing secret, shown once; the old one stops at once", (client, request, ct) => client.RotateSubscriptionSecretAsync(request, cancellationToken: ct), secretShown: true));
        command.Add(Failed());
        command.Add(Redeliver());
        return command;
    }

    private static Command CreateSubscription()
    {
        var url = Flags.Text("--url", "The endpoint that receives the POSTs (absolute http:// or https://)", required: true);
        var events = new Option<string[]>("--event")
        {
            Description = "An event type (repeatable): voucher.issued, voucher.redeemed, voucher.refunded, voucher.expired, campaign.sold_out, campaign.ended",
            HelpName = "type",
            Required = true,
        };
        var campaign = Flags.Text("--campaign", "Only this campaign's events (default: every campaign)");
        var channel = Flags.Text("--channel", "Only this channel's vouchers (a partner key: its own, the default)");
        var command = new Command("create", "Subscribe an endpoint to event types; the signing secret is shown once") { url, events, campaign, channel };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var created = await session.Client.Events.CreateSubscriptionAsync(
                new CreateSubscriptionRequest
                {
                    Url = parse.GetValue(url),
                    EventTypes = { parse.GetValue(events) ?? [] },
                    CampaignId = parse.GetValue(campaign) ?? "",
                    Channel = parse.GetValue(channel) ?? "",
                },
                cancellationToken: ct);
            session.Print(created, report => Views.Subscription(report, created));
            await SecretNoteAsync(session);
            return ExitCode.Ok;
        });
        return command;
    }

    private static Command List() => Listing.Create(
        "The key's subscriptions; never a secret",
        async (session, size, token, ct) => await session.Client.Events.ListSubscriptionsAsync(
            new ListSubscriptionsRequest { PageSize = size, PageToken = token }, cancellationToken: ct),
        Views.SubscriptionList);

    private static Command OnOne(
        string name, string description, Func<Events.EventsClient, SubscriptionRequest, CancellationToken, Grpc.Core.AsyncUnaryCall<Subscription>> call,
        bool secretShown = false)
    {
        var id = new Argument<string>("subscription-id") { Description = "The subscription's id (sub_…)" };
        var command = new Command(name, description) { id };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var subscription = await call(session.Client.Events, new SubscriptionRequest { SubscriptionId = parse.GetValue(id) }, ct);
            session.Print(subscription, report => Views.Subscription(report, subscription));
            if (secretShown)
            {
                await SecretNoteAsync(session);
            }

            return ExitCode.Ok;
        });
        return command;
    }

    private static Command Failed()
    {
        var id = new Argument<string>("subscription-id") { Description = "The subscription's id (sub_…)" };
        var command = new Command("failed", "Events whose retries ran out (parked), oldest first") { id };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var failed = await session.Client.Events.ListFailedDeliveriesAsync(new SubscriptionRequest { SubscriptionId = parse.GetValue(id) }, cancellationToken: ct);
            session.Print(failed, report => Views.FailedDeliveries(report, failed));
            return ExitCode.Ok;
        });
        return command;
    }

    private static Command Redeliver()
    {
        var id = new Argument<string>("subscription-id") { Description = "The subscription's id (sub_…)" };
        var eventId = new Argument<string>("event-id") { Description = "The parked event's id (evt_…)" };
        var command = new Command("redeliver", "Send a parked event once more, now; exits 2 if the endpoint does not acknowledge it") { id, eventId };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var answer = await session.Client.Events.RedeliverEventAsync(
                new RedeliverEventRequest { SubscriptionId = parse.GetValue(id), EventId = parse.GetValue(eventId) }, cancellationToken: ct);
            session.Print(answer, report => report.Fields(
            [
                ("delivered", answer.Delivered ? "yes" : "no, still parked"),
                ("status", answer.StatusCode > 0 ? answer.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : null),
                ("error", answer.Error.Length > 0 ? answer.Error : null),
            ]));
            return answer.Delivered ? ExitCode.Ok : ExitCode.Refused;
        });
        return command;
    }

    private static Task SecretNoteAsync(Session session) =>
        session.Error.WriteLineAsync("note: the secret is shown only once; keep it to verify the Campaigns-Signature header of each delivery.");
}
