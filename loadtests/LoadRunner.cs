using System.Diagnostics;
using Grpc.Core;
using HdrHistogram;

namespace Campaigns.LoadTests;

/// <summary>What one load run measured.</summary>
public sealed record LoadResult(string Name, string Mode, long Succeeded, long Failed, TimeSpan Elapsed, LongHistogram Latency, IReadOnlyDictionary<string, long> Errors)
{
    public double PerSecond => Succeeded / Elapsed.TotalSeconds;

    /// <summary>Open loop only: how long after its intended start the tool started each call.</summary>
    public LongHistogram? StartLag { get; init; }

    /// <summary>The warm-up before the scenario's first run, on that run.</summary>
    public WarmUp? WarmUp { get; init; }

    /// <summary>Bytes the ledger appended to its write-ahead log during the run, when the run could count them.</summary>
    public long? LogBytes { get; init; }

    /// <summary>What the tool checked after the run (a flash drop's invariants), when it checked anything.</summary>
    public IReadOnlyList<Check>? Checks { get; init; }

    /// <summary>The silo's peak resident memory, when the run reads it.</summary>
    public long? PeakMemoryBytes { get; init; }

    /// <summary>Processor time the silo and the tool spent during the run, when it was metered.</summary>
    public CpuUse? Cpu { get; init; }

    /// <summary>Microseconds of processor time per call answered (or failed), when metered; the servers' only when the run could see them.</summary>
    public (double Silo, double Tool, double? Servers)? CpuPerCall => Cpu is { } cpu && Succeeded + Failed > 0
        ? (cpu.Silo.TotalMicroseconds / (Succeeded + Failed), cpu.Tool.TotalMicroseconds / (Succeeded + Failed),
            cpu.Servers?.TotalMicroseconds / (Succeeded + Failed))
        : null;

    public double Percentile(double p) => Milliseconds(Latency, p);

    /// <summary>A percentile of a histogram of ticks, in milliseconds; 0 when it is empty.</summary>
    public static double Milliseconds(LongHistogram ticks, double p) =>
        ticks.TotalCount == 0 ? 0 : ticks.GetValueAtPercentile(p) / (double)TimeSpan.TicksPerMillisecond;
}

/// <summary>One thing the tool checked after a run, and whether it held.</summary>
public sealed record Check(string What, bool Held, string Detail);

/// <summary>
/// Processor time (all threads, user and system) of the silo's process and the tool's own, and of
/// the database servers (production mode) when they run on this machine.
/// </summary>
public sealed record CpuUse(TimeSpan Silo, TimeSpan Tool, TimeSpan? Servers = null)
{
    /// <summary>
    /// Runs <paramref name="run"/> and adds the processor time both processes spent meanwhile.
    /// The two share the machine's cores, so a call's cost to the silo is what its throughput
    /// is bought with; the tool's share is what the silo did not get.
    /// </summary>
    /// <param name="siloTime">The silo's processor time so far; null when the tool cannot see its process (nothing is metered then).</param>
    /// <param name="serversTime">The database servers' processor time so far, if the tool can see them.</param>
    public static async Task<LoadResult> MeterAsync(Func<TimeSpan?> siloTime, Func<Task<LoadResult>> run, Func<TimeSpan?>? serversTime = null)
    {
        using var self = Process.GetCurrentProcess();
        var (silo, tool, servers) = (siloTime(), self.TotalProcessorTime, serversTime?.Invoke());
        var result = await run();
        self.Refresh();
        if (silo is not { } before || siloTime() is not { } after)
        {
            return result;
        }

        var serversSpent = servers is { } serversBefore && serversTime?.Invoke() is { } serversAfter ? serversAfter - serversBefore : (TimeSpan?)null;
        return result with { Cpu = new CpuUse(after - before, self.TotalProcessorTime - tool, serversSpent) };
    }
}

/// <summary>
/// Drives an operation against the silo. Closed loop (N workers back to back) finds the most
/// the service sustains; open loop (a fixed arrival rate) measures latency as users meet it,
/// counted from each request's intended start so a stall cannot hide queued requests.
/// </summary>
public static class LoadRunner
{
    /// <summary>
    /// Runs <paramref name="operation"/> with <paramref name="workers"/> concurrent callers for
    /// <paramref name="duration"/>, or until it has made <paramref name="calls"/> calls. The
    /// operation gets a sequence number unique across workers, from <paramref name="firstSequence"/> + 1.
    /// </summary>
    public static async Task<LoadResult> ClosedLoopAsync(string name, int workers, TimeSpan duration, Func<long, Task> operation, long firstSequence = 0, long? calls = null)
    {
        var last = calls is { } count ? firstSequence + count : long.MaxValue;
        var histogram = NewHistogram();
        var errors = new Dictionary<string, long>();
        long sequence = firstSequence, succeeded = 0, failed = 0;
        var clock = Stopwatch.StartNew();
        var end = duration.Ticks;
        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            var local = NewHistogram();
            while (clock.Elapsed.Ticks < end && Interlocked.Increment(ref sequence) is var n && n <= last)
            {
                var started = Stopwatch.GetTimestamp();
                var outcome = await RunAsync(operation, n);
                local.RecordValue(Stopwatch.GetElapsedTime(started).Ticks);
                Count(outcome, ref succeeded, ref failed, errors);
            }

            lock (histogram)
            {
                histogram.Add(local);
            }
        })));
        return new LoadResult(name, $"closed loop, {workers} callers", succeeded, failed, clock.Elapsed, histogram, errors);
    }

    /// <summary>Starts <paramref name="perSecond"/> operations a second for <paramref name="duration"/>, however slow they are.</summary>
    /// <remarks>
    /// Calls are started by a thread of their own, not by <c>Task.Delay</c> and <c>Task.Run</c>: those
    /// wait their turn in the tool's thread pool, behind the completions of earlier calls, and
    /// measured 1 ms late at the median and 4-7 ms at p99 during checkout runs, which the
    /// latencies then counted as the service's. How late calls still start is reported with the
    /// run (<see cref="LoadResult.StartLag"/>); latency counts from the intended start either way.
    /// </remarks>
    public static async Task<LoadResult> OpenLoopAsync(string name, double perSecond, TimeSpan duration, Func<long, Task> operation, long firstSequence = 0)
    {
        var histogram = NewHistogram();
        var lag = NewHistogram();
        var errors = new Dictionary<string, long>();
        long succeeded = 0, failed = 0;
        var total = (long)(perSecond * duration.TotalSeconds);
        var interval = Stopwatch.Frequency / perSecond;
        // Calls under way are counted, not kept: holding every task of a long run would grow the
        // tool's own heap and GC pauses, on the cores the silo is measured on.
        var outstanding = 1;
        var allDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Finished()
        {
            if (Interlocked.Decrement(ref outstanding) == 0)
            {
                allDone.SetResult();
            }
        }

        async Task Measure(long n, long intended)
        {
            try
            {
                // From the intended start, or the actual one if the call started early.
                var now = Stopwatch.GetTimestamp();
                var from = Math.Min(intended, now);
                var late = Stopwatch.GetElapsedTime(from, now).Ticks;
                var outcome = await RunAsync(operation, n);
                var latency = Stopwatch.GetElapsedTime(from).Ticks;
                lock (histogram)
                {
                    histogram.RecordValue(latency);
                    lag.RecordValue(late);
                    Count(outcome, ref succeeded, ref failed, errors);
                }
            }
            finally
            {
                Finished();
            }
        }

        var start = Stopwatch.GetTimestamp();
        var dispatcher = new Thread(() =>
        {
            for (long i = 0; i < total; i++)
            {
                var intended = start + (long)(i * interval);
                // Sleeps are whole milliseconds: a call may start up to one early, never later
                // than the scheduler lets this thread run.
                var ahead = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), intended);
                if (ahead >= TimeSpan.FromMilliseconds(1))
                {
                    Thread.Sleep(ahead);
                }

                Interlocked.Increment(ref outstanding);
                _ = Measure(firstSequence + i, intended);
            }

            Finished();
        })
        { IsBackground = true, Name = "open-loop dispatcher" };
        dispatcher.Start();
        await allDone.Task;
        return new LoadResult(name, $"open loop, {perSecond:0}/s", succeeded, failed, Stopwatch.GetElapsedTime(start), histogram, errors)
        {
            StartLag = lag,
        };
    }

    private static async Task<string?> RunAsync(Func<long, Task> operation, long n)
    {
        try
        {
            await operation(n);
            return null;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode.ToString();
        }
        catch (Exception ex)
        {
            return ex.GetType().Name;
        }
    }

    private static void Count(string? error, ref long succeeded, ref long failed, Dictionary<string, long> errors)
    {
        if (error is null)
        {
            Interlocked.Increment(ref succeeded);
            return;
        }

        Interlocked.Increment(ref failed);
        lock (errors)
        {
            errors[error] = errors.GetValueOrDefault(error) + 1;
        }
    }

    // Ticks (100 ns) up to one minute, three significant digits.
    private static LongHistogram NewHistogram() => new(TimeSpan.TicksPerMinute, 3);
}
