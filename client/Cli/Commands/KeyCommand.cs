using System.CommandLine;
using Campaigns.Proto;

namespace Campaigns.Cli;

/// <summary><c>campaigns key …</c>: API keys (organiser key).</summary>
internal static class KeyCommand
{
    public static Command Create()
    {
        var command = new Command("key", "Create, list, rotate and revoke API keys (organiser key: partner and merchant keys; admin key: any)");
        command.Add(CreateKey());
        command.Add(List());
        command.Add(Rotate());
        command.Add(Revoke());
        return command;
    }

    private static Command CreateKey()
    {
        var role = Flags.Enum<Role>("--role", "What the key may do", required: true);
        var principal = Flags.Text("--principal", "Organiser or admin id, partner id (= issuing channel) or merchant id (registered first)", required: true);
        var description = Flags.Text("--description", "A note on what the key is for", allowEmpty: true);
        var command = new Command("create", "Create a key; its secret is shown once") { role, principal, description };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var key = await session.Client.Access.CreateApiKeyAsync(
                new CreateApiKeyRequest
                {
                    Role = parse.GetValue(role),
                    PrincipalId = parse.GetValue(principal),
                    Description = parse.GetValue(description) ?? "",
                },
                cancellationToken: ct);
            session.Print(key, report => Views.ApiKey(report, key));
            await session.Error.WriteLineAsync("note: the secret is shown only once; store it now (use it with --key or CAMPAIGNS_API_KEY).");
            return ExitCode.Ok;
        });
        return command;
    }

    private static Command List() => Listing.Create(
        "The keys created over the API, by key id; never a secret",
        async (session, size, token, ct) => await session.Client.Access.ListApiKeysAsync(
            new ListApiKeysRequest { PageSize = size, PageToken = token }, cancellationToken: ct),
        Views.ApiKeyList);

    private static Command Rotate()
    {
        var keyId = new Argument<string>("key-id") { Description = "The key's id (not its secret)" };
        var command = new Command("rotate", "Give a key a new secret, shown once; the old one is refused from now on") { keyId };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var key = await session.Client.Access.RotateApiKeyAsync(new RotateApiKeyRequest { KeyId = parse.GetValue(keyId) }, cancellationToken: ct);
            session.Print(key, report => Views.ApiKey(report, key));
            await session.Error.WriteLineAsync("note: the new secret is shown only once; store it now. Each rotate makes another: only the last works.");
            return ExitCode.Ok;
        });
        return command;
    }

    private static Command Revoke()
    {
        var keyId = new Argument<string>("key-id") { Description = "The key's id (not its secret)" };
        var command = new Command("revoke", "Revoke a key at once; revoking twice is harmless") { keyId };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var key = await session.Client.Access.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = parse.GetValue(keyId) }, cancellationToken: ct);
            session.Print(key, report => Views.ApiKey(report, key));
            return ExitCode.Ok;
        });
        return command;
    }
}
