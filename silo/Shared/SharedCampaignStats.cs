using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Campaigns.Proto;
using Campaigns.Silo.Api;
using Google.Protobuf;
using StackExchange.Redis;

namespace Campaigns.Silo.Shared;

/// <summary>
/// The live stats read model shared by every silo. A campaign's figures live in Redis as a
/// snapshot (<c>{prefix}stats:{campaign}</c>, the protobuf <see cref="CampaignStats"/>, expiring
/// after <see cref="SnapshotLifetime"/>), computed from the ledger by one silo at a time: the
/// holder of a short lease (<c>{prefix}stats:{campaign}:writer</c>, SET NX PX). The holder
/// rewrites the snapshot every <see cref="CampaignStatsReader.WatchInterval"/> and, when the
/// figures changed, publishes them on <c>{prefix}stats</c>, which pushes them to every silo's
/// watchers. A lease rather than a grain: it lapses by itself when its silo dies, costs no
/// activation kept alive by a timer, and when Redis is away each silo reads the ledger itself,
/// which is the fallback anyway. A missing snapshot (never written, no writer, Redis wiped) is
/// rebuilt from the ledger by whoever reads it.
/// </summary>
public sealed class SharedCampaignStats : ICampaignStatsSource, IHostedService, IAsyncDisposable
{
    public const string ChannelName = "stats";

    /// <summary>A writer that stops renewing (its silo died) gives way to another after this.</summary>
    public static readonly TimeSpan LeaseLifetime = TimeSpan.FromSeconds(1);

    /// <summary>A snapshot nobody rewrites is gone after this, so a reader rebuilds it rather than trust old figures.</summary>
    public static readonly TimeSpan SnapshotLifetime = TimeSpan.FromSeconds(1);

    /// <summary>A silo keeps refreshing a campaign it was asked about this long after the last read without a watcher.</summary>
    public static readonly TimeSpan IdleAfter = TimeSpan.FromSeconds(10);

    /// <summary>A silo that does not write reads the snapshot every this many intervals, in case a pushed change was lost.</summary>
    private const int CatchUpEvery = 4;

    // Takes the lease when free, or renews it when this silo already holds it.
    private static readonly LuaScript TakeLease = LuaScript.Prepare("""
        if redis.call('SET', @key, @holder, 'NX', 'PX', @milliseconds) then return 1 end
        if redis.call('GET', @key) == @holder then
          redis.call('PEXPIRE', @key, @milliseconds)
          return 1
        end
        return 0
        """);

    // The writer's snapshot, set (and published) only while its lease is still this silo's: a writer
    // that stalled past its lease must not set figures older than the new writer's.
    private static readonly LuaScript WriteIfHolder = LuaScript.Prepare("""
        if redis.call('GET', @lease) ~= @holder then return 0 end
        redis.call('SET', @key, @bytes, 'PX', @milliseconds)
        if @publish == '1' then redis.call('PUBLISH', @channel, @bytes) end
        return 1
        """);

    // A reader's rebuild, set only over what it found (nothing, or something unreadable; "" stands
    // for nothing): a writer's snapshot that arrived meanwhile is newer than the rebuild.
    private static readonly LuaScript ReplaceIfUnchanged = LuaScript.Prepare("""
        if (redis.call('GET', @key) or '') ~= @observed then return 0 end
        redis.call('SET', @key, @bytes, 'PX', @milliseconds)
        return 1
        """);

    private readonly SharedRedis _redis;
    private readonly CampaignStatsReader _ledger;
    private readonly ILogger<SharedCampaignStats> _logger;
    private readonly string _holder = Guid.NewGuid().ToString("N");
    private readonly ConcurrentDictionary<string, CampaignFeed> _feeds = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;

    public SharedCampaignStats(SharedRedis redis, CampaignStatsReader ledger, ILogger<SharedCampaignStats> logger)
    {
        _redis = redis;
        _ledger = ledger;
        _logger = logger;
    }

    /// <summary>Completes once the subscription is made (or recorded, to be made when Redis is back).</summary>
    public Task Subscribed { get; private set; } = Task.CompletedTask;

    public async Task<CampaignStats> GetAsync(string campaignId)
    {
        var stats = await ReadSnapshotAsync(campaignId);
        // Only once the campaign proved to exist: keep a writer going for whoever asks again.
        Feed(campaignId, touch: true, watcher: null);
        return stats;
    }

    public Task<CampaignStats> GetRecentAsync(string campaignId) => GetAsync(campaignId);

    public async IAsyncEnumerable<CampaignStats> WatchAsync(string campaignId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Joined before the first read, so no change published after that read is missed.
        var watcher = Channel.CreateBounded<CampaignStats>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        var feed = Feed(campaignId, touch: false, watcher);
        try
        {
            var last = await ReadSnapshotAsync(campaignId);
            yield return last;
            while (await watcher.Reader.WaitToReadAsync(cancellationToken))
            {
                while (watcher.Reader.TryRead(out var next))
                {
                    if (!CampaignStatsReader.SameFigures(last, next))
                    {
                        last = next;
                        yield return next;
                    }
                }
            }
        }
        finally
        {
            feed.Leave(watcher);
        }
    }

    /// <summary>Subscribes in the background: a silo starts without waiting for Redis.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Subscribed = _redis.SubscribeAsync(ChannelName, message =>
        {
            if (Parse(message) is { } stats && _feeds.TryGetValue(stats.CampaignId, out var feed))
            {
                feed.Offer(stats);
            }
        });
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) == 1)
        {
            return;
        }

        await _stopping.CancelAsync();
        await Task.WhenAll(_feeds.Values.Select(f => f.Loop ?? Task.CompletedTask));
    }

    /// <summary>Idempotent: the container disposes it once per registration that hands it out.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _stopping.Dispose();
        }
    }

    /// <summary>The snapshot in Redis; rebuilt from the ledger when missing; the ledger itself when Redis fails.</summary>
    private async Task<CampaignStats> ReadSnapshotAsync(string campaignId)
    {
        var (found, snapshot) = await _redis.RunAsync(
            async database =>
            {
                var value = await database.StringGetAsync(SnapshotKey(campaignId));
                return (value, Parse(value, campaignId));
            },
            async () => (RedisValue.Null, (CampaignStats?)await _ledger.ReadSharedAsync(campaignId)));
        if (snapshot is not null)
        {
            return snapshot;
        }

        var stats = await _ledger.ReadSharedAsync(campaignId);
        await ReplaceSnapshotAsync(stats, found);
        return stats;
    }

    /// <summary>Sets a rebuilt snapshot unless the one in Redis is no longer <paramref name="found"/> (null = none); true when set.</summary>
    internal ValueTask<bool> ReplaceSnapshotAsync(CampaignStats stats, RedisValue found) => _redis.RunAsync(
        async database => (long)await database.ScriptEvaluateAsync(ReplaceIfUnchanged, new Replacement(
            SnapshotKey(stats.CampaignId), found.IsNull ? RedisValue.EmptyString : found,
            stats.ToByteArray(), (long)SnapshotLifetime.TotalMilliseconds)) == 1,
        static () => ValueTask.FromResult(false));

    /// <summary>
    /// One campaign's refresh on this silo, every interval while it has watchers or was read
    /// lately: write and publish when holding the lease, catch up now and then when not, and
    /// read the ledger for its own watchers when Redis fails.
    /// </summary>
    private async Task RefreshAsync(CampaignFeed feed)
    {
        var campaignId = feed.CampaignId;
        CampaignStats? published = null;
        var ticks = 0;
        using var timer = new PeriodicTimer(CampaignStatsReader.WatchInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token) && KeepRefreshing(feed))
            {
                try
                {
                    switch (await TakeLeaseAsync(campaignId))
                    {
                        case Role.Writer:
                            var stats = await _ledger.ReadAsync(campaignId);
                            feed.Offer(stats);
                            published = await WriteAsync(stats, changed: published is null || !CampaignStatsReader.SameFigures(published, stats))
                                ? stats
                                : null;
                            break;
                        case Role.Reader:
                            published = null;
                            if (++ticks % CatchUpEvery == 0
                                && await _redis.RunAsync(async d => Parse(await d.StringGetAsync(SnapshotKey(campaignId)), campaignId), () => ValueTask.FromResult<CampaignStats?>(null)) is { } caughtUp)
                            {
                                feed.Offer(caughtUp);
                            }

                            break;
                        default:
                            published = null;
                            feed.Offer(await _ledger.ReadSharedAsync(campaignId));
                            break;
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A ledger read that failed: the watchers keep their figures until the next interval.
                    _logger.LogWarning("Stats of campaign {CampaignId} not refreshed: {Failure}", campaignId, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // The silo is stopping.
        }
    }

    private ValueTask<Role> TakeLeaseAsync(string campaignId) => _redis.RunAsync(
        async database => (long)await database.ScriptEvaluateAsync(TakeLease,
            new Lease(LeaseKey(campaignId), _holder, (long)LeaseLifetime.TotalMilliseconds)) == 1 ? Role.Writer : Role.Reader,
        static () => ValueTask.FromResult(Role.Alone));

    /// <summary>
    /// Rewrites the snapshot (its lifetime starts again) and publishes it when it changed, if this
    /// silo still holds the writer's lease; false when it does not, or Redis did not take it.
    /// </summary>
    internal ValueTask<bool> WriteAsync(CampaignStats stats, bool changed) => _redis.RunAsync(
        async database => (long)await database.ScriptEvaluateAsync(WriteIfHolder, new Write(
            LeaseKey(stats.CampaignId), _holder, SnapshotKey(stats.CampaignId), stats.ToByteArray(),
            (long)SnapshotLifetime.TotalMilliseconds, changed ? 1 : 0, _redis.Channel(ChannelName).ToString())) == 1,
        static () => ValueTask.FromResult(false));

    /// <summary>Whether the feed still has a reason to run; if not, it is closed and a later reader starts a new one.</summary>
    private bool KeepRefreshing(CampaignFeed feed)
    {
        lock (feed)
        {
            if (feed.Watchers.Count > 0 || Stopwatch.GetElapsedTime(feed.ReadAt) < IdleAfter)
            {
                return true;
            }

            feed.Closed = true;
            _feeds.TryRemove(new KeyValuePair<string, CampaignFeed>(feed.CampaignId, feed));
            return false;
        }
    }

    private CampaignFeed Feed(string campaignId, bool touch, Channel<CampaignStats>? watcher)
    {
        while (true)
        {
            var feed = _feeds.GetOrAdd(campaignId, static id => new CampaignFeed(id));
            lock (feed)
            {
                if (feed.Closed)
                {
                    continue;
                }

                if (touch)
                {
                    feed.ReadAt = Stopwatch.GetTimestamp();
                }

                if (watcher is not null)
                {
                    feed.Watchers.Add(watcher);
                }

                feed.Loop ??= Task.Run(() => RefreshAsync(feed));
                return feed;
            }
        }
    }

    private RedisKey SnapshotKey(string campaignId) => _redis.Key("stats:" + campaignId);

    internal RedisKey LeaseKey(string campaignId) => _redis.Key($"stats:{campaignId}:writer");

    /// <summary>A snapshot or a pushed message; null when absent or unreadable (then it is rebuilt or ignored).</summary>
    private CampaignStats? Parse(RedisValue value, string? campaignId = null)
    {
        if (value.IsNullOrEmpty)
        {
            return null;
        }

        try
        {
            var stats = CampaignStats.Parser.ParseFrom((byte[])value!);
            return stats.CampaignId.Length > 0 && (campaignId is null || stats.CampaignId == campaignId) ? stats : null;
        }
        catch (InvalidProtocolBufferException ex)
        {
            _logger.LogWarning("Ignored unreadable stats in Redis: {Failure}", ex.Message);
            return null;
        }
    }

    private enum Role
    {
        /// <summary>Redis failed: read the ledger for this silo's own watchers.</summary>
        Alone,
        Writer,
        Reader,
    }

    /// <summary>The lease script's parameters, by name (@key, @holder, @milliseconds).</summary>
    private sealed record Lease(RedisKey key, string holder, long milliseconds);

    /// <summary>The writer's script parameters (@lease, @holder, @key, @bytes, @milliseconds, @publish, @channel).</summary>
    private sealed record Write(RedisKey lease, string holder, RedisKey key, byte[] bytes, long milliseconds, int publish, string channel);

    /// <summary>The rebuild's script parameters (@key, @observed, @bytes, @milliseconds).</summary>
    private sealed record Replacement(RedisKey key, RedisValue observed, byte[] bytes, long milliseconds);

    /// <summary>One campaign's watchers on this silo and its refresh loop; guarded by its own lock.</summary>
    private sealed class CampaignFeed(string campaignId)
    {
        public string CampaignId { get; } = campaignId;

        public List<Channel<CampaignStats>> Watchers { get; } = [];

        /// <summary>When it was last read without a watcher (a Stopwatch timestamp; 0 = never).</summary>
        public long ReadAt { get; set; }

        public bool Closed { get; set; }

        public Task? Loop { get; set; }

        /// <summary>Hands figures to every watcher; each keeps only the newest and skips what it has already seen.</summary>
        public void Offer(CampaignStats stats)
        {
            lock (this)
            {
                foreach (var watcher in Watchers)
                {
                    watcher.Writer.TryWrite(stats);
                }
            }
        }

        public void Leave(Channel<CampaignStats> watcher)
        {
            lock (this)
            {
                Watchers.Remove(watcher);
            }
        }
    }
}
