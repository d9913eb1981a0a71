using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace Recommender.Host.Configuration;

/// <summary>
/// Kestrel's own certificate settings, "Kestrel:Certificates:Default": the certificate every https://
/// address (gRPC's Urls and Recommender:HttpUrls) serves. PEM: Path and KeyPath (Password if the key
/// is encrypted); PFX: Path and Password. Kestrel reads them itself; they are bound here only to be
/// checked at start, so that a certificate that cannot be read stops the start naming the setting.
/// </summary>
public sealed class TlsCertificateOptions
{
    public const string Section = "Kestrel:Certificates:Default";

    public string? Path { get; set; }
    public string? KeyPath { get; set; }
    public string? Password { get; set; }

    /// <summary>Reads the certificate as Kestrel will: PEM with a key file, else PKCS#12.</summary>
    public X509Certificate2 Load()
    {
        var path = Path ?? throw new InvalidOperationException($"{Section}:Path is not set");
        if (KeyPath is not null)
        {
            return Password is null ? X509Certificate2.CreateFromPemFile(path, KeyPath) : X509Certificate2.CreateFromEncryptedPemFile(path, Password, KeyPath);
        }

        return X509CertificateLoader.LoadPkcs12FromFile(path, Password);
    }
}

/// <summary>Every https:// address needs a certificate, and the certificate must be readable; all failures at once.</summary>
public sealed class TlsCertificateOptionsValidator(IConfiguration configuration) : IValidateOptions<TlsCertificateOptions>
{
    public ValidateOptionsResult Validate(string? name, TlsCertificateOptions o)
    {
        var failures = new List<string>();
        var https = configuration.GetSection("Kestrel:Endpoints").GetChildren()
            .Select(e => e["Url"])
            .Where(url => url is not null && url.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            .ToList();
        var section = TlsCertificateOptions.Section;
        if (string.IsNullOrWhiteSpace(o.Path))
        {
            if (https.Count > 0)
            {
                failures.Add($"{section}:Path must name a certificate (PEM with {section}:KeyPath, or PFX with {section}:Password) for the https address(es) {string.Join(", ", https)}");
            }

            if (o.KeyPath is not null)
            {
                failures.Add($"{section}:KeyPath is set without {section}:Path");
            }
        }
        else if (!File.Exists(o.Path))
        {
            failures.Add($"{section}:Path: no certificate file at '{o.Path}'");
        }
        else if (o.KeyPath is not null && !File.Exists(o.KeyPath))
        {
            failures.Add($"{section}:KeyPath: no key file at '{o.KeyPath}'");
        }
        else
        {
            try
            {
                using var certificate = o.Load();
                if (!certificate.HasPrivateKey)
                {
                    failures.Add($"{section}:Path: the certificate '{o.Path}' has no private key (a PEM certificate needs {section}:KeyPath)");
                }
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException or IOException or UnauthorizedAccessException)
            {
                failures.Add($"{section}:Path: cannot read the certificate '{o.Path}'{(o.KeyPath is null ? "" : $" with the key '{o.KeyPath}'")}: {e.Message}");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
