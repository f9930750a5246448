using System.Collections.Concurrent;
using System.Reflection;
using Campaigns.Grains.Ledger;

namespace Campaigns.Tests.Cluster;

/// <summary>Where an injected fault strikes a ledger call.</summary>
public enum LedgerFault
{
    /// <summary>The call fails before it reaches the ledger: nothing is written.</summary>
    BeforeWriting,

    /// <summary>The ledger does the work, then the answer is lost: written, but the caller sees a failure.</summary>
    AnswerLost,
}

/// <summary>
/// The real ledger with faults on demand, as a full disk, a failed fsync or a dropped connection
/// would cause them: the next call to a named method fails, before or after it did its work.
/// </summary>
public class FaultyLedger : DispatchProxy
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<LedgerFault>> _armed = new();
    private ILedger _inner = null!;
    private int _struck;

    /// <summary>How many armed faults have struck.</summary>
    public int Struck => Volatile.Read(ref _struck);

    public static (ILedger Ledger, FaultyLedger Faults) Around(ILedger inner)
    {
        var ledger = Create<ILedger, FaultyLedger>();
        var faults = (FaultyLedger)(object)ledger;
        faults._inner = inner;
        return (ledger, faults);
    }

    /// <summary>The next call to <paramref name="method"/> (an <see cref="ILedger"/> method name) fails as <paramref name="fault"/> says.</summary>
    public void FailNext(string method, LedgerFault fault)
    {
        // ILedger is made of role interfaces: its methods are theirs.
        var found = typeof(ILedger).GetInterfaces().Append(typeof(ILedger)).Select(role => role.GetMethod(method)).FirstOrDefault(m => m is not null);
        if (found is null || !found.ReturnType.IsAssignableTo(typeof(Task)))
        {
            throw new ArgumentException($"ILedger has no asynchronous method '{method}'", nameof(method));
        }

        _armed.GetOrAdd(method, _ => new ConcurrentQueue<LedgerFault>()).Enqueue(fault);
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        var method = targetMethod!;
        if (!_armed.TryGetValue(method.Name, out var armed) || !armed.TryDequeue(out var fault))
        {
            return Call(method, args);
        }

        // Shards call the ledger concurrently.
        Interlocked.Increment(ref _struck);
        var lost = new IOException($"injected fault: {method.Name} {(fault == LedgerFault.BeforeWriting ? "failed before writing" : "wrote, then lost its answer")}");
        var result = fault == LedgerFault.BeforeWriting ? null : (Task)Call(method, args)!;
        return method.ReturnType.IsGenericType
            ? typeof(FaultyLedger).GetMethod(nameof(Fail), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(method.ReturnType.GetGenericArguments()[0]).Invoke(null, [result, lost])
            : Fail<object>(result, lost);
    }

    private object? Call(MethodInfo method, object?[]? args)
    {
        try
        {
            return method.Invoke(_inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is { } inner)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(inner);
            throw;
        }
    }

    /// <summary>Fails once <paramref name="work"/> (if any) has finished, whatever it did.</summary>
    private static async Task<T> Fail<T>(Task? work, Exception error)
    {
        if (work is not null)
        {
            await work;
        }

        throw error;
    }
}

/// <summary>A test cluster of its own whose grains reach the ledger through a <see cref="FaultyLedger"/>.</summary>
public sealed class FaultyLedgerClusterFixture : ClusterFixture<FaultyLedgerClusterFixture>
{
    public FaultyLedger Faults { get; private set; } = null!;

    protected override ILedger LedgerForGrains(ILedger ledger)
    {
        var (faulty, faults) = FaultyLedger.Around(ledger);
        Faults = faults;
        return faulty;
    }
}

[CollectionDefinition(Name)]
public sealed class FaultyLedgerClusterCollection : ICollectionFixture<FaultyLedgerClusterFixture>
{
    public const string Name = "cluster with a faulty ledger";
}
