using System.Net;
using System.Net.Sockets;

namespace Campaigns.Grains.Events;

/// <summary>
/// Which addresses a callback may be sent to. A subscriber names the URL, so without a check it
/// could make the silo POST into the silo's own network (loopback, private ranges, the cloud's
/// metadata address at 169.254.169.254). Only addresses on the public internet are taken, unless
/// the operator allows private ones (<see cref="CallbackOptions.AllowPrivateAddresses"/>).
/// </summary>
public static class CallbackAddresses
{
    private static readonly (IPAddress Network, int Bits)[] NotPublic =
    [
        (IPAddress.Parse("0.0.0.0"), 8),         // "this" network
        (IPAddress.Parse("10.0.0.0"), 8),        // private
        (IPAddress.Parse("100.64.0.0"), 10),     // carrier-grade NAT
        (IPAddress.Parse("127.0.0.0"), 8),       // loopback
        (IPAddress.Parse("169.254.0.0"), 16),    // link-local, cloud metadata
        (IPAddress.Parse("172.16.0.0"), 12),     // private
        (IPAddress.Parse("192.0.0.0"), 24),      // protocol assignments
        (IPAddress.Parse("192.168.0.0"), 16),    // private
        (IPAddress.Parse("198.18.0.0"), 15),     // benchmarking
        (IPAddress.Parse("224.0.0.0"), 3),       // multicast and reserved, to 255.255.255.255
        (IPAddress.Parse("::"), 128),            // unspecified
        (IPAddress.Parse("::1"), 128),           // loopback
        (IPAddress.Parse("fc00::"), 7),          // unique local
        (IPAddress.Parse("fe80::"), 10),         // link-local
        (IPAddress.Parse("ff00::"), 8),          // multicast
    ];

    /// <summary>True for an address on the public internet.</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return !NotPublic.Any(range => range.Network.AddressFamily == address.AddressFamily && InRange(address, range.Network, range.Bits));
    }

    /// <summary>Why a URL's host may not be called back, when it is an address or name that is plainly not public; null otherwise (a name is checked again when it resolves).</summary>
    public static string? RefusedHost(Uri url)
    {
        if (url.IsLoopback || url.Host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
        {
            return "points at this machine (loopback)";
        }

        return IPAddress.TryParse(url.DnsSafeHost, out var address) && !IsPublic(address)
            ? $"points at {address}, an address that is not on the public internet"
            : null;
    }

    /// <summary>
    /// Opens the connection of a callback to one of <paramref name="host"/>'s public addresses;
    /// refuses (as a failed delivery) a name that resolves only to addresses that are not public,
    /// so a name pointed at the silo's network after it was registered is caught too.
    /// </summary>
    public static async ValueTask<Stream> ConnectAsync(string host, int port, bool allowPrivate, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var usable = allowPrivate ? addresses : [.. addresses.Where(IsPublic)];
        if (usable.Length == 0)
        {
            throw new HttpRequestException($"callback refused: {host} resolves to no address on the public internet");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(usable, port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static bool InRange(IPAddress address, IPAddress network, int bits)
    {
        var a = address.GetAddressBytes();
        var n = network.GetAddressBytes();
        for (var i = 0; i < a.Length && bits > 0; i++, bits -= 8)
        {
            var mask = bits >= 8 ? 0xFF : (byte)(0xFF << (8 - bits));
            if ((a[i] & mask) != (n[i] & mask))
            {
                return false;
            }
        }

        return true;
    }
}
