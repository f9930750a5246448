using Campaigns.Grains.Common;

namespace Campaigns.Tests.Rules;

public sealed class BusinessCalendarTests
{
    [Fact]
    public void A_second_before_midnight_in_Shanghai_is_still_23_November() =>
        Assert.Equal(new DateOnly(2026, 11, 23), BusinessCalendar.DayOf(new DateTimeOffset(2026, 11, 23, 15, 59, 59, TimeSpan.Zero)));

    [Fact]
    public void Midnight_in_Shanghai_is_24_November_though_it_is_still_23_November_in_UTC() =>
        Assert.Equal(new DateOnly(2026, 11, 24), BusinessCalendar.DayOf(new DateTimeOffset(2026, 11, 23, 16, 0, 0, TimeSpan.Zero)));

    [Fact]
    public void The_day_does_not_depend_on_the_offset_an_instant_is_written_in()
    {
        var utc = new DateTimeOffset(2026, 11, 23, 16, 0, 0, TimeSpan.Zero);

        Assert.Equal(BusinessCalendar.DayOf(utc), BusinessCalendar.DayOf(utc.ToOffset(TimeSpan.FromHours(-8))));
        Assert.Equal(BusinessCalendar.DayOf(utc), BusinessCalendar.DayOf(utc.ToOffset(TimeSpan.FromHours(8))));
    }

    [Fact]
    public void The_first_instant_of_a_year_in_Shanghai_is_in_the_new_year() =>
        Assert.Equal(new DateOnly(2027, 1, 1), BusinessCalendar.DayOf(new DateTimeOffset(2026, 12, 31, 16, 0, 0, TimeSpan.Zero)));
}
