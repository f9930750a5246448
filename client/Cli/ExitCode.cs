namespace Campaigns.Cli;

/// <summary>The process exit codes scripts can rely on (see client/README.md).</summary>
internal static class ExitCode
{
    /// <summary>Done.</summary>
    public const int Ok = 0;

    /// <summary>The command line or an input file is wrong; nothing was sent.</summary>
    public const int Usage = 1;

    /// <summary>The server refused the request (the reason is printed), or some items of a batch were refused.</summary>
    public const int Refused = 2;

    /// <summary>The server could not be reached or did not answer in time, even after retries.</summary>
    public const int Unreachable = 3;

    /// <summary>An export's own totals or checksum disagree with the server's summary.</summary>
    public const int Mismatch = 4;

    /// <summary>Interrupted with Ctrl-C.</summary>
    public const int Cancelled = 130;
}
