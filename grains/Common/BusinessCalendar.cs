namespace Campaigns.Grains.Common;

/// <summary>
/// Calendar days as the campaigns' users live them: China Standard Time, UTC+8 all year
/// (no daylight saving), so a fixed offset is exact and needs no time-zone database.
/// </summary>
public static class BusinessCalendar
{
    public static readonly TimeSpan Offset = TimeSpan.FromHours(8);

    public static DateOnly DayOf(DateTimeOffset instant) => DateOnly.FromDateTime(instant.ToOffset(Offset).DateTime);
}
