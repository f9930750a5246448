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

    [Fact]
    public async Task An_https_address_at_the_h2c_silo_is_a_usage_error_that_says_to_use_http()
    {
        var https = "https://" + silo.Host.GrpcAddress.Authority;

        var listed = await Cli.RunAtAsync(https, SiloHost.BootstrapOrganiserKey, "campaign", "list");

        Assert.Equal((1, ""), (listed.ExitCode, listed.Out));
        Assert.StartsWith($"error: INVALID_ARGUMENT: --address: no TLS at {https}/; the silo speaks h2c", listed.Error, StringComparison.Ordinal);
        Assert.Contains($"use http://{silo.Host.GrpcAddress.Authority}", listed.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", listed.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_export_to_a_file_leaves_no_partial_file_behind()
    {
        var path = Path.Combine(Path.GetTempPath(), $"export-{Guid.NewGuid():N}.csv");

        var export = await silo.RunAsync(SiloHost.BootstrapOrganiserKey, "export", "no-such-campaign", "--output", path);

        Assert.Equal(2, export.ExitCode);
        Assert.StartsWith("error: CAMPAIGN_NOT_FOUND:", export.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(path + ".partial"), "no header-only .partial file");
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task Export_with_json_and_no_output_file_prints_only_json_lines_events_then_the_summary()
    {
        var (campaign, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync();
        await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-1", 20_000);

        var export = await silo.RunAsync(SiloHost.BootstrapOrganiserKey, "--json", "export", campaign.CampaignId);

        Assert.Equal((0, ""), (export.ExitCode, export.Error));
        var records = export.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(ExportRecord.Parser.ParseJson).ToList();
        Assert.Equal([ExportRecord.RecordOneofCase.Event, ExportRecord.RecordOneofCase.Summary], records.Select(r => r.RecordCase));
        Assert.Equal("order-1", records[0].Event.OrderId);
        Assert.Equal(1, records[1].Summary.Events);
    }

    [Fact]
    public async Task Stats_show_issuing_past_a_channel_quota_as_shared_stock_and_label_what_districts_count()
    {
        var campaign = await silo.StartedCampaignAsync(r => r.ChannelQuotas[SiloFixture.PartnerId] = 1);
        await silo.IssueAsync(campaign.CampaignId, "user-quota-1");
        await silo.IssueAsync(campaign.CampaignId, "user-quota-2");

        var stats = await silo.RunAsync(SiloHost.BootstrapOrganiserKey, "campaign", "stats", campaign.CampaignId);

        Assert.Equal((0, ""), (stats.ExitCode, stats.Error));
        Assert.Matches(@"CHANNEL\s+OWN_QUOTA\s+ISSUED\s+FROM_QUOTA\s+FROM_SHARED\s+REDEEMED", stats.Out);
        Assert.Matches($@"{SiloFixture.PartnerId}\s+1\s+2\s+1\s+1\s+0", stats.Out);
        Assert.Matches(@"DISTRICT\s+ISSUED_FOR\s+REDEEMED_AT", stats.Out);
    }

    [Fact]
    public async Task Campaign_create_with_a_partner_cap_shows_it_and_a_cap_below_the_shard_count_is_refused_naming_the_flag_s_field()
    {
        Task<Cli.Outcome> CreateAsync(string cap) => silo.RunAsync(SiloHost.BootstrapOrganiserKey, "campaign", "create", "--id", Scenario.NewId("cli-cap"),
            "--name", "Drop", "--kind", "amount-off", "--face-value", "2000", "--stock", "100", "--valid-days", "7", "--partner-cap", cap, "--partner-cap-minutes", "5");

        var created = await CreateAsync("400");
        var refused = await CreateAsync("3"); // below the default 4 shards

        Assert.Equal((0, ""), (created.ExitCode, created.Error));
        Assert.Matches(@"partner cap:\s+400 a minute per partner, for the first 5 minutes", created.Out);
        Assert.Equal(2, refused.ExitCode);
        Assert.StartsWith("error: INVALID_ARGUMENT: partner_cap_per_minute:", refused.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_output_writes_64_bit_counts_and_cents_as_numbers_and_ids_of_digits_as_strings()
    {
        var (campaign, voucher, merchantId, _) = await silo.RedeemableVoucherAsync();
        var key = (await silo.CreateKeyAsync(Role.Merchant, merchantId)).Secret;

        var redeemed = await silo.RunAsync(key, "--json", "redeem", "now", voucher.Code, "--merchant", merchantId, "--order", "12345", "--amount", "20000");
        var stats = await silo.RunAsync(SiloHost.BootstrapOrganiserKey, "--json", "campaign", "stats", campaign.CampaignId);

        Assert.Equal((0, 0), (redeemed.ExitCode, stats.ExitCode));
        Assert.Contains("\"orderId\": \"12345\"", redeemed.Out, StringComparison.Ordinal);
        Assert.Contains("\"orderAmountCents\": 20000, \"discountCents\": 2000, \"payableCents\": 18000", redeemed.Out, StringComparison.Ordinal);
        Assert.Contains("\"totalStock\": 100, \"issued\": 1, \"remaining\": 99", stats.Out, StringComparison.Ordinal);
        var parsed = CampaignStats.Parser.ParseJson(stats.Out);
        Assert.Equal((1L, 1L), (parsed.Issued, parsed.Redeemed));
    }

    [Fact]
    public async Task Key_list_shows_key_ids_and_status_but_no_secret_and_merchant_list_shows_merchants()
    {
        var key = await silo.CreateKeyAsync(Role.Partner, "partner-cli-listed");

        var keys = await silo.RunAsync(SiloHost.BootstrapOrganiserKey, "key", "list", "--page-size", "100");
        var merchants = await silo.RunAsync(SiloHost.BootstrapOrganiserKey, "merchant", "list", "--page-size", "100");

        Assert.Equal((0, ""), (keys.ExitCode, keys.Error));
        Assert.Matches($@"{key.KeyId}\s+PARTNER\s+partner-cli-listed\s+live", keys.Out);
        Assert.DoesNotContain(key.Secret.Split('.')[1], keys.Out, StringComparison.Ordinal);
        Assert.Equal((0, ""), (merchants.ExitCode, merchants.Error));
        Assert.Matches($@"{SiloFixture.MerchantId}\s+Fixture Noodles\s+{SiloFixture.MerchantDistrict}", merchants.Out);
    }

    [Fact]
    public async Task An_export_to_a_file_reports_its_progress_and_leaves_the_verified_file()
    {
        var (campaign, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync();
        await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-1", 20_000);
        await merchant.RefundRedemptionAsync(voucher.Code, merchantId, "order-1", "refund-1");
        var path = Path.Combine(Path.GetTempPath(), $"export-{Guid.NewGuid():N}.csv");
        try
        {
            var export = await silo.RunAsync(SiloHost.BootstrapOrganiserKey, "export", campaign.CampaignId, "--output", path, "--progress-every", "1");

            Assert.Equal(0, export.ExitCode);
            Assert.Equal(["exported 1 event", "exported 2 events"], export.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            Assert.Equal(4, File.ReadAllLines(path).Length); // header, two events, the checksum comment
            Assert.False(File.Exists(path + ".partial"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Export_after_a_sequence_writes_and_verifies_only_the_later_events()
    {
        var (campaign, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync();
        await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-1", 20_000);
        await merchant.RefundRedemptionAsync(voucher.Code, merchantId, "order-1", "refund-1");
        var whole = await silo.RunAsync(SiloHost.BootstrapOrganiserKey, "export", campaign.CampaignId);
        var firstSequence = whole.Out.Split('\n')[1].Split(',')[0];

        var resumed = await silo.RunAsync(SiloHost.BootstrapOrganiserKey, "export", campaign.CampaignId, "--after-sequence", firstSequence);
        var refused = await silo.RunAsync(SiloHost.BootstrapOrganiserKey, "export", campaign.CampaignId, "--after-sequence", "-3");

        Assert.Equal(0, resumed.ExitCode);
        var lines = resumed.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length); // header, the refund, the checksum comment
        Assert.Contains(",REFUNDED,", lines[1], StringComparison.Ordinal);
        Assert.Contains("last sequence", resumed.Error, StringComparison.Ordinal);
        Assert.NotEqual(0, refused.ExitCode);
    }

    [Fact]
    public async Task Export_on_a_terminal_draws_a_bar_ending_at_the_summary_total_and_writes_what_a_pipe_gets()
    {
        var (campaign, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync();
        await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-1", 20_000);
        await merchant.RefundRedemptionAsync(voucher.Code, merchantId, "order-1", "refund-1");
        var (piped, onTerminal) = (Path.Combine(Path.GetTempPath(), $"export-{Guid.NewGuid():N}.csv"), Path.Combine(Path.GetTempPath(), $"export-{Guid.NewGuid():N}.csv"));
        try
        {
            string[] export = ["export", campaign.CampaignId, "--progress-every", "1", "--output"];
            var plain = await silo.RunAsync(SiloHost.BootstrapOrganiserKey, [.. export, piped]);
            var bar = await silo.RunOnTerminalAsync(SiloHost.BootstrapOrganiserKey, [.. export, onTerminal]);

            Assert.Equal((0, 0), (plain.ExitCode, bar.ExitCode));
            Assert.Equal("exported 1 event\nexported 2 events\n", plain.Error.ReplaceLineEndings("\n"));
            Assert.DoesNotContain('\u001b', plain.Error);
            Assert.Contains('\u001b', bar.Error);
            Assert.DoesNotContain("exported 1 event", bar.Error, StringComparison.Ordinal);
            Assert.Contains("exporting 2/2 events", Client.ProgressDisplayTests.LastFrame(bar.Error), StringComparison.Ordinal);
            Assert.Contains("sha256:", plain.Out, StringComparison.Ordinal);
            Assert.Equal(plain.Out, bar.Out);
            Assert.Equal(File.ReadAllText(piped), File.ReadAllText(onTerminal));

            // The CSV on standard output: the same bytes whether stderr shows a bar or not.
            var plainCsv = await silo.RunAsync(SiloHost.BootstrapOrganiserKey, "export", campaign.CampaignId);
            var barCsv = await silo.RunOnTerminalAsync(SiloHost.BootstrapOrganiserKey, "export", campaign.CampaignId);
            Assert.Equal(4, plainCsv.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
            Assert.Equal(plainCsv.Out, barCsv.Out);
            Assert.Contains("exporting 2/2 events", Client.ProgressDisplayTests.LastFrame(barCsv.Error), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(piped);
            File.Delete(onTerminal);
        }
    }

    [Fact]
    public async Task Issue_batch_on_a_terminal_draws_a_bar_with_the_counts_by_outcome_and_prints_the_same_table()
    {
        var campaign = await silo.StartedCampaignAsync();
        var key = (await silo.CreateKeyAsync(Role.Partner, SiloFixture.PartnerId)).Secret;
        var file = Path.Combine(Path.GetTempPath(), $"users-{Guid.NewGuid():N}.csv");
        // The second line asks for a second voucher for user-a, beyond the campaign's one per user.
        await File.WriteAllLinesAsync(file, ["user-a,claim-1", "user-a,claim-2", "user-b,claim-3"]);
        try
        {
            string[] batch = ["voucher", "issue-batch", campaign.CampaignId, "--file", file];
            var first = await silo.RunOnTerminalAsync(key, batch);
            Assert.Equal(2, first.ExitCode);
            Assert.Contains("issuing 3/3 vouchers issued 2, replayed 0, refused 1", Client.ProgressDisplayTests.LastFrame(first.Error), StringComparison.Ordinal);
            Assert.Contains("issued 2, replayed 0, refused 1 (", first.Out, StringComparison.Ordinal);
            Assert.DoesNotContain('\u001b', first.Out);

            // Run again, both ways: replays, so the two outputs can be compared byte for byte.
            var plain = await silo.RunAsync(key, batch);
            var bar = await silo.RunOnTerminalAsync(key, batch);
            Assert.Equal((2, 2, ""), (plain.ExitCode, bar.ExitCode, plain.Error));
            Assert.Contains("issued 0, replayed 2, refused 1 (", plain.Out, StringComparison.Ordinal);
            Assert.Equal(plain.Out, bar.Out);
            Assert.Contains("issuing 3/3 vouchers issued 0, replayed 2, refused 1", Client.ProgressDisplayTests.LastFrame(bar.Error), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_wrong_role_hint_says_which_key_a_merchant_command_takes()
    {
        var partnerKey = (await silo.CreateKeyAsync(Role.Partner, "partner-hint")).Secret;

        var shown = await silo.RunAsync(partnerKey, "merchant", "show", SiloFixture.MerchantId);

        Assert.Equal(2, shown.ExitCode);
        Assert.Contains("error: WRONG_ROLE:", shown.Error, StringComparison.Ordinal);
        Assert.Contains("merchant show and merchant settlement an organiser key or that merchant's own", shown.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_rotate_shows_a_new_secret_once_and_the_old_secret_is_refused()
    {
        var key = await silo.CreateKeyAsync(Role.Partner, "partner-cli-rotated");

        var rotated = await silo.RunAsync(SiloHost.BootstrapOrganiserKey, "key", "rotate", key.KeyId, "--json");

        Assert.Equal(0, rotated.ExitCode);
        Assert.Contains("shown only once", rotated.Error, StringComparison.Ordinal);
        var shown = ApiKey.Parser.ParseJson(rotated.Out);
        Assert.Equal(key.KeyId, shown.KeyId);
        Assert.NotEqual(key.Secret, shown.Secret);
        var old = await silo.RunAsync(key.Secret, "voucher", "wallet", "user-cli-rotated");
        Assert.StartsWith("error: INVALID_API_KEY:", old.Error, StringComparison.Ordinal);
        var fresh = await silo.RunAsync(shown.Secret, "voucher", "wallet", "user-cli-rotated");
        Assert.Equal(0, fresh.ExitCode);
    }

    [Fact]
    public async Task Voucher_wallet_pages_and_names_the_command_for_the_next_page()
    {
        var campaign = await silo.StartedCampaignAsync(r => r.PerUserLimit = 2);
        await silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-cli-paged", Scenario.NewId("req"));
        await silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-cli-paged", Scenario.NewId("req"));

        var first = await silo.RunAsync(silo.Partner.Options.ApiKey, "voucher", "wallet", "user-cli-paged", "--campaign", campaign.CampaignId, "--page-size", "1");
        var token = System.Text.RegularExpressions.Regex.Match(first.Out, "more: campaigns voucher wallet user-cli-paged --page-token (\\S+)").Groups[1].Value;
        var second = await silo.RunAsync(silo.Partner.Options.ApiKey, "voucher", "wallet", "user-cli-paged", "--campaign", campaign.CampaignId,
            "--page-size", "1", "--page-token", token);

        Assert.Equal((0, 0), (first.ExitCode, second.ExitCode));
        Assert.NotEmpty(token);
        Assert.DoesNotContain("more:", second.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoking_an_unknown_key_exits_2_with_API_KEY_NOT_FOUND()
    {
        var revoked = await silo.RunAsync(SiloHost.BootstrapOrganiserKey, "key", "revoke", "key_000000000001");

        Assert.Equal(2, revoked.ExitCode);
        Assert.StartsWith("error: API_KEY_NOT_FOUND: no API key 'key_000000000001'", revoked.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_campaign_created_with_refund_days_0_keeps_0_and_reads_ended_once_its_window_has_passed()
    {
        var id = Scenario.NewId("cli");
        var created = await silo.RunAsync(SiloHost.BootstrapOrganiserKey, "campaign", "create", "--id", id, "--name", "No refunds",
            "--kind", "amount-off", "--face-value", "2000", "--stock", "10",
            "--starts", silo.Clock.GetUtcNow().ToString("O"), "--ends", "1h", "--valid-days", "7", "--refund-days", "0");
        Assert.Equal((0, ""), (created.ExitCode, created.Error));
        Assert.Matches(@"refund window:\s+0 days", created.Out);

        silo.Clock.Advance(TimeSpan.FromHours(1));
        var shown = await silo.RunAsync(SiloHost.BootstrapOrganiserKey, "campaign", "show", id);
        Assert.Matches(@"status:\s+ENDED", shown.Out);
        var start = await silo.RunAsync(SiloHost.BootstrapOrganiserKey, "campaign", "start", id);
        Assert.Equal(2, start.ExitCode);
        Assert.StartsWith("error: CAMPAIGN_ENDED: the issuing window ended at", start.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_campaign_created_with_a_limit_per_device_shows_it_and_a_second_device_claim_exits_2()
    {
        var id = Scenario.NewId("cli");
        var created = await silo.RunAsync(SiloHost.BootstrapOrganiserKey, "campaign", "create", "--id", id, "--name", "One per phone",
            "--kind", "amount-off", "--face-value", "2000", "--stock", "10", "--per-device", "1",
            "--starts", silo.Clock.GetUtcNow().AddMinutes(-1).ToString("O"), "--ends", "1d", "--valid-days", "7");
        Assert.Equal((0, ""), (created.ExitCode, created.Error));
        Assert.Matches(@"per device:\s+1", created.Out);
        await silo.RunAsync(SiloHost.BootstrapOrganiserKey, "campaign", "start", id);
        var partnerKey = (await silo.CreateKeyAsync(Role.Partner, "partner-cli-device")).Secret;

        var first = await silo.RunAsync(partnerKey, "voucher", "issue", id, "--user", "cli-device-1", "--request-id", "r1", "--device", "phone-cli");
        var second = await silo.RunAsync(partnerKey, "voucher", "issue", id, "--user", "cli-device-2", "--request-id", "r1", "--device", "phone-cli");

        Assert.Equal((0, ""), (first.ExitCode, first.Error));
        Assert.Equal(2, second.ExitCode);
        Assert.StartsWith("error: DEVICE_LIMIT_REACHED: this device already received the 1 voucher(s) allowed per device", second.Error, StringComparison.Ordinal);
    }
}
