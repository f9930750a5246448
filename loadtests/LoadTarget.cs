namespace Campaigns.LoadTests;

/// <summary>
/// The silo a run drives: one the tool started itself (<see cref="SiloProcess"/>, whose process it
/// can meter, restart and read the logs of), or any running silo it was pointed at (<see cref="RemoteSilo"/>).
/// </summary>
public interface ILoadTarget
{
    Uri Address { get; }

    string OrganiserKey { get; }

    /// <summary>The processor time the silo's process has used so far; null when the tool cannot see the process.</summary>
    TimeSpan? ProcessorTime { get; }

    /// <summary>The most memory the silo's process has held so far; null when the tool cannot see it.</summary>
    long? PeakMemoryBytes { get; }

    /// <summary>The shards' group-commit reports, when the tool reads the silo's log.</summary>
    List<string> BatchLog { get; }

    /// <summary>Processor time of the silo's runtime-compiler threads by thread id; empty when unseen.</summary>
    IReadOnlyDictionary<string, TimeSpan> CompilerThreads();

    /// <summary>The compiler's processor time since an earlier <see cref="CompilerThreads"/>.</summary>
    TimeSpan CompilerTimeSince(IReadOnlyDictionary<string, TimeSpan> before);

    /// <summary>Kills the silo and starts it again on the same data; <see cref="NotSupportedException"/> for a silo the tool did not start.</summary>
    Task RestartAsync();
}

/// <summary>
/// A running silo the tool was pointed at (any silo of a cluster, `--address`): driven over its
/// API like any other, but its process is out of the tool's sight, so runs carry no CPU or memory
/// figures, and the scenarios that restart the silo (flash, rebuild) cannot run on it.
/// </summary>
public sealed class RemoteSilo(Uri address, string organiserKey) : ILoadTarget
{
    public Uri Address { get; } = address;

    public string OrganiserKey { get; } = organiserKey;

    public TimeSpan? ProcessorTime => null;

    public long? PeakMemoryBytes => null;

    public List<string> BatchLog { get; } = [];

    public IReadOnlyDictionary<string, TimeSpan> CompilerThreads() => new Dictionary<string, TimeSpan>();

    public TimeSpan CompilerTimeSince(IReadOnlyDictionary<string, TimeSpan> before) => TimeSpan.Zero;

    public Task RestartAsync() => throw new NotSupportedException(
        $"this scenario restarts its silo, and the silo at {Address} was not started by the tool: run it without --address");
}
