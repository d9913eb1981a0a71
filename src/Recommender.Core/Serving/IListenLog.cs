using Recommender.Data;

namespace Recommender.Serving;

/// <summary>Where logged listens go: a local file (one box) or a stream shared by the replicas.</summary>
public interface IListenLog : IDisposable
{
    /// <summary>Events acknowledged (by this log) so far.</summary>
    long Count { get; }

    /// <summary>What the log is, for status and logs: a file path or a stream address.</summary>
    string Path { get; }

    /// <summary>Makes the listen durable, then returns its sequence number; throws <see cref="OnlineLogWriteException"/> when it could not.</summary>
    ValueTask<long> AppendAsync(OnlineEvent e, CancellationToken cancellation = default);

    /// <summary>The user's latest online listens (raw track ids), oldest first.</summary>
    long[] Recent(long userId);

    /// <summary>A log file holding every listen, for the retrain to read (written into <paramref name="folder"/> when the log is not a file).</summary>
    string ExportForRetrain(string folder);
}
