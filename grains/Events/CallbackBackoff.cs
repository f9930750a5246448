namespace Campaigns.Grains.Events;

/// <summary>
/// The retry schedule of a failing callback: exponential from the first delay, capped, with
/// "equal jitter" (half the delay fixed, half random) so a receiver coming back is not hit by
/// every subscription at once, and never past the retry window: the last attempt is at its end.
/// </summary>
public static class CallbackBackoff
{
    /// <summary>The delay before retry number <paramref name="retry"/> (0 = the first), with <paramref name="random"/> in [0, 1).</summary>
    public static TimeSpan Delay(int retry, double random, TimeSpan first, TimeSpan max)
    {
        var exponential = first.TotalMilliseconds * Math.Pow(2, Math.Min(retry, 40));
        var capped = Math.Min(exponential, max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds((capped / 2) + (capped / 2 * random));
    }

    /// <summary>The delay to wait now: <see cref="Delay"/>, cut to the window's end; null once the window is over.</summary>
    public static TimeSpan? Next(int retry, double random, TimeSpan first, TimeSpan max, DateTimeOffset now, DateTimeOffset windowEnd)
    {
        if (now >= windowEnd)
        {
            return null;
        }

        var delay = Delay(retry, random, first, max);
        var left = windowEnd - now;
        return delay < left ? delay : left;
    }
}
