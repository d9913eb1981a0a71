namespace Recommender.Host.Configuration;

/// <summary>Where snapshots live in object storage: s3://BUCKET/PREFIX.</summary>
public sealed record S3Address(string Bucket, string Prefix)
{
    public const string Scheme = "s3://";

    public static bool IsS3(string? root) => root is not null && root.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses s3://bucket[/prefix]; <see cref="ArgumentException"/> naming <paramref name="argument"/> otherwise.</summary>
    public static S3Address Parse(string uri, string argument)
    {
        if (!IsS3(uri))
        {
            throw new ArgumentException($"{argument}: '{uri}' is not an s3://bucket/prefix address", argument);
        }

        var rest = uri[Scheme.Length..].Trim('/');
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash < 0 ? rest : rest[..slash];
        if (bucket.Length is < 3 or > 63 || !bucket.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.'))
        {
            throw new ArgumentException($"{argument}: '{bucket}' in '{uri}' is not a valid bucket name (3-63 lowercase letters, digits, '-' or '.')", argument);
        }

        return new S3Address(bucket, slash < 0 ? string.Empty : rest[(slash + 1)..].Trim('/'));
    }

    /// <summary>The key of a name under the prefix.</summary>
    public string Key(string name) => Prefix.Length == 0 ? name : $"{Prefix}/{name}";

    public override string ToString() => Prefix.Length == 0 ? $"{Scheme}{Bucket}" : $"{Scheme}{Bucket}/{Prefix}";
}
