using System.Globalization;
using Campaigns.Proto;
using Microsoft.Playwright;

namespace Campaigns.Tests.EndToEnd;

/// <summary>
/// The organiser's dashboard in a real browser: Debian's headless Chromium (/usr/bin/chromium,
/// installed by scripts/test.sh; Playwright downloads no browser) on the real silo, during a drop.
/// Screenshots are saved under TestResults/screenshots.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class DashboardBrowserTests(SiloFixture silo)
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task An_organiser_watches_a_drop_live_and_the_figures_match_the_api()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install Debian's chromium package (scripts/test.sh does)");
        var campaign = await silo.StartedCampaignAsync(c => c.Name = "Lantern Festival drop");
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1600, Height = 1000 } });

        await page.GotoAsync(silo.Host.HttpAddress.ToString());
        await SignInAsync(page, "not-a-key");
        await Assertions.Expect(page.Locator("#login-error")).ToContainTextAsync("INVALID_API_KEY");
        var partnerKey = (await silo.CreateKeyAsync(Role.Partner, "dashboard-partner")).Secret;
        await SignInAsync(page, partnerKey);
        await Assertions.Expect(page.Locator("#login-error")).ToContainTextAsync("not an organiser's");

        await SignInAsync(page, SiloHost.BootstrapOrganiserKey);
        await page.Locator($"a[href='#/campaigns/{campaign.CampaignId}']").ClickAsync();
        var issued = page.GetByTestId("issued");
        var remaining = page.GetByTestId("remaining");
        await Assertions.Expect(issued).ToHaveTextAsync("0");
        await Assertions.Expect(remaining).ToHaveTextAsync("100");

        // The drop: claims keep arriving while the page watches.
        var drop = Task.Run(async () =>
        {
            for (var i = 0; i < 30; i++)
            {
                await silo.Partner.IssueVoucherAsync(campaign.CampaignId, $"lantern-user-{i}", $"lantern-req-{i}");
                await Task.Delay(100);
            }
        });
        await Assertions.Expect(issued).Not.ToHaveTextAsync("0", new() { Timeout = 5_000 });
        var seenDuringDrop = Count(await issued.TextContentAsync());
        await drop;

        var stats = await silo.StatsAsync(campaign.CampaignId);
        Assert.Equal(30, stats.Issued);
        Assert.True(seenDuringDrop is > 0 and <= 30, $"the counter moved during the drop (saw {seenDuringDrop})");
        await Assertions.Expect(issued).ToHaveTextAsync(stats.Issued.ToString("N0", CultureInfo.GetCultureInfo("en-US")), new() { Timeout = 3_000 });
        await Assertions.Expect(remaining).ToHaveTextAsync(stats.Remaining.ToString(CultureInfo.InvariantCulture), new() { Timeout = 3_000 });
        await Assertions.Expect(page.Locator("#by-channel")).ToContainTextAsync(SiloFixture.PartnerId);

        // A refused claim and a redemption show in the activity tables.
        await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => silo.Partner.IssueVoucherAsync(campaign.CampaignId, "lantern-user-0", "lantern-req-again"));
        var (merchantId, merchant) = await silo.NewMerchantAsync(prefix: "m-lantern");
        await merchant.Merchants.JoinCampaignAsync(new JoinCampaignRequest { CampaignId = campaign.CampaignId, MerchantId = merchantId });
        var voucher = (await silo.Partner.IssueVoucherAsync(campaign.CampaignId, "lantern-user-0", "lantern-req-0")).Voucher;
        await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "lantern-order-1", 20_000);
        await Assertions.Expect(page.Locator("#refusals")).ToContainTextAsync("USER_LIMIT_REACHED");
        // And in the campaign's count of refused claims, which every silo adds to about once a second.
        await Assertions.Expect(page.Locator("#refusal-reasons")).ToHaveTextAsync("All refused claims: USER_LIMIT_REACHED 1", new() { Timeout = 10_000 });
        await Assertions.Expect(page.Locator("#top-merchants")).ToContainTextAsync(merchantId);
        await Assertions.Expect(page.Locator("#redeemed")).ToHaveTextAsync("1");
        await Screenshot(page, "dashboard-projector.png");

        // The key stays in this tab's session storage and out of every URL; a reload asks for nothing.
        Assert.DoesNotContain(SiloHost.BootstrapOrganiserKey, page.Url, StringComparison.Ordinal);
        Assert.Equal(SiloHost.BootstrapOrganiserKey, await page.EvaluateAsync<string>("sessionStorage.getItem('campaigns.organiserKey')"));
        await page.ReloadAsync();
        await Assertions.Expect(issued).ToHaveTextAsync("30");
        Assert.False(await page.Locator("#login").IsVisibleAsync());

        // Back to the list and into the campaign again: a fresh page of live figures.
        await page.Locator("a.brand").ClickAsync();
        await page.Locator($"a[href='#/campaigns/{campaign.CampaignId}']").ClickAsync();
        await Assertions.Expect(page.Locator("#top-merchants")).ToContainTextAsync(merchantId);
        await Assertions.Expect(issued).ToHaveTextAsync("30");

        await page.SetViewportSizeAsync(390, 844);
        await Assertions.Expect(issued).ToBeInViewportAsync();
        await Screenshot(page, "dashboard-phone.png");
    }

    private static async Task SignInAsync(IPage page, string key)
    {
        await page.Locator("#key").FillAsync(key);
        await page.Locator("#login button[type=submit]").ClickAsync();
    }

    private static long Count(string? text) => long.Parse(text ?? "0", NumberStyles.AllowThousands, CultureInfo.GetCultureInfo("en-US"));

    /// <summary>Saves a full-page screenshot under TestResults/screenshots at the repository root (beside the test reports).</summary>
    private static async Task Screenshot(IPage page, string name)
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root.Parent is not null && !File.Exists(Path.Combine(root.FullName, "Campaigns.sln")))
        {
            root = root.Parent;
        }

        var path = Path.Combine(root.FullName, "TestResults", "screenshots", name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
    }
}
