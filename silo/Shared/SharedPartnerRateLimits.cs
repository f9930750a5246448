using System.Globalization;
using Campaigns.Silo.Api;
using StackExchange.Redis;

namespace Campaigns.Silo.Shared;

/// <summary>
/// One bucket per partner shared by every silo: the same limits as <see cref="PartnerRateLimits"/>
/// (<c>Campaigns:RateLimits</c>), kept in Redis by the generic cell rate algorithm (a token bucket
/// stored as one time per partner) and updated atomically by a Lua script on Redis's clock, so
/// silos together admit no more than the limit whatever their own clocks say. When Redis fails,
/// each silo limits on its own bucket again: up to one limit per silo until Redis is back.
/// </summary>
public sealed class SharedPartnerRateLimits(SharedRedis redis, PartnerRateLimits local) : IPartnerRateLimiter
{
    // KEYS: the partner's theoretical arrival time (µs, Redis clock). Answers 0 when the claims
    // are admitted, else how many milliseconds until they would be. Integers are written with
    // %.0f: Lua's tostring would round a time in microseconds to 14 digits.
    private static readonly LuaScript Take = LuaScript.Prepare("""
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
        local interval = tonumber(@interval)
        local tat = tonumber(redis.call('GET', @key) or '0')
        if tat < now then tat = now end
        local after = tat + tonumber(@cost) * interval
        local allowed = after - tonumber(@burst) * interval
        if allowed > now then
          return math.max(1, math.ceil((allowed - now) / 1000))
        end
        redis.call('SET', @key, string.format('%.0f', after), 'PX', math.ceil((after - now) / 1000) + 1000)
        return 0
        """);

    private readonly string _interval = (1_000_000.0 / Math.Max(1, local.PerSecond)).ToString("R", CultureInfo.InvariantCulture);

    public async ValueTask AdmitAsync(string partnerId, object request)
    {
        var cost = local.Cost(request);
        if (cost == 0)
        {
            return;
        }

        var waitMilliseconds = await redis.RunAsync(
            async database => (long)await database.ScriptEvaluateAsync(Take, new Claims(redis.Key("rate:" + partnerId), _interval, cost, local.Burst)),
            () => ValueTask.FromResult(local.TryTake(partnerId, cost) is { } wait ? Math.Max(1, (long)Math.Ceiling(wait.TotalMilliseconds)) : 0));
        if (waitMilliseconds > 0)
        {
            throw PartnerRateLimits.Refusal(partnerId, TimeSpan.FromMilliseconds(waitMilliseconds));
        }
    }

    /// <summary>The script's parameters, by name (@key, @interval, @cost, @burst).</summary>
    private sealed record Claims(RedisKey key, string interval, int cost, int burst);
}
