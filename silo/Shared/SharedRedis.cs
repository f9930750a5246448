using System.Collections.Concurrent;
using Polly;
using Polly.CircuitBreaker;
using Polly.Fallback;
using StackExchange.Redis;

namespace Campaigns.Silo.Shared;

/// <summary>
/// The silo's one connection to Redis and the one way to call it. Every call runs through a Polly
/// pipeline: a fallback to the caller's in-process behaviour, around a circuit breaker, around a
/// timeout. So Redis being slow, down or wiped never fails a call nor holds it longer than the
/// timeout, and while the circuit is open calls fall back without trying. StackExchange.Redis
/// reconnects by itself (<c>abortConnect=false</c>) and fails fast while disconnected rather than
/// queueing commands for later.
/// </summary>
public sealed class SharedRedis : IAsyncDisposable
{
    private readonly Task<IConnectionMultiplexer> _connecting;
    private readonly bool _ownsConnection;
    private readonly ResiliencePipeline _guard;
    private readonly CircuitBreakerStateProvider _circuit = new();
    private readonly ConcurrentDictionary<Type, object> _pipelines = new();
    private readonly ILogger _logger;
    private readonly string _prefix;

    /// <summary>Its own connection, made from <paramref name="connectionString"/> and closed with it.</summary>
    public SharedRedis(string connectionString, SharedRedisOptions options, ILogger<SharedRedis> logger)
        : this(options, logger)
    {
        var configuration = Configuration(connectionString);
        _connecting = Connect(configuration);
        _ownsConnection = true;
    }

    /// <summary>
    /// The silo's existing connection (e.g. the one Redis membership uses), left open for its owner
    /// to close. If it queues commands while disconnected, a call still falls back at the timeout.
    /// </summary>
    public SharedRedis(IConnectionMultiplexer connection, SharedRedisOptions options, ILogger<SharedRedis> logger)
        : this(options, logger)
    {
        _connecting = Task.FromResult(Watch(connection));
    }

    private SharedRedis(SharedRedisOptions options, ILogger<SharedRedis> logger)
    {
        options.Validate();
        _logger = logger;
        _prefix = options.KeyPrefix;
        Timeout = TimeSpan.FromMilliseconds(options.TimeoutMilliseconds);
        _guard = new ResiliencePipelineBuilder()
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = 0.5,
                MinimumThroughput = 4,
                SamplingDuration = TimeSpan.FromSeconds(10),
                BreakDuration = TimeSpan.FromSeconds(options.BreakSeconds),
                StateProvider = _circuit,
                OnOpened = args =>
                {
                    _logger.LogWarning("Redis is failing ({Failure}): the silo uses its in-process fallbacks for {Break} before trying again",
                        args.Outcome.Exception?.Message, args.BreakDuration);
                    return default;
                },
                OnClosed = _ =>
                {
                    _logger.LogInformation("Redis answers again: rate limits, key revocations and stats are shared again");
                    return default;
                },
            })
            .AddTimeout(Timeout)
            .Build();
        _connecting = null!; // set by the public constructor that chose the connection
    }

    /// <summary>How long one call may take before it falls back.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Connected and the circuit closed: calls go to Redis rather than to their fallbacks.</summary>
    public bool IsAvailable =>
        _connecting.IsCompletedSuccessfully && _connecting.Result.IsConnected && _circuit.CircuitState == CircuitState.Closed;

    /// <summary>Raised when the pub/sub connection comes back after a loss: messages sent meanwhile never arrived.</summary>
    public event Action? SubscriptionsRestored;

    /// <summary>A key under this deployment's prefix.</summary>
    public RedisKey Key(string name) => _prefix + name;

    /// <summary>A pub/sub channel under this deployment's prefix.</summary>
    public RedisChannel Channel(string name) => RedisChannel.Literal(_prefix + name);

    /// <summary>
    /// Runs <paramref name="call"/> on Redis within the timeout; when it fails, times out or the
    /// circuit is open, answers <paramref name="fallback"/> instead (whose own errors propagate).
    /// </summary>
    public async ValueTask<T> RunAsync<T>(Func<IDatabase, Task<T>> call, Func<ValueTask<T>> fallback)
    {
        var context = ResilienceContextPool.Shared.Get();
        context.Properties.Set(FallbackOf<T>.Key, fallback);
        try
        {
            return await Pipeline<T>().ExecuteAsync(static async (context, state) =>
            {
                var (connecting, call) = state;
                var connection = await connecting.WaitAsync(context.CancellationToken);
                // StackExchange.Redis takes no token: stop waiting at the timeout and let the command finish unobserved.
                return await call(connection.GetDatabase()).WaitAsync(context.CancellationToken);
            }, context, (_connecting, call));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>Runs a call whose answer is not needed: true when Redis took it, false when it fell back to nothing.</summary>
    public ValueTask<bool> TryAsync(Func<IDatabase, Task> call) =>
        RunAsync(async database =>
        {
            await call(database);
            return true;
        }, static () => ValueTask.FromResult(false));

    /// <summary>
    /// Subscribes to a channel for the silo's lifetime. StackExchange.Redis keeps the subscription
    /// and makes it again after every reconnection, including when Redis was down at start.
    /// </summary>
    public async Task SubscribeAsync(string channel, Action<RedisValue> handler)
    {
        var connection = await _connecting;
        try
        {
            await connection.GetSubscriber().SubscribeAsync(Channel(channel), (_, message) => handler(message));
        }
        catch (RedisException ex)
        {
            _logger.LogWarning("Redis did not take the subscription to {Channel} now ({Failure}); it is made when Redis is back", channel, ex.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_ownsConnection)
        {
            return;
        }

        try
        {
            await (await _connecting).DisposeAsync();
        }
        catch (RedisException)
        {
            // Never connected: nothing to close.
        }
    }

    /// <summary>The connection string's settings, with the two this design needs forced on.</summary>
    public static ConfigurationOptions Configuration(string connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new ArgumentException("ConnectionStrings:Redis is empty: name a server, e.g. '127.0.0.1:6379'", nameof(connectionString));
        }

        ConfigurationOptions configuration;
        try
        {
            configuration = ConfigurationOptions.Parse(connectionString);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"ConnectionStrings:Redis is not a StackExchange.Redis connection string: {ex.Message}", nameof(connectionString), ex);
        }

        if (configuration.EndPoints.Count == 0)
        {
            throw new ArgumentException("ConnectionStrings:Redis names no server: give host:port, e.g. '127.0.0.1:6379'", nameof(connectionString));
        }

        // Start (and keep running) while Redis is away, and fail at once rather than queue
        // commands that would answer long after the caller fell back.
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        return configuration;
    }

    private async Task<IConnectionMultiplexer> Connect(ConfigurationOptions configuration)
    {
        var connection = Watch(await ConnectionMultiplexer.ConnectAsync(configuration));
        if (!connection.IsConnected)
        {
            _logger.LogWarning("Redis is not reachable at start: the silo uses its in-process fallbacks until it is");
        }

        return connection;
    }

    /// <summary>Hears when the pub/sub connection comes back, so subscribers can make up for what they missed.</summary>
    private IConnectionMultiplexer Watch(IConnectionMultiplexer connection)
    {
        connection.ConnectionRestored += (_, args) =>
        {
            if (args.ConnectionType == ConnectionType.Subscription)
            {
                SubscriptionsRestored?.Invoke();
            }
        };
        return connection;
    }

    private ResiliencePipeline<T> Pipeline<T>() => (ResiliencePipeline<T>)_pipelines.GetOrAdd(typeof(T), _ => new ResiliencePipelineBuilder<T>()
        .AddFallback(new FallbackStrategyOptions<T>
        {
            ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Exception is not null),
            FallbackAction = static async args => Outcome.FromResult(await args.Context.Properties.GetValue(FallbackOf<T>.Key, null!)()),
            OnFallback = args =>
            {
                _logger.LogDebug("Redis call fell back: {Failure}", args.Outcome.Exception?.Message);
                return default;
            },
        })
        .AddPipeline(_guard)
        .Build());

    /// <summary>Where a call leaves its fallback for the pipeline's fallback strategy.</summary>
    private static class FallbackOf<T>
    {
        public static readonly ResiliencePropertyKey<Func<ValueTask<T>>> Key = new("campaigns.redis.fallback");
    }
}
