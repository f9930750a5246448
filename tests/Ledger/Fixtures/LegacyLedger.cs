using System.Text.Json;

namespace Campaigns.Tests.Ledger.Fixtures;

/// <summary>
/// A database the silo and CLI wrote at ledger schema version 3, before vouchers were keyed by
/// shard and issue order (campaigns-v3.db), and what is known of it (campaigns-v3.json).
/// </summary>
public sealed class LegacyLedger
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Ledger", "Fixtures");

    private LegacyLedger(JsonElement manifest) => Manifest = manifest;

    /// <summary>Written on 2026-12-07, at about 03:50 UTC: a clock started here finds the campaigns' windows open.</summary>
    public static DateTimeOffset WrittenAt { get; } = new(2026, 12, 7, 4, 0, 0, TimeSpan.Zero);

    public JsonElement Manifest { get; }

    public string PartnerKey => Manifest.GetProperty("partner_key").GetString()!;

    public string MerchantKey => Manifest.GetProperty("merchant_key").GetString()!;

    /// <summary>The codes issued in a campaign, in issue order (user-1 first).</summary>
    public IReadOnlyList<string> Codes(string campaignId) =>
        [.. Manifest.GetProperty("campaigns").GetProperty(campaignId).GetProperty("codes").EnumerateArray().Select(c => c.GetString()!)];

    public static LegacyLedger Load() => new(JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "campaigns-v3.json"))).RootElement);

    /// <summary>A copy of the database at <paramref name="path"/>, to migrate without touching the original.</summary>
    public static void CopyTo(string path) => File.Copy(DatabasePath, path, overwrite: true);

    public static string DatabasePath => Path.Combine(Folder, "campaigns-v3.db");
}
