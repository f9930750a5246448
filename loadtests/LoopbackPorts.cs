using System.Net;
using System.Net.Sockets;

namespace Campaigns.LoadTests;

/// <summary>Free ports on loopback for servers a run or a test starts (silos, PostgreSQL, Redis).</summary>
public static class LoopbackPorts
{
    // Below Linux's ephemeral range (32768-60999): outgoing connections draw their local ports
    // from that range, and could take a port found free there before the server binds it.
    private const int First = 20_000;
    private const int Last = 32_000;

    public static int Free()
    {
        for (var attempt = 0; attempt < 1_000; attempt++)
        {
            var port = Random.Shared.Next(First, Last);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try another.
            }
        }

        throw new InvalidOperationException($"no free port on loopback between {First} and {Last}");
    }
}
