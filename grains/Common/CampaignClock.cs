namespace Campaigns.Grains.Common;

/// <summary>
/// The business clock: what campaign windows, voucher validity, holds, daily limits and refund
/// windows are judged against. It is a <see cref="TimeProvider"/> registered under its own key,
/// apart from the unkeyed one Orleans runs its own machinery on (placement retries, timers, idle
/// collection), so a test can hold business time still without stalling the runtime.
/// </summary>
public static class CampaignClock
{
    public const string Key = "campaigns";
}
