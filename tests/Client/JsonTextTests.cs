using Campaigns.Cli;
using Campaigns.Proto;

namespace Campaigns.Tests.Client;

/// <summary>The tool's --json output.</summary>
public sealed class JsonTextTests
{
    [Fact]
    public void Repeated_text_fields_are_written_as_they_are_and_int64s_as_numbers()
    {
        var campaign = new Campaign { CampaignId = "spring", Districts = { "huangpu", "jingan" }, TotalStock = 1_000 };

        var json = JsonText.Format(campaign);

        Assert.Contains("\"districts\": [ \"huangpu\", \"jingan\" ]", json, StringComparison.Ordinal);
        Assert.Contains("\"totalStock\": 1000", json, StringComparison.Ordinal);
    }
}
