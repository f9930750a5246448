namespace Campaigns.Grains.Common;

/// <summary>
/// The ledger keeps instants to the millisecond. Grains stamp vouchers and events at that
/// precision, so the answer a caller gets first and the one a replay reads back from the ledger
/// are identical.
/// </summary>
public static class LedgerClock
{
    public static DateTimeOffset LedgerNow(this TimeProvider clock) => clock.GetUtcNow().ToLedgerPrecision();

    public static DateTimeOffset ToLedgerPrecision(this DateTimeOffset instant) =>
        instant.AddTicks(-(instant.Ticks % TimeSpan.TicksPerMillisecond));
}
