using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Campaigns.Silo.Hosting;

/// <summary>
/// The silo's two ports: gRPC (HTTP/2) and HTTP/1.1. Without a certificate they speak plain
/// h2c and HTTP, as on a developer's loopback; with <c>Campaigns:Tls:CertificatePath</c> both
/// speak TLS only, and with <c>Campaigns:Tls:ClientCertificateAuthorityPath</c> both also require
/// a client certificate issued under that authority (mutual TLS). The certificate is read when the
/// silo is built, so a bad path stops the start with one line (a <see cref="StartupException"/>)
/// saying which setting is wrong.
/// </summary>
public static class CampaignsListeners
{
    public static void ConfigureCampaignsListeners(this WebApplicationBuilder builder, CampaignsOptions options)
    {
        var tls = CampaignsTls.Load(options.Tls);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var address = IPAddress.Parse(options.ListenAddress);
            kestrel.Listen(address, options.GrpcPort, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                tls?.Apply(listen);
            });
            kestrel.Listen(address, options.HttpPort, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                tls?.Apply(listen);
            });
        });
    }
}

/// <summary>The "Campaigns:Tls" configuration section: off unless a certificate is given.</summary>
public sealed class TlsOptions
{
    /// <summary>The server certificate: PEM (with <see cref="KeyPath"/>, or its key in the same file) or PKCS#12 (.pfx, .p12).</summary>
    public string CertificatePath { get; set; } = "";

    /// <summary>The PEM private key of <see cref="CertificatePath"/>, when it is in a file of its own.</summary>
    public string KeyPath { get; set; } = "";

    /// <summary>The password of a PKCS#12 file or of an encrypted PEM key; empty for none.</summary>
    public string CertificatePassword { get; set; } = "";

    /// <summary>Mutual TLS: a CA certificate (PEM or DER); clients must present a certificate issued under it.</summary>
    public string ClientCertificateAuthorityPath { get; set; } = "";
}

/// <summary>The loaded certificate (and client authority) that turn TLS on for a listener.</summary>
public sealed class CampaignsTls
{
    private const string Section = "Campaigns:Tls:";

    private CampaignsTls(X509Certificate2 certificate, X509Certificate2? clientAuthority)
    {
        Certificate = certificate;
        ClientAuthority = clientAuthority;
    }

    public X509Certificate2 Certificate { get; }

    public X509Certificate2? ClientAuthority { get; }

    /// <summary>Null when no certificate is configured (plaintext); the loaded TLS otherwise.</summary>
    public static CampaignsTls? Load(TlsOptions options)
    {
        if (options.CertificatePath.Length == 0)
        {
            foreach (var (name, value) in new[] { ("KeyPath", options.KeyPath), ("ClientCertificateAuthorityPath", options.ClientCertificateAuthorityPath) })
            {
                if (value.Length > 0)
                {
                    throw new StartupException($"{Section}{name} is set but {Section}CertificatePath is not: TLS needs the server's certificate.");
                }
            }

            return null;
        }

        var certificate = Read("CertificatePath", options.CertificatePath, () => LoadServerCertificate(options));
        if (!certificate.HasPrivateKey)
        {
            throw new StartupException(
                $"{Section}CertificatePath: '{options.CertificatePath}' holds no private key; give it in {Section}KeyPath or use a PKCS#12 file.");
        }

        var authority = options.ClientCertificateAuthorityPath.Length == 0
            ? null
            : Read("ClientCertificateAuthorityPath", options.ClientCertificateAuthorityPath,
                () => X509CertificateLoader.LoadCertificateFromFile(options.ClientCertificateAuthorityPath));
        return new CampaignsTls(certificate, authority);
    }

    /// <summary>Turns TLS on for one listener (ALPN offers the listener's protocols).</summary>
    public void Apply(ListenOptions listen) => listen.UseHttps(new HttpsConnectionAdapterOptions
    {
        ServerCertificate = Certificate,
        ClientCertificateMode = ClientAuthority is null ? ClientCertificateMode.NoCertificate : ClientCertificateMode.RequireCertificate,
        ClientCertificateValidation = ClientAuthority is null ? null : (client, _, _) => IssuedUnder(client, ClientAuthority),
    });

    /// <summary>Whether <paramref name="client"/> chains to <paramref name="authority"/> alone, not to the machine's roots.</summary>
    public static bool IssuedUnder(X509Certificate2 client, X509Certificate2 authority)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        // A private CA for partners publishes no revocation list; revoke by rotating the CA.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(client);
    }

    private static X509Certificate2 LoadServerCertificate(TlsOptions options)
    {
        var password = options.CertificatePassword.Length == 0 ? null : options.CertificatePassword;
        if (Path.GetExtension(options.CertificatePath).ToLowerInvariant() is ".pfx" or ".p12")
        {
            return X509CertificateLoader.LoadPkcs12FromFile(options.CertificatePath, password);
        }

        if (options.KeyPath.Length > 0 && !File.Exists(options.KeyPath))
        {
            throw new StartupException($"{Section}KeyPath: no file at '{options.KeyPath}'.");
        }

        var keyPath = options.KeyPath.Length == 0 ? null : options.KeyPath;
        using var pem = password is null
            ? X509Certificate2.CreateFromPemFile(options.CertificatePath, keyPath)
            : X509Certificate2.CreateFromEncryptedPemFile(options.CertificatePath, password, keyPath);
        // A key read from PEM is ephemeral; some platforms' TLS stacks need it in a key store.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    private static X509Certificate2 Read(string name, string path, Func<X509Certificate2> load)
    {
        if (!File.Exists(path))
        {
            throw new StartupException($"{Section}{name}: no file at '{path}'.");
        }

        try
        {
            return load();
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new StartupException($"{Section}{name}: cannot read a certificate from '{path}': {OneLine(ex.Message)}", ex);
        }
    }

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
