using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Campaigns.Client;
using Google.Protobuf;
using Grpc.Core;

namespace Campaigns.Cli;

/// <summary>
/// What one command invocation works with: the client built from the global options, where to
/// write, and whether to write JSON. Also the single place that turns failures into exit codes.
/// </summary>
internal sealed class Session : IDisposable
{
    public const string DefaultAddress = "http://127.0.0.1:5000";
    public const string DefaultKey = "dev-organiser-key";

    public static readonly Option<string> AddressOption = new("--address")
    {
        Description = "The silo's gRPC endpoint (env CAMPAIGNS_ADDRESS)",
        HelpName = "url",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CAMPAIGNS_ADDRESS") is { Length: > 0 } address ? address : DefaultAddress,
    };

    public static readonly Option<string> KeyOption = new("--key")
    {
        Description = "The API key to act with (env CAMPAIGNS_API_KEY)",
        HelpName = "secret",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CAMPAIGNS_API_KEY") is { Length: > 0 } key ? key : DefaultKey,
    };

    public static readonly Option<string> TrustCertOption = new("--trust-cert")
    {
        Description = "With an https:// address: a certificate (PEM or DER) to trust for the silo, e.g. its private CA's (env CAMPAIGNS_TRUST_CERT)",
        HelpName = "file",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CAMPAIGNS_TRUST_CERT") ?? "",
    };

    public static readonly Option<string> ClientCertOption = new("--client-cert")
    {
        Description = "For a silo requiring mutual TLS: the client certificate, PEM (env CAMPAIGNS_CLIENT_CERT)",
        HelpName = "file",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CAMPAIGNS_CLIENT_CERT") ?? "",
    };

    public static readonly Option<string> ClientKeyOption = new("--client-key")
    {
        Description = "The client certificate's PEM private key, if not in the --client-cert file (env CAMPAIGNS_CLIENT_KEY)",
        HelpName = "file",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CAMPAIGNS_CLIENT_KEY") ?? "",
    };

    public static readonly Option<bool> JsonOption = new("--json")
    {
        Description = "Print responses as JSON (proto3 JSON, default values included), one document per line",
        Recursive = true,
    };

    /// <summary>Which key each command takes (silo/Api/Authentication.cs, AccessRules, decides).</summary>
    public const string WrongRoleHint =
        "hint: campaign, key, export, merchant register and merchant enroll need an organiser key; merchant show and merchant settlement "
        + "an organiser key or that merchant's own; merchant join and redeem the merchant's own key; voucher a partner key (--key).";

    private Session(Uri address, CampaignsClient client, bool json, TextWriter output, TextWriter error, Notices notices, Invocation? terminals)
    {
        Notices = notices;
        ErrorIsTerminal = terminals?.ErrorIsTerminal ?? false;
        OutputIsTerminal = terminals?.OutputIsTerminal ?? false;
        Address = address;
        Client = client;
        Json = json;
        Out = output;
        Error = error;
    }

    public Uri Address { get; }

    public CampaignsClient Client { get; }

    public bool Json { get; }

    public TextWriter Out { get; }

    public TextWriter Error { get; }

    /// <summary>Where announcements such as retries go: stderr, or above a progress bar while one is drawn.</summary>
    public Notices Notices { get; }

    /// <summary>Standard error is an interactive terminal (see <see cref="ProgressDisplay"/>).</summary>
    public bool ErrorIsTerminal { get; }

    /// <summary>Standard output is an interactive terminal.</summary>
    public bool OutputIsTerminal { get; }

    /// <summary>Runs a command's body with a session, mapping every failure to a message on stderr and an exit code.</summary>
    public static async Task<int> RunAsync(ParseResult parse, Func<Session, Task<int>> body, CancellationToken cancellationToken)
    {
        var error = parse.InvocationConfiguration.Error;
        Session session;
        try
        {
            session = Open(parse, error);
            await RequireKnownHostAsync(session.Address, cancellationToken);
        }
        catch (FormatException e)
        {
            await error.WriteLineAsync($"error: INVALID_ARGUMENT: {e.Message}");
            return ExitCode.Usage;
        }

        using (session)
        {
            try
            {
                return await body(session);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
            {
                return ExitCode.Cancelled;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return ExitCode.Cancelled;
            }
            catch (RpcException e) when (IsTlsFailure(e, out var untrusted) && untrusted)
            {
                await error.WriteLineAsync($"error: UNAVAILABLE: the certificate of {session.Address} is not trusted here: "
                    + "give the silo's CA certificate (or its own) with --trust-cert <file>.");
                return ExitCode.Usage;
            }
            catch (RpcException e) when (IsTlsFailure(e, out _))
            {
                // An https:// address at an h2c endpoint: the command line is wrong, not the server.
                await error.WriteLineAsync($"error: INVALID_ARGUMENT: --address: no TLS at {session.Address}; the silo speaks h2c (plain HTTP/2): "
                    + $"use http://{session.Address.Authority} unless a TLS proxy serves this address.");
                return ExitCode.Usage;
            }
            catch (RpcException e)
            {
                return await ReportAsync(error, e);
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                await error.WriteLineAsync($"error: INVALID_ARGUMENT: {e.Message}");
                return ExitCode.Usage;
            }
            catch (IOException e)
            {
                await error.WriteLineAsync($"error: IO_ERROR: {e.Message}");
                return ExitCode.Usage;
            }
            catch (UnauthorizedAccessException e)
            {
                await error.WriteLineAsync($"error: IO_ERROR: {e.Message}");
                return ExitCode.Usage;
            }
        }
    }

    /// <summary>Prints <c>error: REASON: message</c> (plus a hint when nothing answered) and picks the exit code.</summary>
    public static async Task<int> ReportAsync(TextWriter error, RpcException e)
    {
        var failure = e.ToCampaignsError();
        await error.WriteLineAsync($"error: {failure}");
        switch (e.StatusCode)
        {
            case StatusCode.Unavailable:
                if (e.ErrorInfo() is null)
                {
                    await error.WriteLineAsync("hint: is the silo running? dotnet run --project silo  (or set --address / CAMPAIGNS_ADDRESS)");
                }

                return ExitCode.Unreachable;
            case StatusCode.DeadlineExceeded:
                await error.WriteLineAsync("hint: the server did not answer in time; it may be overloaded or still starting.");
                return ExitCode.Unreachable;
            case StatusCode.PermissionDenied when failure.Reason == "WRONG_ROLE":
                await error.WriteLineAsync(WrongRoleHint);
                return ExitCode.Refused;
            case StatusCode.Unauthenticated:
                await error.WriteLineAsync("hint: check the API key given with --key or CAMPAIGNS_API_KEY.");
                return ExitCode.Refused;
            default:
                return ExitCode.Refused;
        }
    }

    /// <summary>Writes a response: as one line of JSON with --json, otherwise through <paramref name="readable"/>.</summary>
    public void Print(IMessage message, Action<Report> readable)
    {
        if (Json)
        {
            Out.WriteLine(JsonText.Format(message));
        }
        else
        {
            readable(new Report(Out));
        }
    }

    public void Dispose() => Client.Dispose();

    /// <summary><c>localhost:5000</c> → <c>http://localhost:5000</c>: h2c is how the silo speaks.</summary>
    public static Uri ParseAddress(string text)
    {
        var withScheme = text.Contains("://", StringComparison.Ordinal) ? text : "http://" + text;
        return Uri.TryCreate(withScheme, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new FormatException($"--address: '{text}' is not an http:// or https:// address.");
    }

    private static Session Open(ParseResult parse, TextWriter error)
    {
        var address = ParseAddress(parse.GetValue(AddressOption) ?? DefaultAddress);
        var notices = new Notices(error);
        var options = new CampaignsClientOptions
        {
            Address = address,
            ApiKey = parse.GetValue(KeyOption) ?? "",
            TrustedCertificate = Certificate("--trust-cert", parse.GetValue(TrustCertOption) ?? "", () =>
                X509CertificateLoader.LoadCertificateFromFile(parse.GetValue(TrustCertOption)!)),
            ClientCertificate = Certificate("--client-cert", parse.GetValue(ClientCertOption) ?? "", () =>
            {
                var key = parse.GetValue(ClientKeyOption);
                using var pem = X509Certificate2.CreateFromPemFile(parse.GetValue(ClientCertOption)!, key is { Length: > 0 } ? key : null);
                // Through PKCS#12: a key read from PEM is ephemeral, which some TLS stacks cannot use.
                return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            }),
            OnRetry = retry => notices.Write(
                $"retrying: {retry.Error.Reason()} from {retry.Method}; attempt {retry.NextAttempt} in {retry.Delay.TotalSeconds:0.0}s"),
        };
        return new Session(address, new CampaignsClient(options), parse.GetValue(JsonOption), parse.InvocationConfiguration.Output, error,
            notices, parse.InvocationConfiguration as Invocation);
    }

    /// <summary>
    /// A host name that does not resolve is a typing error (<c>--address not-a-url</c>): said at
    /// once, instead of after five retries of UNAVAILABLE.
    /// </summary>
    private static async Task RequireKnownHostAsync(Uri address, CancellationToken cancellationToken)
    {
        if (address.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6)
        {
            return;
        }

        try
        {
            await Dns.GetHostAddressesAsync(address.DnsSafeHost, cancellationToken);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.HostNotFound or SocketError.NoData)
        {
            throw new FormatException($"--address: no host named '{address.Host}' ({address}); give the silo's address, e.g. {DefaultAddress}.");
        }
    }

    /// <summary>A TLS handshake that failed; <paramref name="untrusted"/> when because of the server's certificate.</summary>
    private static bool IsTlsFailure(RpcException e, out bool untrusted)
    {
        for (var inner = e.Status.DebugException; inner is not null; inner = inner.InnerException)
        {
            if (inner is AuthenticationException)
            {
                untrusted = inner.Message.Contains("remote certificate", StringComparison.OrdinalIgnoreCase);
                return true;
            }
        }

        untrusted = false;
        return false;
    }

    /// <summary>A certificate file given on the command line; FormatException (a usage error) naming the flag if unreadable.</summary>
    private static X509Certificate2? Certificate(string flag, string path, Func<X509Certificate2> load)
    {
        if (path.Length == 0)
        {
            return null;
        }

        try
        {
            return load();
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"{flag}: cannot read a certificate from '{path}': {e.Message.ReplaceLineEndings(" ")}");
        }
    }
}

/// <summary>Attaches command bodies that run inside a <see cref="Session"/>.</summary>
internal static class SessionCommandExtensions
{
    public static void SetSessionAction(this Command command, Func<Session, ParseResult, CancellationToken, Task<int>> body) =>
        command.SetAction((parse, cancellationToken) => Session.RunAsync(parse, session => body(session, parse, cancellationToken), cancellationToken));
}
