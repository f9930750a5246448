using Campaigns.Grains.Ledger.Sqlite;

namespace Campaigns.Tests.Ledger;

public sealed class WritesInFlightTests
{
    [Fact]
    public async Task A_read_waits_for_every_overlapping_write_of_its_key_and_for_no_other()
    {
        var inFlight = new WritesInFlight();
        inFlight.Begin("V1");
        inFlight.Begin("V1");
        inFlight.Begin("V2");
        var answered = inFlight.Answered("V1")!;

        inFlight.End("V1");
        Assert.False(answered.IsCompleted);
        Assert.Same(answered, inFlight.Answered("V1"));

        inFlight.End("V1");
        await answered.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Null(inFlight.Answered("V1"));
        Assert.Null(inFlight.Answered("V3"));
        Assert.NotNull(inFlight.Answered("V2"));

        inFlight.End("V2");
        Assert.Equal(0, inFlight.Count);
    }
}
