namespace Recommender.Host.Retraining;

/// <summary>Removes a temporary file when the scope ends, whatever happened inside it.</summary>
internal sealed class DeleteOnDispose(string path) : IDisposable
{
    public void Dispose() => File.Delete(path);
}
