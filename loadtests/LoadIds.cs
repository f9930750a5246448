namespace Campaigns.LoadTests;

/// <summary>How the load tool names the users and requests it claims for.</summary>
public enum IdStyle
{
    /// <summary>
    /// Opaque 32-hex-digit ids, like the UUIDs and hashed account numbers partners send. Each
    /// claim lands on a random place in the ledger's user and request-id indexes.
    /// </summary>
    Random,

    /// <summary>
    /// <c>user-1</c>, <c>user-2</c>, ...: consecutive claims land next to each other in those
    /// indexes, the friendliest case for the ledger. Earlier reports used these.
    /// </summary>
    Sequential,
}

/// <summary>User and request ids for the n-th claim of a run: distinct for distinct n, the same on every run.</summary>
public static class LoadIds
{
    public static string User(this IdStyle style, string prefix, long n) => Make(style, prefix, n, salt: 0x75736572);

    public static string Request(this IdStyle style, string prefix, long n) => Make(style, prefix, n, salt: 0x72657175);

    private static string Make(IdStyle style, string prefix, long n, ulong salt) => style switch
    {
        IdStyle.Sequential => $"{prefix}-{n}",
        // The first half is a bijection of n, so two claims never share an id.
        _ => string.Create(32, (n, salt), static (chars, state) =>
        {
            Mix((ulong)state.n ^ state.salt).TryFormat(chars, out _, "x16");
            Mix((ulong)state.n + ~state.salt).TryFormat(chars[16..], out _, "x16");
        }),
    };

    /// <summary>SplitMix64's finaliser: a bijection on 64-bit values that scatters neighbours.</summary>
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
