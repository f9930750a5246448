namespace Campaigns.Silo.Hosting;

/// <summary>
/// A start-up failure an operator can act on (a missing setting, a bad connection string, a
/// server that cannot be reached), told in one line: the silo prints the message and exits,
/// with no stack trace to read through at 3 a.m.
/// </summary>
public sealed class StartupException(string message, Exception? inner = null) : Exception(message, inner);
