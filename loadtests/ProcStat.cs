using System.Globalization;

namespace Campaigns.LoadTests;

/// <summary>
/// One process's (or thread's) line of <c>/proc/PID/stat</c>: its command, its parent and its
/// processor time. The load tool reads the silo's compiler threads and the servers' processes with it.
/// </summary>
public sealed record ProcStat(int ProcessId, string Command, int ParentId, TimeSpan OwnTime, TimeSpan EndedChildrenTime)
{
    // USER_HZ: the unit of the times in /proc, fixed at 100 by the kernel's ABI on every architecture .NET runs on.
    private const double TicksPerSecond = 100;

    /// <summary>The process's line, or null when it has gone (or this is not Linux).</summary>
    public static ProcStat? Read(int processId) => ReadFile($"/proc/{processId}/stat");

    /// <summary>A stat file's line (a process's, or a thread's under <c>/proc/PID/task</c>), or null when it has gone.</summary>
    public static ProcStat? ReadFile(string path)
    {
        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The living processes whose parent is <paramref name="parentId"/>.</summary>
    public static IEnumerable<ProcStat> ChildrenOf(int parentId)
    {
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), out var processId) && Read(processId) is { } stat && stat.ParentId == parentId)
            {
                yield return stat;
            }
        }
    }

    /// <summary>
    /// Parses a <c>/proc/PID/stat</c> line. The command sits in parentheses and may hold spaces and
    /// parentheses itself, so the fields are counted from the last closing parenthesis.
    /// </summary>
    public static ProcStat? Parse(string line)
    {
        var open = line.IndexOf('(', StringComparison.Ordinal);
        var close = line.LastIndexOf(')');
        if (open < 0 || close < open || !int.TryParse(line.AsSpan(0, open).Trim(), CultureInfo.InvariantCulture, out var processId))
        {
            return null;
        }

        // After the command: state (field 3), parent (4), …, utime (14), stime (15), cutime (16), cstime (17).
        var fields = line[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 15
            || !int.TryParse(fields[1], CultureInfo.InvariantCulture, out var parentId)
            || !long.TryParse(fields[11], CultureInfo.InvariantCulture, out var user)
            || !long.TryParse(fields[12], CultureInfo.InvariantCulture, out var system)
            || !long.TryParse(fields[13], CultureInfo.InvariantCulture, out var childrenUser)
            || !long.TryParse(fields[14], CultureInfo.InvariantCulture, out var childrenSystem))
        {
            return null;
        }

        return new ProcStat(processId, line[(open + 1)..close], parentId,
            TimeSpan.FromSeconds((user + system) / TicksPerSecond), TimeSpan.FromSeconds((childrenUser + childrenSystem) / TicksPerSecond));
    }
}
