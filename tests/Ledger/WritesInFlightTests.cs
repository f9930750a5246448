using Campaigns.Storage.Sqlite;

namespace Campaigns.Tests.Ledger;

public sealed class WritesInFlightTests
{
    [Fact]
    public async Task A_read_waits_for_every_overlapping_write_of_its_key_and_for_no_other()
    {
        var inFlight = new WritesInFlight();
        inFlight.Begin(1L);
        inFlight.Begin(1L);
        inFlight.Begin(2L);
        var answered = inFlight.Answered(1L)!;

        inFlight.End(1L);
        Assert.False(answered.IsCompleted);
        Assert.Same(answered, inFlight.Answered(1L));

        inFlight.End(1L);
        await answered.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Null(inFlight.Answered(1L));
        Assert.Null(inFlight.Answered(3L));
        Assert.NotNull(inFlight.Answered(2L));

        inFlight.End(2L);
        Assert.Equal(0, inFlight.Count);
    }
}
