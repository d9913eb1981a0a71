using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Recommender.Tests.Support;

/// <summary>A private CA and a server certificate for localhost and 127.0.0.1 it signed, written as PEM and PFX files.</summary>
internal sealed record TestCertificates(X509Certificate2 Root, string RootPem, string CertificatePem, string KeyPem, string Pfx, string PfxPassword)
{
    public static TestCertificates Create()
    {
        var dir = TestPaths.NewTempDir();
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Recommender test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var root = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false)); // server authentication
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(root, true, false));
        using var leaf = request.Create(root, now.AddDays(-1), now.AddDays(29), [1, 2, 3, 4, 5, 6, 7, 8]);

        var paths = (Root: Path.Combine(dir, "ca.pem"), Cert: Path.Combine(dir, "server.pem"), Key: Path.Combine(dir, "server.key"), Pfx: Path.Combine(dir, "server.pfx"));
        File.WriteAllText(paths.Root, root.ExportCertificatePem());
        File.WriteAllText(paths.Cert, leaf.ExportCertificatePem());
        File.WriteAllText(paths.Key, key.ExportPkcs8PrivateKeyPem());
        const string password = "test-pfx-password";
        using var withKey = leaf.CopyWithPrivateKey(key);
        File.WriteAllBytes(paths.Pfx, withKey.Export(X509ContentType.Pfx, password));
        return new TestCertificates(X509CertificateLoader.LoadCertificate(root.Export(X509ContentType.Cert)), paths.Root, paths.Cert, paths.Key, paths.Pfx, password);
    }
}
