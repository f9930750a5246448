using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Campaigns.Client;
using Campaigns.Proto;
using Campaigns.Silo.Hosting;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Campaigns.Tests.EndToEnd;

/// <summary>TLS on both ports from a certificate in configuration, and mutual TLS; each test runs a silo of its own.</summary>
public sealed class TlsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("campaigns-tls-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task With_a_PEM_certificate_both_ports_speak_TLS_to_the_SDK_and_a_plain_gRPC_channel_and_refuse_plaintext()
    {
        using var server = TestCertificates.Server();
        var (certificate, key) = TestCertificates.WritePem(server, _directory, "server");
        await using var silo = await SiloHost.StartWithTlsAsync(server, client: null,
            $"--Campaigns:Tls:CertificatePath={certificate}", $"--Campaigns:Tls:KeyPath={key}");

        // The SDK, told to trust the certificate.
        var organiser = silo.Client(SiloHost.BootstrapOrganiserKey);
        var created = await organiser.Admin.CreateCampaignAsync(Scenario.Campaign(silo.Clock.GetUtcNow()));
        Assert.Equal(Uri.UriSchemeHttps, silo.GrpcAddress.Scheme);

        // A plain Grpc.Net.Client channel.
        using (var channel = silo.Channel())
        {
            var admin = new CampaignAdmin.CampaignAdminClient(channel);
            var read = await admin.GetCampaignAsync(new GetCampaignRequest { CampaignId = created.CampaignId },
                new Metadata { { "authorization", "Bearer " + SiloHost.BootstrapOrganiserKey } });
            Assert.Equal(created.CampaignId, read.CampaignId);
        }

        // HTTPS on the HTTP port.
        using (var https = new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, c, _, _) => c?.GetCertHashString() == server.GetCertHashString() } }))
        {
            Assert.Equal(HttpStatusCode.OK, (await https.GetAsync(new Uri(silo.HttpAddress, "/healthz"))).StatusCode);
        }

        // Plaintext h2c on the gRPC port and plain HTTP on the HTTP port are refused.
        using (var plaintext = GrpcChannel.ForAddress($"http://127.0.0.1:{silo.GrpcPort}"))
        {
            await Assert.ThrowsAsync<RpcException>(async () => await new Health.HealthClient(plaintext).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10)));
        }

        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
        {
            var answered = await CatchAsync(() => http.GetAsync($"http://127.0.0.1:{silo.HttpPort}/healthz"));
            Assert.True(answered is null || !answered.IsSuccessStatusCode, $"plain HTTP answered {answered?.StatusCode}");
        }

        // The command-line tool, with and without the certificate to trust.
        var address = silo.GrpcAddress.ToString();
        var listed = await Cli.RunAtAsync(address, SiloHost.BootstrapOrganiserKey, "--trust-cert", certificate, "campaign", "list");
        Assert.Equal((0, ""), (listed.ExitCode, listed.Error));
        Assert.Contains(created.CampaignId, listed.Out, StringComparison.Ordinal);
        var distrusted = await Cli.RunAtAsync(address, SiloHost.BootstrapOrganiserKey, "campaign", "list");
        Assert.StartsWith("error: UNAVAILABLE: the certificate of", distrusted.Error, StringComparison.Ordinal);
        Assert.Contains("--trust-cert", distrusted.Error, StringComparison.Ordinal);
        var unreadable = await Cli.RunAtAsync(address, SiloHost.BootstrapOrganiserKey, "--trust-cert", key + ".missing", "campaign", "list");
        Assert.StartsWith("error: INVALID_ARGUMENT: --trust-cert:", unreadable.Error, StringComparison.Ordinal);

        // A client that does not trust the certificate is refused by its own TLS check.
        using var untrusting = new CampaignsClient(new CampaignsClientOptions { Address = silo.GrpcAddress, ApiKey = SiloHost.BootstrapOrganiserKey, MaxRetries = 0 });
        var error = await Assert.ThrowsAsync<RpcException>(async () => await untrusting.Admin.ListCampaignsAsync(new ListCampaignsRequest()));
        Assert.IsType<System.Security.Authentication.AuthenticationException>(Innermost<System.Security.Authentication.AuthenticationException>(error.Status.DebugException));
    }

    private static T? Innermost<T>(Exception? error)
        where T : Exception
    {
        for (; error is not null; error = error.InnerException)
        {
            if (error is T found)
            {
                return found;
            }
        }

        return null;
    }

    [Fact]
    public async Task A_PKCS12_certificate_with_its_password_serves_TLS()
    {
        using var server = TestCertificates.Server();
        var pfx = Path.Combine(_directory, "server.pfx");
        await File.WriteAllBytesAsync(pfx, server.Export(X509ContentType.Pkcs12, "s3cret"));
        await using var silo = await SiloHost.StartWithTlsAsync(server, client: null,
            $"--Campaigns:Tls:CertificatePath={pfx}", "--Campaigns:Tls:CertificatePassword=s3cret");

        var listed = await silo.Client(SiloHost.BootstrapOrganiserKey).Admin.ListCampaignsAsync(new ListCampaignsRequest());

        Assert.Empty(listed.Campaigns);
    }

    [Fact]
    public async Task Mutual_TLS_admits_a_client_certificate_of_the_authority_and_refuses_none_or_another_s()
    {
        using var server = TestCertificates.Server();
        var (certificate, key) = TestCertificates.WritePem(server, _directory, "server");
        using var authority = TestCertificates.Authority("Partner CA");
        using var stranger = TestCertificates.Authority("Some other CA");
        var authorityPath = Path.Combine(_directory, "partners-ca.pem");
        await File.WriteAllTextAsync(authorityPath, authority.ExportCertificatePem());
        using var partner = TestCertificates.Client(authority, "partner-alpha");
        using var impostor = TestCertificates.Client(stranger, "partner-alpha");

        await using var silo = await SiloHost.StartWithTlsAsync(server, partner,
            $"--Campaigns:Tls:CertificatePath={certificate}", $"--Campaigns:Tls:KeyPath={key}",
            $"--Campaigns:Tls:ClientCertificateAuthorityPath={authorityPath}");

        var admitted = await silo.Client(SiloHost.BootstrapOrganiserKey).Admin.ListCampaignsAsync(new ListCampaignsRequest());
        Assert.Empty(admitted.Campaigns);
        var (partnerCertificate, partnerKey) = TestCertificates.WritePem(partner, _directory, "partner");
        var viaCli = await Cli.RunAtAsync(silo.GrpcAddress.ToString(), SiloHost.BootstrapOrganiserKey,
            "--trust-cert", certificate, "--client-cert", partnerCertificate, "--client-key", partnerKey, "campaign", "list");
        Assert.Equal((0, ""), (viaCli.ExitCode, viaCli.Error));

        foreach (var presented in new[] { null, impostor })
        {
            using var refused = new CampaignsClient(new CampaignsClientOptions
            {
                Address = silo.GrpcAddress, ApiKey = SiloHost.BootstrapOrganiserKey, MaxRetries = 0,
                TrustedCertificate = server, ClientCertificate = presented,
            });
            // Refused in the handshake (or, with TLS 1.3, right after it): never an answer of the API.
            var error = await Assert.ThrowsAsync<RpcException>(async () => await refused.Admin.ListCampaignsAsync(new ListCampaignsRequest()));
            Assert.True(error.StatusCode is StatusCode.Unavailable or StatusCode.Internal, $"got {error.StatusCode}: {error.Status.Detail}");
            Assert.Null(error.ErrorInfo());
        }
    }

    [Fact]
    public async Task A_missing_or_unreadable_certificate_stops_the_start_with_one_line_naming_the_setting()
    {
        var garbage = Path.Combine(_directory, "garbage.pem");
        await File.WriteAllTextAsync(garbage, "not a certificate");
        var missing = Path.Combine(_directory, "missing.pem");
        using var server = TestCertificates.Server();
        var (certificate, _) = TestCertificates.WritePem(server, _directory, "keyless");

        string[][] cases =
        [
            [$"--Campaigns:Tls:CertificatePath={missing}"],
            [$"--Campaigns:Tls:CertificatePath={garbage}", $"--Campaigns:Tls:KeyPath={garbage}"],
            [$"--Campaigns:Tls:CertificatePath={certificate}", $"--Campaigns:Tls:KeyPath={missing}"],
            [$"--Campaigns:Tls:CertificatePath={certificate}"],
            [$"--Campaigns:Tls:KeyPath={garbage}"],
            [$"--Campaigns:Tls:CertificatePath={Path.ChangeExtension(garbage, ".pfx")}"],
        ];
        string[] named = ["CertificatePath", "CertificatePath", "KeyPath", "CertificatePath", "KeyPath", "CertificatePath"];
        File.Copy(garbage, Path.ChangeExtension(garbage, ".pfx"));

        for (var i = 0; i < cases.Length; i++)
        {
            var error = await Assert.ThrowsAsync<StartupException>(
                () => CampaignsHost.BuildAsync([.. cases[i], $"--Campaigns:DataDirectory={_directory}"]));
            Assert.Contains("Campaigns:Tls:" + named[i], error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', error.Message);
        }
    }

    private static async Task<HttpResponseMessage?> CatchAsync(Func<Task<HttpResponseMessage>> call)
    {
        try
        {
            return await call();
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }
}

/// <summary>Certificates made in the test: a self-signed server certificate for localhost, and a small CA for client certificates.</summary>
internal static class TestCertificates
{
    private static readonly DateTimeOffset From = DateTimeOffset.UtcNow.AddDays(-1);
    private static readonly DateTimeOffset Until = DateTimeOffset.UtcNow.AddDays(7);

    public static X509Certificate2 Server()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        return request.CreateSelfSigned(From, Until);
    }

    public static X509Certificate2 Authority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        return request.CreateSelfSigned(From, Until);
    }

    public static X509Certificate2 Client(X509Certificate2 authority, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        using var issued = request.Create(authority, From, Until, RandomNumberGenerator.GetBytes(8));
        using var withKey = issued.CopyWithPrivateKey(key);
        // Through PKCS#12, so the TLS stack can use the key.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>The certificate and its key as PEM files in <paramref name="directory"/>.</summary>
    public static (string Certificate, string Key) WritePem(X509Certificate2 certificate, string directory, string name)
    {
        var certificatePath = Path.Combine(directory, name + ".crt.pem");
        var keyPath = Path.Combine(directory, name + ".key.pem");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        return (certificatePath, keyPath);
    }
}
