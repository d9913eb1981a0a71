namespace Recommender.Data;

/// <summary>Write-to-temp-then-rename for every file an artifact consists of.</summary>
public static class AtomicFile
{
    public static string TempPathFor(string path) =>
        $"{path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";

    public static void WriteAllText(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = TempPathFor(path);
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }

    public static void Write(string path, Action<string> writeTo)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = TempPathFor(path);
        try
        {
            writeTo(temp);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }
}
