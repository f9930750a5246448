namespace Campaigns.Silo.Hosting;

/// <summary>The "Campaigns" configuration section (environment: <c>Campaigns__GrpcPort</c>, …).</summary>
public sealed class CampaignsOptions
{
    public const string Section = "Campaigns";

    /// <summary>gRPC: HTTP/2, over TLS when <see cref="Tls"/> has a certificate, h2c otherwise.</summary>
    public int GrpcPort { get; set; } = 5000;

    /// <summary>HTTP/1.1: the API as HTTP/JSON, /openapi.json, health, /metrics, the Orleans dashboard and the organiser's dashboard.</summary>
    public int HttpPort { get; set; } = 5001;

    /// <summary>
    /// Where the ports listen. Loopback by default so a developer's silo is not exposed; set
    /// 0.0.0.0 (or a host address) in production behind the platform's network controls.
    /// </summary>
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>The embedded default's SQLite file lives here (campaigns.db).</summary>
    public string DataDirectory { get; set; } = "data";

    public AuthOptions Auth { get; set; } = new();

    public RateLimitOptions RateLimits { get; set; } = new();

    /// <summary>TLS on both ports once a certificate is given; plaintext (h2c and HTTP) otherwise.</summary>
    public TlsOptions Tls { get; set; } = new();
}

/// <summary>Per-partner limits on issuing, so one platform's flash crowd cannot starve the others.</summary>
public sealed class RateLimitOptions
{
    /// <summary>Claims per second one partner may send (each IssueVouchers item counts); 0 = no limit.</summary>
    public int PartnerClaimsPerSecond { get; set; }

    /// <summary>How many claims a partner may send at once above its rate; 0 = one second's worth.</summary>
    public int PartnerBurst { get; set; }
}

public sealed class AuthOptions
{
    public const string DevelopmentKey = "dev-organiser-key";

    /// <summary>The first organiser key; empty disables it (create real keys with it first).</summary>
    public string BootstrapOrganiserKey { get; set; } = DevelopmentKey;

    /// <summary>The organiser id the bootstrap key acts as.</summary>
    public string BootstrapOrganiserId { get; set; } = "bootstrap";

    /// <summary>
    /// How long a silo trusts a key it has verified without asking the key's grain again; 0 turns
    /// the cache off. A revocation is immediate on the silo that serves it; another silo may
    /// still accept the key for up to this long.
    /// </summary>
    public int VerifiedKeyCacheSeconds { get; set; } = 30;

    /// <summary>At most this many verified keys are held per silo (a few hundred bytes each).</summary>
    public int VerifiedKeyCacheEntries { get; set; } = 100_000;
}

/// <summary>The "Orleans" configuration section: the silo's place in its cluster.</summary>
public sealed class OrleansOptions
{
    public const string Section = "Orleans";

    /// <summary>Silo-to-silo port; distinct per silo when several share a machine.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Orleans client gateway port; distinct per silo when several share a machine.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>
    /// Production mode: the cluster's name in the membership table. Silos with the same name and
    /// the same Redis form one cluster; tests and a second deployment on one Redis use another.
    /// </summary>
    public string ClusterId { get; set; } = "campaigns";

    /// <summary>
    /// Production mode: the address other silos reach this one at. Empty = the listen address
    /// (<c>Campaigns:ListenAddress</c>) when that is one address; required when it is 0.0.0.0.
    /// </summary>
    public string AdvertisedAddress { get; set; } = "";
}
