using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Campaigns.Client;

/// <summary>How the client checks the silo's certificate, and which certificate it presents for mutual TLS.</summary>
internal static class ServerTrust
{
    public static SslClientAuthenticationOptions Options(X509Certificate2? trusted, X509Certificate2? client) => new()
    {
        RemoteCertificateValidationCallback = trusted is null ? null : (_, certificate, _, errors) => Accepts(certificate, errors, trusted),
        ClientCertificates = client is null ? null : [client],
    };

    /// <summary>
    /// Trusted by the machine, or chained to <paramref name="trusted"/> alone. The certificate must
    /// name the host in either case: trusting a private CA is not trusting any host it signed for.
    /// </summary>
    public static bool Accepts(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2 trusted)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch) || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(trusted);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }
}
